"""Nodes of ``blenders/``: merges whose seams are solved (Poisson / multiband bands, optimal cuts)."""

from __future__ import annotations

import logging
from typing import Optional, Tuple

import torch

from ..blenders import blend_tooltip
from ..blenders.poisson import DEFAULT_HALF_WIDTH
from ..blenders.seam_paths import optimal_cutter
from ..imaging.resample import resize_mask
from ..tiling import IMAGE
from ..tiling.compose import plan_for_tiles
from ..tiling.plan import TilePlan
from .common import TILE_PLAN, category, check_image, check_mask, check_plan, merge_tiles

log = logging.getLogger("tilestitch")
SEAM_METHODS = ("poisson", "multiband")


class SeamMerge:
    """Tile Merge with gradient-domain (Poisson) or multiband seams, optionally along an optimal cut."""

    DESCRIPTION = (
        "Merge tiles that disagree (in level, colour or detail) without a visible seam. poisson: composite with a "
        "hard cut, then solve a Poisson equation in a band around every seam so the join follows both tiles' own "
        "gradients (no step on skies, backdrops or polished metal). multiband: Laplacian-pyramid blend in the "
        "seam bands. seam=optimal runs each cut where the tiles agree, never through the protect mask."
    )
    CATEGORY = category("merge")
    FUNCTION = "merge"
    RETURN_TYPES = ("IMAGE", "MASK", "STRING")
    RETURN_NAMES = ("image", "mask", "report")
    OUTPUT_TOOLTIPS = (
        "The merged image(s), at the source size times the tiles' scale.",
        "The merged mask tiles (all zeros when none are connected).",
        "What happened: method, band width, and any seam that had to cross protected pixels.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "tiles": ("IMAGE", {"tooltip": "The processed tiles, in the order Tile Split produced them."}),
                "plan": (TILE_PLAN, {"tooltip": "The plan from the Tile Split node that cut these tiles."}),
                "method": (list(SEAM_METHODS), {"default": "poisson", "tooltip": blend_tooltip(SEAM_METHODS)}),
                "seam": (["centre", "optimal"], {"default": "centre", "tooltip": (
                    "centre: cut along the middle of each overlap. optimal: cut along the path where the two tiles "
                    "agree most (dynamic programming), avoiding the protect mask.")}),
                "band_half_width": ("INT", {"default": 0, "min": 0, "max": 4096, "tooltip": (
                    f"Half width of the band around each seam that is re-blended, in source pixels (the plan's; "
                    f"scaled with the tiles, as in Tile Merge). 0 = automatic: {DEFAULT_HALF_WIDTH} px for poisson, "
                    "the whole overlap for multiband. Always capped by the overlap.")}),
            },
            "optional": {
                "protect_mask": ("MASK", {"tooltip": (
                    "Pixels a seam must not cross (jewellery, faces, products); any size, resized to the image. "
                    "Used with seam=optimal.")}),
                "mask_tiles": ("MASK", {"tooltip": "Optional mask tiles to merge alongside."}),
            },
        }

    def merge(self, tiles: torch.Tensor, plan: TilePlan, method: str, seam: str, band_half_width: int,
              protect_mask: Optional[torch.Tensor] = None, mask_tiles: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, str]:
        plan = check_plan(plan)
        tiles = check_image(tiles, "tiles")
        if method not in SEAM_METHODS:
            raise ValueError(f"method must be one of {', '.join(SEAM_METHODS)}, got {method!r}")
        out_plan = plan_for_tiles(plan, tiles, IMAGE)
        options = {"half_width": band_half_width or (DEFAULT_HALF_WIDTH if method == "poisson" else None)}
        cutter = None
        if seam == "optimal":
            protect = None
            if protect_mask is not None:
                pm = check_mask(protect_mask, "protect_mask")
                protect = resize_mask(pm.float().cpu(), out_plan.height, out_plan.width).amax(dim=0)
            cutter = optimal_cutter(protect)
            options["cutter"] = cutter
        elif protect_mask is not None:
            log.warning("TileStitch Seam Merge: protect_mask is only used with seam=optimal")
        image, mask = merge_tiles(tiles, plan, method, mask_tiles, **options)
        hw = options["half_width"]
        lines = [f"{method} seams, {seam} cut, band half width {'whole overlap' if hw is None else f'{hw} source px'} (capped by the overlap)"]
        if cutter is not None and cutter.crossings:
            px = sum(n for _, n in cutter.crossings)
            msg = (f"{len(cutter.crossings)} seam(s) had to cross protected pixels ({px} px): the mask blocks the "
                   "whole overlap there; use a larger overlap or move the tiles (object-aware grid)")
            log.warning("TileStitch Seam Merge: %s", msg)
            lines.append(msg)
        return (image, mask, "\n".join(lines))


NODE_CLASS_MAPPINGS = {"TileStitchSeamMerge": SeamMerge}
NODE_DISPLAY_NAME_MAPPINGS = {"TileStitchSeamMerge": "Seam Merge"}
