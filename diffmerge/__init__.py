"""Diff-merge: bring an edit made at ~1 MP back into the full-resolution original, changing nothing else.

Pure numpy / OpenCV, no ComfyUI. The pipeline (``pipeline.diff_merge``):

1. ``register``: undo the framing and the small shift / scale the edit
   model introduced (a centre crop to the edit's aspect tried as well as a
   plain resize; phase correlation, then ECC refinement) between the
   original shrunk to the edit's size and the edit;
2. ``detect`` (with ``cues``): at the edit's resolution in float CIELAB,
   remove the colour drift (a gain and gamma per channel, the median ΔLab,
   a smooth tone field), measure five cues (colour, structure, lightness,
   region, texture) against the noise of equally busy unchanged pixels,
   keep what stands out (hysteresis, grouping, a visibility floor) with an
   alpha that follows the evidence; report what was measured and the
   possible changes not taken;
3. ``composite``: per changed region, resample the edit to full resolution
   once (Lanczos, the registration folded into the same warp), match its
   colour to the original on a ring of unchanged pixels, add the original's
   detail finer than the edit where the edit kept the structure (a tone or
   colour change over the same texture), optionally solve a Laplace
   membrane so it meets the original without a step, and blend with the
   feathered alpha, limited at full resolution to where the edit differs.
   Pixels where alpha is 0 are never written: they stay bit-identical to
   the original.

``realistic`` renders test edits the way FLUX Kontext returns them and
scores a merge against their truth; ``synthetic`` is a simpler test edit.
"""

from .pipeline import DiffMergeResult, diff_merge

__all__ = ["diff_merge", "DiffMergeResult"]
