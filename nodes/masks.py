"""Nodes of ``masks/``: a coarse (low-resolution) segmentation refined by per-tile segmentations."""

from __future__ import annotations

from typing import Tuple

import torch

from ..masks.refine import refine_mask
from ..tiling import MASK
from ..tiling.plan import TilePlan
from ..tiling.stack import TileStack
from .common import TILE_PLAN, category, check_finite, check_mask, check_plan, progress_hook


class MaskRefineMerge:
    """Coarse MASK + refined MASK tiles + TILE_PLAN -> a full-resolution MASK."""

    DESCRIPTION = (
        "Join a segmentation run on the downscaled photo (finds the objects, blocky outlines) with the same "
        "segmentation run on full-resolution tiles (sharp outlines, no context): the coarse mask is kept where it "
        "is certain, the tiles' mask (joined seamlessly) is used in a band around the outlines."
    )
    CATEGORY = category("masks")
    FUNCTION = "merge"
    RETURN_TYPES = ("MASK",)
    RETURN_NAMES = ("mask",)
    OUTPUT_TOOLTIPS = ("The refined mask at the full resolution of the tiles' source.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "coarse_mask": ("MASK", {"tooltip": "Segmentation of the whole image at low resolution (any size, same aspect)."}),
                "mask_tiles": ("MASK", {"tooltip": "Segmentation of each tile from Tile Split, in the split's order."}),
                "plan": (TILE_PLAN, {"tooltip": "The plan of the split that cut the tiles."}),
                "band": ("INT", {"default": 32, "min": 0, "max": 4096, "tooltip": (
                    "Half width (full-resolution px) of the zone around the coarse outlines where the tiles' mask is "
                    "used; at least the coarse mask's pixel size at full resolution.")}),
                "low": ("FLOAT", {"default": 0.05, "min": 0.0, "max": 0.5, "step": 0.01, "tooltip": (
                    "Coarse values above this (and below high) count as uncertain.")}),
                "high": ("FLOAT", {"default": 0.95, "min": 0.5, "max": 1.0, "step": 0.01, "tooltip": (
                    "Coarse values below this (and above low) count as uncertain.")}),
            },
        }

    def merge(self, coarse_mask: torch.Tensor, mask_tiles: torch.Tensor, plan: TilePlan, band: int, low: float,
              high: float) -> Tuple[torch.Tensor]:
        plan = check_plan(plan)
        coarse = check_mask(coarse_mask, "coarse_mask")
        tiles = check_mask(mask_tiles, "mask_tiles")
        check_finite(coarse, "coarse_mask", per="mask")
        check_finite(tiles, "mask_tiles", per="tile")
        TileStack(tiles, plan, MASK, "mask_tiles")  # count and size, named before any work
        return (refine_mask(coarse, tiles, plan, band=band, low=low, high=high, progress=progress_hook(plan.batch)),)


NODE_CLASS_MAPPINGS = {"TileStitchMaskRefineMerge": MaskRefineMerge}
NODE_DISPLAY_NAME_MAPPINGS = {"TileStitchMaskRefineMerge": "Mask Refine Merge"}
