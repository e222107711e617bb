"""Nodes of ``tiling/`` for IMAGE (and MASK) tensors: the tile plan, split, merge.

Thin adapters: validate and describe inputs, call ``tiling`` / ``blenders``.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import torch

from ..blenders import BLENDERS, blend_tooltip
from ..tiling import TilePlan, plan_by_tile_size
from ..tiling.object_grid import mask_grid_report, plan_around_mask
from .common import (
    SHRINK_TILES, TILE_PLAN, category, check_finite, check_image, check_plan, cut_tiles, fit_mask, merge_tiles, per_tile,
    plan_from_widgets, plan_inputs,
)


class TileSplit:
    """IMAGE (+ MASK) -> overlapping tiles as one IMAGE batch, and the TILE_PLAN to merge them."""

    DESCRIPTION = (
        "Cut an image (or a batch of images) into evenly spaced, overlapping tiles of equal size, for models "
        "that only take ~1 MP. Feed the tiles to any image node, then to Tile Merge with the plan."
    )
    CATEGORY = category("tiles")
    FUNCTION = "split"
    RETURN_TYPES = ("IMAGE", TILE_PLAN, "MASK")
    RETURN_NAMES = ("tiles", "plan", "mask_tiles")
    OUTPUT_TOOLTIPS = (
        "All tiles as one IMAGE batch: image-major (all tiles of image 1, then image 2 ...), row-major within an image.",
        "The tile grid; connect it to Tile Merge (and any node that needs the geometry).",
        "The mask cut into the same tiles (all zeros when no mask is given).",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The full-resolution image(s) to cut into tiles. Any channel count (RGB, RGBA)."}),
                **plan_inputs(),
            },
            "optional": {
                "mask": ("MASK", {"tooltip": "Optional mask cut into the same tiles; resized to the image if its size differs."}),
                "shrink_tiles": SHRINK_TILES,
            },
        }

    def split(self, image: torch.Tensor, mode: str, tile_width: int, tile_height: int, overlap: int, rows: int, cols: int,
              max_megapixels: float, align: int, mask: Optional[torch.Tensor] = None,
              shrink_tiles: bool = False) -> Tuple[torch.Tensor, TilePlan, torch.Tensor]:
        image = check_image(image, "image")
        check_finite(image, "image")
        b, h, w, _ = image.shape
        plan = plan_from_widgets(h, w, b, shrink_tiles, mode=mode, tile_width=tile_width, tile_height=tile_height, overlap=overlap,
                                 rows=rows, cols=cols, max_megapixels=max_megapixels, align=align)
        return cut_tiles(image, plan, mask)


class TilePlanNode:
    """IMAGE -> the TILE_PLAN Tile Split would make, without cutting any tile."""

    DESCRIPTION = (
        "The tile grid Tile Split would make for this image, without cutting the tiles: for nodes that need only the "
        "plan (Tile Loop Start, Seam Tiles, Tile Plan Info). At 15 000 px Tile Split's unused tile batch would hold more "
        "than the image's size in memory."
    )
    CATEGORY = category("tiles")
    FUNCTION = "plan"
    RETURN_TYPES = (TILE_PLAN, "STRING")
    RETURN_NAMES = ("plan", "summary")
    OUTPUT_TOOLTIPS = ("The tile grid.", "One line: the grid, the tile size and the overlaps.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE", {"tooltip": "The image the plan is for (only its size and batch are read)."}),
                             **plan_inputs()},
                "optional": {"shrink_tiles": SHRINK_TILES}}

    def plan(self, image: torch.Tensor, mode: str, tile_width: int, tile_height: int, overlap: int, rows: int, cols: int,
             max_megapixels: float, align: int, shrink_tiles: bool = False) -> Tuple[TilePlan, str]:
        image = check_image(image, "image")
        b, h, w, _ = image.shape
        plan = plan_from_widgets(h, w, b, shrink_tiles, mode=mode, tile_width=tile_width, tile_height=tile_height, overlap=overlap,
                                 rows=rows, cols=cols, max_megapixels=max_megapixels, align=align)
        return (plan, plan.describe())


class TileSplitAroundMask:
    """IMAGE + MASK -> tiles placed so masked objects sit clear of blend bands, whole in one tile."""

    DESCRIPTION = (
        "Like Tile Split (tile_size mode), but the grid is placed around a mask (from any segmentation node): "
        "first no blend band crosses a masked object that fits between two bands (one tile draws it, nothing is "
        "blended into it), then every object that fits a tile lies inside one, then the bands cross as little "
        "mask as possible. Overlaps may grow up to half a tile and one or two more tiles may be used for that."
    )
    CATEGORY = category("tiles")
    FUNCTION = "split"
    RETURN_TYPES = ("IMAGE", TILE_PLAN, "MASK", "STRING")
    RETURN_NAMES = ("tiles", "plan", "mask_tiles", "report")
    OUTPUT_TOOLTIPS = TileSplit.OUTPUT_TOOLTIPS + (
        "Objects clear of every band, objects inside one tile, and mask under blend bands, for this grid and the even grid.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        widgets = plan_inputs()
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The full-resolution image(s) to cut into tiles."}),
                "mask": ("MASK", {"tooltip": (
                    "What to keep away from seams (products, faces, jewellery). Any size: resized to the image. "
                    "With a batch, the union of the masks places the one grid.")}),
                "tile_width": widgets["tile_width"],
                "tile_height": widgets["tile_height"],
                "overlap": (widgets["overlap"][0], {**widgets["overlap"][1], "tooltip": (
                    "Smallest overlap between neighbouring tiles (px); overlaps grow up to half a tile where "
                    "that moves a blend band off the mask.")}),
                "align": widgets["align"],
                "threshold": ("FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.05, "tooltip": (
                    "Mask values above this make up the objects kept whole.")}),
                "extra_tiles": ("INT", {"default": 2, "min": 0, "max": 8, "tooltip": (
                    "How many tiles beyond the fewest (per row and column) may be used to avoid the mask.")}),
            },
        }

    def split(self, image: torch.Tensor, mask: torch.Tensor, tile_width: int, tile_height: int, overlap: int, align: int,
              threshold: float, extra_tiles: int) -> Tuple[torch.Tensor, TilePlan, torch.Tensor, str]:
        image = check_image(image, "image")
        check_finite(image, "image")
        b, h, w, _ = image.shape
        full = fit_mask(mask, b, h, w, "mask")
        union = full.amax(dim=0)
        plan = plan_around_mask(union, tile_height, tile_width, overlap, align, batch=b,
                                threshold=threshold, extra_tiles=extra_tiles)
        even = plan_by_tile_size(h, w, tile_height, tile_width, overlap, align, batch=b)
        report = f"{plan.describe()}\nobject-aware: {mask_grid_report(plan, union, threshold)}\n" \
                 f"even grid ({even.count} tiles): {mask_grid_report(even, union, threshold)}"
        return (*cut_tiles(image, plan, full), report)


class TileSplitList(TileSplit):
    """Same as Tile Split, but tiles come out as a list: downstream nodes run once per tile."""

    DESCRIPTION = (
        "Like Tile Split, but outputs the tiles as a list, so the next node runs once per tile. Use it for "
        "nodes that cannot take a batch (or that would run out of memory on one); merge with Tile Merge (list)."
    )
    OUTPUT_IS_LIST = (True, False, True)
    OUTPUT_TOOLTIPS = (
        "One IMAGE per tile (batch of the source images), in plan order.",
        TileSplit.OUTPUT_TOOLTIPS[1],
        "One MASK per tile.",
    )

    def split(self, image: torch.Tensor, mode: str, tile_width: int, tile_height: int, overlap: int, rows: int, cols: int,
              max_megapixels: float, align: int, mask: Optional[torch.Tensor] = None,
              shrink_tiles: bool = False) -> Tuple[List[torch.Tensor], TilePlan, List[torch.Tensor]]:
        tiles, plan, mask_tiles = super().split(image, mode, tile_width, tile_height, overlap, rows, cols, max_megapixels, align, mask,
                                                shrink_tiles)
        return (per_tile(tiles, plan.batch, plan.count), plan, per_tile(mask_tiles, plan.batch, plan.count))


class TileMerge:
    """Processed tiles + TILE_PLAN -> the reassembled image (tiles may have been upscaled)."""

    DESCRIPTION = (
        "Reassemble processed tiles into the full image with a seamless blend. Tiles that came back resized "
        "(x2, x4 upscalers, or any factor the plan maps onto whole pixels) give a resized image."
    )
    CATEGORY = category("merge")
    FUNCTION = "merge"
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("image", "mask")
    OUTPUT_TOOLTIPS = (
        "The merged image(s), at the source size times the tiles' scale.",
        "The merged mask tiles (all zeros when none are connected), at the image's size.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "tiles": ("IMAGE", {"tooltip": "The processed tiles, in the order Tile Split produced them; all the same size."}),
                "plan": (TILE_PLAN, {"tooltip": "The plan from the Tile Split node that cut these tiles."}),
                "blend": (list(BLENDERS), {"default": "cosine", "tooltip": blend_tooltip()}),
            },
            "optional": {
                "mask_tiles": ("MASK", {"tooltip": "Optional mask tiles to merge alongside (e.g. the split's mask_tiles)."}),
            },
        }

    def merge(self, tiles: torch.Tensor, plan: TilePlan, blend: str, mask_tiles: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        return merge_tiles(tiles, plan, blend, mask_tiles)


class TileMergeList(TileMerge):
    """Tile Merge for a list of tiles (one node run per tile upstream)."""

    DESCRIPTION = "Like Tile Merge, but takes the tiles as a list (from Tile Split (list) and per-tile nodes)."
    INPUT_IS_LIST = True

    def merge(self, tiles: List[torch.Tensor], plan: List[TilePlan], blend: List[str],
              mask_tiles: Optional[List[torch.Tensor]] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        return merge_tiles(tiles, plan[0], blend[0], mask_tiles)


class TilePlanInfo:
    """A TILE_PLAN as JSON and numbers, for display, headless use and other nodes."""

    DESCRIPTION = "Describe a tile plan: its JSON (for scripts and the browser overlay) and its grid numbers."
    CATEGORY = category("tiles")
    FUNCTION = "info"
    RETURN_TYPES = ("STRING", "STRING", "INT", "INT", "INT", "INT", "INT")
    RETURN_NAMES = ("json", "summary", "tile_count", "rows", "cols", "tile_width", "tile_height")
    OUTPUT_TOOLTIPS = (
        "The plan serialised as JSON (TilePlan.from_json reads it back).",
        "One line: grid, tile size, image size, overlaps.",
        "Tiles per image.", "Tile rows.", "Tile columns.", "Tile width (px).", "Tile height (px).",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"plan": (TILE_PLAN, {"tooltip": "A tile plan from any split node."})}}

    def info(self, plan: TilePlan) -> Tuple[str, str, int, int, int, int, int]:
        plan = check_plan(plan)
        return (plan.to_json(), plan.describe(), plan.count, plan.rows, plan.cols, plan.tile_width, plan.tile_height)


NODE_CLASS_MAPPINGS = {
    "TileStitchSplit": TileSplit,
    "TileStitchTilePlan": TilePlanNode,
    "TileStitchSplitList": TileSplitList,
    "TileStitchSplitAroundMask": TileSplitAroundMask,
    "TileStitchMerge": TileMerge,
    "TileStitchMergeList": TileMergeList,
    "TileStitchPlanInfo": TilePlanInfo,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "TileStitchSplit": "Tile Split",
    "TileStitchTilePlan": "Tile Plan",
    "TileStitchSplitList": "Tile Split (list)",
    "TileStitchSplitAroundMask": "Tile Split Around Mask",
    "TileStitchMerge": "Tile Merge",
    "TileStitchMergeList": "Tile Merge (list)",
    "TileStitchPlanInfo": "Tile Plan Info",
}
