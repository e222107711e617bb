"""Diff-merge: bring an edit made at ~1 MP back into the full-resolution original, changing nothing else.

Pure numpy / OpenCV, no ComfyUI. The pipeline (``pipeline.diff_merge``):

1. ``register``: undo the small shift / scale the edit model introduced
   (phase correlation, then ECC refinement) between the original shrunk to
   the edit's size and the edit;
2. ``detect``: at the edit's resolution in float CIELAB, remove the global
   colour shift (median ΔLab), threshold CIEDE2000 after a light blur, clean
   up (open, close, drop small components, fill holes, dilate) and feather;
3. ``composite``: per changed region, resample the edit to full resolution
   once (Lanczos, the registration folded into the same warp), match its
   colour to the original on a ring of unchanged pixels, optionally solve a
   Laplace membrane so it meets the original without a step, and blend with
   the feathered alpha. Pixels where alpha is 0 are never written: they stay
   bit-identical to the original.
"""

from .pipeline import DiffMergeResult, diff_merge

__all__ = ["diff_merge", "DiffMergeResult"]
