"""Tile split / merge nodes for IMAGE (and MASK) tensors.

Thin adapters: validate and describe inputs, call ``tiling`` / ``blenders``.
"""

from __future__ import annotations

import torch

from ..blenders import BLENDERS, blend
from ..tiling import IMAGE, MASK, PLAN_MODES, TilePlan, extract_tiles, plan_by_tile_size, plan_tiles
from ..tiling.object_grid import mask_grid_report, plan_around_mask
from .common import CATEGORY, TILE_PLAN, check_finite, check_image, check_mask, fit_mask, progress_hook, zeros_mask

BLEND_TOOLTIP = (
    "How overlapping tiles are joined. cosine: raised-cosine ramp across the overlap (exact partition of unity; "
    "the default). linear: straight ramp. gaussian: each tile weighted by a Gaussian centred on it "
    "(Mixture-of-Diffusers style). multiband: Laplacian-pyramid blend inside each seam band; fine detail switches "
    "sides sharply, level differences spread over the whole overlap (best for tiles that disagree). "
    "none: hard cut at the overlap centre."
)


def plan_inputs(unit: str = "px", tile: int = 1024, overlap: int = 128, align: int = 8, max_size: int = 16384) -> dict:
    """Widgets that describe a tile grid; shared by every split node (pixel or latent units)."""
    return {
        "mode": (list(PLAN_MODES), {"default": "tile_size", "tooltip": (
            "tile_size: tiles of at most tile_width x tile_height. grid: exactly rows x cols tiles. "
            "megapixels: the fewest tiles of at most max_megapixels each (for models trained near 1 MP).")}),
        "tile_width": ("INT", {"default": tile, "min": 1, "max": max_size, "step": 1, "tooltip": (
            f"Tile width in {unit} (mode tile_size). Rounded down to a multiple of align; a tile wider than "
            "the image becomes one tile across.")}),
        "tile_height": ("INT", {"default": tile, "min": 1, "max": max_size, "step": 1, "tooltip": (
            f"Tile height in {unit} (mode tile_size). Rounded down to a multiple of align.")}),
        "overlap": ("INT", {"default": overlap, "min": 0, "max": max_size - 1, "step": 1, "tooltip": (
            f"Minimum overlap between neighbouring tiles in {unit}; the blend happens here. Tiles are spaced "
            "evenly, so actual overlaps are this or slightly more. Must be smaller than the tile.")}),
        "rows": ("INT", {"default": 2, "min": 1, "max": 256, "tooltip": "Number of tile rows (mode grid)."}),
        "cols": ("INT", {"default": 2, "min": 1, "max": 256, "tooltip": "Number of tile columns (mode grid)."}),
        "max_megapixels": ("FLOAT", {"default": 1.0, "min": 0.01, "max": 256.0, "step": 0.05, "tooltip": (
            "Largest tile area in megapixels (mode megapixels); the grid with the fewest, squarest tiles is chosen.")}),
        "align": ("INT", {"default": align, "min": 1, "max": 512, "tooltip": (
            f"Tile sizes and starts are multiples of this ({unit}). Use 8 or 16 for VAEs and models that need "
            "multiples; a multiple of 2 lets tiles resized by x1.5 map back exactly.")}),
    }


def _plan_for(image_shape, batch: int, **widgets) -> TilePlan:
    h, w = image_shape
    return plan_tiles(h, w, batch=batch, **widgets)


class TileSplit:
    """IMAGE (+ MASK) -> overlapping tiles as one IMAGE batch, and the TILE_PLAN to merge them."""

    DESCRIPTION = (
        "Cut an image (or a batch of images) into evenly spaced, overlapping tiles of equal size, for models "
        "that only take ~1 MP. Feed the tiles to any image node, then to Tile Merge with the plan."
    )
    CATEGORY = CATEGORY
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
            },
        }

    def split(self, image, mode, tile_width, tile_height, overlap, rows, cols, max_megapixels, align, mask=None):
        image = check_image(image, "image")
        check_finite(image, "image")
        b, h, w, _ = image.shape
        plan = _plan_for((h, w), b, mode=mode, tile_width=tile_width, tile_height=tile_height, overlap=overlap,
                         rows=rows, cols=cols, max_megapixels=max_megapixels, align=align)
        return cut_tiles(image, plan, mask)


def cut_tiles(image, plan: TilePlan, mask=None):
    """The split every split node shares: image (+ mask) -> (tiles, plan, mask tiles)."""
    b, h, w, _ = image.shape
    tiles = extract_tiles(image, plan, IMAGE, progress=progress_hook(plan.count))
    if mask is None:
        mask_tiles = zeros_mask(b * plan.count, plan.tile_height, plan.tile_width)
    else:
        mask_tiles = extract_tiles(fit_mask(mask, b, h, w, "mask"), plan, MASK)
    return (tiles, plan, mask_tiles)


class TileSplitAroundMask:
    """IMAGE + MASK -> tiles placed so masked objects sit clear of blend bands, whole in one tile."""

    DESCRIPTION = (
        "Like Tile Split (tile_size mode), but the grid is placed around a mask (from any segmentation node): "
        "first no blend band crosses a masked object that fits between two bands (one tile draws it, nothing is "
        "blended into it), then every object that fits a tile lies inside one, then the bands cross as little "
        "mask as possible. Overlaps may grow up to half a tile and one or two more tiles may be used for that."
    )
    CATEGORY = CATEGORY
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

    def split(self, image, mask, tile_width, tile_height, overlap, align, threshold, extra_tiles):
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

    def split(self, image, mode, tile_width, tile_height, overlap, rows, cols, max_megapixels, align, mask=None):
        tiles, plan, mask_tiles = super().split(image, mode, tile_width, tile_height, overlap, rows, cols, max_megapixels, align, mask)
        per_tile = [tiles.view(plan.batch, plan.count, *tiles.shape[1:])[:, k] for k in range(plan.count)]
        per_mask = [mask_tiles.view(plan.batch, plan.count, *mask_tiles.shape[1:])[:, k] for k in range(plan.count)]
        return (per_tile, plan, per_mask)


def check_plan(plan) -> TilePlan:
    if not isinstance(plan, TilePlan):
        raise ValueError(f"plan must be a TILE_PLAN from a Tile Split node, got {type(plan).__name__}")
    return plan


def merge_tiles(tiles, plan, blend_method, mask_tiles=None, **options):
    """The merge every Tile Merge node shares: tiles (+ mask tiles) -> image, mask.

    ``options`` go to the blender (band width, seam cutter ...); mask tiles
    are always joined with the same method but the centre-line cut.
    """
    plan = check_plan(plan)
    tiles = check_image(tiles, "tiles")
    check_finite(tiles, "tiles", per="tile")
    image = blend(tiles, plan, blend_method, layout=IMAGE, progress=progress_hook(plan.count), **options)
    out_h, out_w = image.shape[1], image.shape[2]
    if mask_tiles is None:
        mask = zeros_mask(plan.batch, out_h, out_w)
    else:
        mask_tiles = check_mask(mask_tiles, "mask_tiles")
        band = {k: options[k] for k in ("half_width",) if k in options}
        mask = blend(mask_tiles.contiguous(), plan, blend_method, layout=MASK, **band)
        if mask.shape[-2:] != (out_h, out_w):
            mask = torch.nn.functional.interpolate(mask.unsqueeze(1), size=(out_h, out_w), mode="bilinear", align_corners=False)[:, 0]
    return (image, mask)


class TileMerge:
    """Processed tiles + TILE_PLAN -> the reassembled image (tiles may have been upscaled)."""

    DESCRIPTION = (
        "Reassemble processed tiles into the full image with a seamless blend. Tiles that came back resized "
        "(x2, x4 upscalers, or any factor the plan maps onto whole pixels) give a resized image."
    )
    CATEGORY = CATEGORY
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
                "blend": (list(BLENDERS), {"default": "cosine", "tooltip": BLEND_TOOLTIP}),
            },
            "optional": {
                "mask_tiles": ("MASK", {"tooltip": "Optional mask tiles to merge alongside (e.g. the split's mask_tiles)."}),
            },
        }

    def merge(self, tiles, plan, blend, mask_tiles=None):
        return merge_tiles(tiles, plan, blend, mask_tiles)


class TileMergeList(TileMerge):
    """Tile Merge for a list of tiles (one node run per tile upstream)."""

    DESCRIPTION = "Like Tile Merge, but takes the tiles as a list (from Tile Split (list) and per-tile nodes)."
    INPUT_IS_LIST = True

    def merge(self, tiles, plan, blend, mask_tiles=None):
        tiles_t = torch.cat([check_image(t, "tiles") for t in tiles], dim=0)
        masks_t = None if mask_tiles is None else torch.cat([check_mask(m, "mask_tiles") for m in mask_tiles], dim=0)
        plan0 = plan[0]
        if isinstance(plan0, TilePlan) and plan0.batch > 1:
            # list order is tile-major (one entry per tile, each a batch of images): make it image-major
            n, b = plan0.count, plan0.batch
            tiles_t = tiles_t.view(n, b, *tiles_t.shape[1:]).transpose(0, 1).reshape(n * b, *tiles_t.shape[1:])
            if masks_t is not None:
                masks_t = masks_t.view(n, b, *masks_t.shape[1:]).transpose(0, 1).reshape(n * b, *masks_t.shape[1:])
        return merge_tiles(tiles_t, plan0, blend[0], masks_t)


class TilePlanInfo:
    """A TILE_PLAN as JSON and numbers, for display, headless use and other nodes."""

    DESCRIPTION = "Describe a tile plan: its JSON (for scripts and the browser overlay) and its grid numbers."
    CATEGORY = CATEGORY
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

    def info(self, plan):
        if not isinstance(plan, TilePlan):
            raise ValueError(f"plan must be a TILE_PLAN, got {type(plan).__name__}")
        return (plan.to_json(), plan.describe(), plan.count, plan.rows, plan.cols, plan.tile_width, plan.tile_height)


NODE_CLASS_MAPPINGS = {
    "TileStitchSplit": TileSplit,
    "TileStitchSplitList": TileSplitList,
    "TileStitchSplitAroundMask": TileSplitAroundMask,
    "TileStitchMerge": TileMerge,
    "TileStitchMergeList": TileMergeList,
    "TileStitchPlanInfo": TilePlanInfo,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "TileStitchSplit": "Tile Split",
    "TileStitchSplitList": "Tile Split (list)",
    "TileStitchSplitAroundMask": "Tile Split (around mask)",
    "TileStitchMerge": "Tile Merge",
    "TileStitchMergeList": "Tile Merge (list)",
    "TileStitchPlanInfo": "Tile Plan Info",
}
