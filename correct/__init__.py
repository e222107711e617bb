"""What pulls processed tiles back to the whole picture (pure: no ComfyUI).

* ``global_context`` — the ``GLOBAL_CONTEXT`` value: a downsampled reference
  of the whole image (and optionally its VAE latent);
* ``tile_color`` — per-tile colour correction against that reference, before
  the merge (``TILE_METHODS``: joint gain in RGB or Lab, Reinhard in Lab,
  wavelet low-frequency swap), and the drift report;
* ``frequency`` — after the merge: low frequencies from a whole-picture
  reference, detail from the merged tiles (``FREQUENCY_METHODS``);
* ``bands`` — frequency separation at full resolution on the same pyramid:
  split into bands and join, a band-by-band merge of an edit at any size
  into the original, and a detail-energy map.
"""

from .frequency import METHODS as FREQUENCY_METHODS
from .global_context import GlobalContext, build_context
from .tile_color import METHODS as TILE_METHODS

__all__ = ["FREQUENCY_METHODS", "TILE_METHODS", "GlobalContext", "build_context"]
