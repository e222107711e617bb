"""Masks at full resolution (pure: no ComfyUI).

* ``refine`` — a coarse low-resolution segmentation refined by per-tile
  full-resolution segmentations, joined with the plan's partition of unity.
"""
