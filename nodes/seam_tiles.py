"""Nodes of ``tiling/seam_tiles.py``: tiles on the seams of a merged image, redrawn by any model, pasted back in the zone only."""

from __future__ import annotations

from typing import List, Optional, Tuple

import torch

from ..correct.tile_color import match_to_surround
from ..tiling import TilePlan
from ..tiling.seam_tiles import (SEAM_DIRECTIONS, SEAM_MODES, SeamTilePlan, extract_seam_tiles, merge_seam_tiles, plan_seam_tiles,
                                 seam_tile_masks, zone_weight)
from .common import TILE_PLAN, category, check_finite, check_image, check_plan, latent_samples, per_tile, progress_hook

SEAM_TILE_PLAN = "SEAM_TILE_PLAN"
MODE_TOOLTIP = (
    "bands: boxes centred on every seam line, cut along it (the zone is a band on every seam). offset_grid: the tile "
    "grid shifted by half a tile (box centres on the seams; half boxes at the edges). crossings: only the boxes where "
    "four tiles meet (the zone fades out inside them). Each box is a seam tile the model redraws; only its zone is kept."
)
SEAMS_INPUT = ("seams", (list(SEAM_DIRECTIONS), {"default": "both", "tooltip": (
    "bands only: redraw both kinds of seam, or only the vertical (between columns) or horizontal ones. One direction lets "
    "the seam tiles be narrow across the seam and long along it (e.g. 256 x 1024 for vertical seams, then a second pass "
    "of 1024 x 256 for horizontal ones): the model is shown about twice the zone, not the whole image again.")}))


class SeamTiles:
    """Merged IMAGE + its TILE_PLAN -> tiles sitting on the seams, their zone masks, and the SEAM_TILE_PLAN to paste them back."""

    DESCRIPTION = (
        "Cut tiles that sit on the seams of a merged image, for a second pass that redraws only the seam zones (where a "
        "generative model drew different things on both sides and no blend can join them). Feed the tiles (and the "
        "masks, e.g. as a denoise mask) to the same model at low denoise, then to Seam Tiles Merge: only the zone "
        "changes; every other pixel stays bit-identical."
    )
    CATEGORY = category("tiles")
    FUNCTION = "split"
    RETURN_TYPES = ("IMAGE", SEAM_TILE_PLAN, "MASK", "STRING")
    RETURN_NAMES = ("tiles", "seam_plan", "zone_masks", "summary")
    OUTPUT_TOOLTIPS = (
        "The seam tiles as one IMAGE batch (image-major), all tile_width x tile_height. With no seams (a one-tile plan): "
        "the image itself, which Seam Tiles Merge passes through.",
        "Where the seam tiles sit and the zone they redraw; connect it to Seam Tiles Merge.",
        "Per seam tile, the zone that may change (1 on the seam, soft at the edges, 0 elsewhere): a denoise / inpaint mask.",
        "One line: how many seam tiles, the share of the image the zone covers and the share the model is shown.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The merged image (from Tile Merge, Seam Merge ... or its upscaled result)."}),
                "plan": (TILE_PLAN, {"tooltip": "The plan that cut the tiles this image was merged from (scaled to the image when the "
                                                "tiles were upscaled)."}),
                "mode": (list(SEAM_MODES), {"default": "bands", "tooltip": MODE_TOOLTIP}),
                "zone_width": ("INT", {"default": 64, "min": 2, "max": 4096, "step": 2, "tooltip": (
                    "Width of the band redrawn across each seam, in image px: full weight over its middle half, a "
                    "soft fall to 0 at its edges, nothing changes beyond. About the plan's overlap or less.")}),
                "tile_width": ("INT", {"default": 512, "min": 16, "max": 16384, "step": 8, "tooltip": "Seam tile width (px): what your model takes. The zone must fit inside."}),
                "tile_height": ("INT", {"default": 512, "min": 16, "max": 16384, "step": 8, "tooltip": "Seam tile height (px)."}),
                "overlap": ("INT", {"default": 64, "min": 0, "max": 4096, "step": 8, "tooltip": (
                    "How much neighbouring seam tiles along a seam overlap (px); they are feathered over half of it.")}),
            },
            "optional": dict([SEAMS_INPUT]),
        }

    def split(self, image: torch.Tensor, plan: TilePlan, mode: str, zone_width: int, tile_width: int, tile_height: int,
              overlap: int, seams: str = "both") -> Tuple[torch.Tensor, Optional[SeamTilePlan], torch.Tensor, str]:
        image = check_image(image, "image")
        check_finite(image, "image")
        b, h, w, _ = image.shape
        plan = check_plan(plan).for_image_size(h, w, "image")
        if plan.count == 1:
            summary = f"the plan has a single tile ({w} x {h}): there are no seams; the image passes through"
            return (image, None, torch.zeros((b, h, w), dtype=torch.float32), summary)
        sp = plan_seam_tiles(plan.with_batch(b), mode, zone_width, tile_height, tile_width, overlap, seams)
        return (extract_seam_tiles(image, sp), sp, seam_tile_masks(sp, b), sp.describe())


class SeamTilesList(SeamTiles):
    """Seam Tiles with the tiles and masks as lists: downstream nodes run once per seam tile."""

    DESCRIPTION = "Like Seam Tiles, but outputs the tiles and masks as lists, so the next node runs once per seam tile; merge with Seam Tiles Merge (list)."
    OUTPUT_IS_LIST = (True, False, True, False)

    def split(self, image, plan, mode, zone_width, tile_width, tile_height, overlap, seams="both"):
        tiles, sp, masks, summary = super().split(image, plan, mode, zone_width, tile_width, tile_height, overlap, seams)
        if sp is None:
            return ([tiles], None, [masks], summary)
        b = image.shape[0]
        return (per_tile(tiles, b, sp.count), sp, per_tile(masks, b, sp.count), summary)


def _check_seam_tiles(tiles: torch.Tensor, sp: SeamTilePlan, batch: int) -> torch.Tensor:
    tiles = check_image(tiles, "tiles")
    if tiles.shape[0] != batch * sp.count:
        raise ValueError(f"tiles has {tiles.shape[0]} images; the seam plan cut {sp.count} seam tiles from each of {batch} "
                         f"image(s) ({batch * sp.count} in all): connect the processed seam tiles in the order Seam Tiles gave them")
    if tuple(tiles.shape[1:3]) != (sp.tile_height, sp.tile_width):
        raise ValueError(f"the seam tiles came back {tiles.shape[2]} x {tiles.shape[1]} px, they were cut {sp.tile_width} x "
                         f"{sp.tile_height}: resize them back (or run the seam pass at the model's output scale)")
    check_finite(tiles, "tiles")
    return tiles

SEAM_BORDERS = ("color_match", "feather")
BORDER_INPUT = ("border", (list(SEAM_BORDERS), {"default": "color_match", "tooltip": (
    "color_match: before the paste, each redrawn tile gets the per-channel gain and offset that make it agree with the "
    "image around its zone (fitted on the tile's part outside the zone, which the model saw as context), so a model "
    "that drifts in tone leaves no band edge. feather: paste the tiles as drawn.")}))


def match_seam_tiles(image: torch.Tensor, tiles: torch.Tensor, sp: SeamTilePlan) -> torch.Tensor:
    """``tiles`` ``[B * count, th, tw, C]`` matched in colour to ``image`` ``[B, H, W, C]`` around each tile's zone."""
    th, tw = sp.tile_height, sp.tile_width
    weights = [1.0 - zone_weight(sp, y, y + th, x, x + tw) for y, x in sp.boxes]

    def target(k: int) -> torch.Tensor:
        y, x = sp.boxes[k % sp.count]
        return image[k // sp.count, y : y + th, x : x + tw]

    return match_to_surround(tiles, target, lambda k: weights[k % sp.count], progress_hook(tiles.shape[0]))


class SeamTilesMerge:
    """Merged IMAGE + redrawn seam tiles + SEAM_TILE_PLAN -> the image with only the seam zones redrawn."""

    DESCRIPTION = (
        "Paste redrawn seam tiles back into the merged image, only inside the seam zones: the tiles' feathered average, "
        "blended in by the zone's weight, each tile first matched in colour to the image around its zone. Every pixel "
        "outside the zones is bit-identical to the image."
    )
    CATEGORY = category("merge")
    FUNCTION = "merge"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The merged image with its seam zones redrawn.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The merged image the seam tiles were cut from."}),
                "tiles": ("IMAGE", {"tooltip": "The redrawn seam tiles, in the order Seam Tiles gave them, at the size they were cut."}),
                "seam_plan": (SEAM_TILE_PLAN, {"tooltip": "The seam plan from the Seam Tiles node that cut these tiles."}),
            },
            "optional": dict([BORDER_INPUT]),
        }

    def merge(self, image: torch.Tensor, tiles: torch.Tensor, seam_plan: Optional[SeamTilePlan],
              border: str = "color_match") -> Tuple[torch.Tensor]:
        image = check_image(image, "image")
        check_finite(image, "image")
        if seam_plan is None:  # a one-tile plan: nothing to redraw
            return (image,)
        if not isinstance(seam_plan, SeamTilePlan):
            raise ValueError(f"seam_plan must be a SEAM_TILE_PLAN from Seam Tiles, got {type(seam_plan).__name__}")
        b, h, w, _ = image.shape
        if (h, w) != (seam_plan.height, seam_plan.width):
            raise ValueError(f"image is {w} x {h} px but the seam plan is for {seam_plan.width} x {seam_plan.height}: connect "
                             f"the image the seam tiles were cut from")
        tiles = _check_seam_tiles(tiles, seam_plan, b)
        if tiles.shape[-1] != image.shape[-1]:
            raise ValueError(f"tiles have {tiles.shape[-1]} channels, the image {image.shape[-1]}")
        if border not in SEAM_BORDERS:
            raise ValueError(f"border must be one of {', '.join(SEAM_BORDERS)}, got {border!r}")
        if border == "color_match":
            tiles = match_seam_tiles(image, tiles, seam_plan)
        return (merge_seam_tiles(image, tiles, seam_plan, progress_hook(1)),)


class SeamTilesMergeList(SeamTilesMerge):
    """Seam Tiles Merge for a list of seam tiles (one node run per tile upstream)."""

    DESCRIPTION = "Like Seam Tiles Merge, but takes the seam tiles as a list (from Seam Tiles (list) and per-tile nodes)."
    INPUT_IS_LIST = True

    def merge(self, image: List[torch.Tensor], tiles: List[torch.Tensor], seam_plan: List[Optional[SeamTilePlan]],
              border: Optional[List[str]] = None) -> Tuple[torch.Tensor]:
        sp = seam_plan[0]
        img = check_image(image[0], "image")
        if sp is None:
            return (img,)
        listed = [check_image(t, "tiles") for t in tiles]
        if len({tuple(t.shape) for t in listed}) > 1 or listed[0].shape[0] != img.shape[0]:
            shapes = sorted({tuple(t.shape) for t in listed})
            raise ValueError(f"tiles must all be [{img.shape[0]}, {sp.tile_height}, {sp.tile_width}, C] (one batch entry per image), "
                             f"got shapes {shapes[:3]}")
        stacked = torch.stack(listed, dim=1)  # [b, count, th, tw, C]
        return super().merge(img, stacked.reshape(-1, *stacked.shape[2:]), sp, border[0] if border else "color_match")


class LatentSeamTiles:
    """LATENT + its latent TILE_PLAN -> latent tiles on the seams, their zone masks, and the SEAM_TILE_PLAN."""

    DESCRIPTION = (
        "Seam Tiles in latent space: cut latent tiles that sit on the seams of a latent merged from tiles (Latent Tile "
        "Merge, or a tiled sampler's result), so a low-denoise KSampler pass (with the zone masks as noise mask) "
        "redraws the seam bands before the decode. Sizes are in latent pixels."
    )
    CATEGORY = category("latent")
    FUNCTION = "split"
    RETURN_TYPES = ("LATENT", SEAM_TILE_PLAN, "MASK", "STRING")
    RETURN_NAMES = ("tiles", "seam_plan", "zone_masks", "summary")
    OUTPUT_TOOLTIPS = (
        "The seam tiles as one LATENT batch (image-major); with no seams, the latent itself (passed through by the merge).",
        SeamTiles.OUTPUT_TOOLTIPS[1],
        "Per seam tile, the zone that may change, at latent resolution (Set Latent Noise Mask takes it as it is).",
        SeamTiles.OUTPUT_TOOLTIPS[3],
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "samples": ("LATENT", {"tooltip": "The merged latent."}),
                "plan": (TILE_PLAN, {"tooltip": "The latent plan its tiles were cut with (Latent Tile Split's plan)."}),
                "mode": (list(SEAM_MODES), {"default": "bands", "tooltip": MODE_TOOLTIP}),
                "zone_width": ("INT", {"default": 8, "min": 2, "max": 1024, "step": 2, "tooltip": "Width of the band redrawn across each seam, in latent px (8 = 64 px for an 8x VAE)."}),
                "tile_width": ("INT", {"default": 64, "min": 4, "max": 2048, "step": 1, "tooltip": "Seam tile width in latent px (what the model takes: 128 = 1024 px for FLUX)."}),
                "tile_height": ("INT", {"default": 64, "min": 4, "max": 2048, "step": 1, "tooltip": "Seam tile height in latent px."}),
                "overlap": ("INT", {"default": 8, "min": 0, "max": 512, "step": 1, "tooltip": "Overlap of neighbouring seam tiles along a seam, in latent px."}),
            },
            "optional": dict([SEAMS_INPUT]),
        }

    def split(self, samples, plan: TilePlan, mode: str, zone_width: int, tile_width: int, tile_height: int, overlap: int,
              seams: str = "both"):
        z = latent_samples(samples, "samples")
        b, _, h, w = z.shape
        plan = check_plan(plan).for_image_size(h, w, "samples")
        rest = {k: v for k, v in samples.items() if k not in ("samples", "noise_mask", "batch_index")}  # whole-latent extras
        if plan.count == 1:
            summary = f"the plan has a single tile ({w} x {h} latent px): there are no seams; the latent passes through"
            return ({**rest, "samples": z}, None, torch.zeros((b, h, w), dtype=torch.float32), summary)
        sp = plan_seam_tiles(plan.with_batch(b), mode, zone_width, tile_height, tile_width, overlap, seams)
        tiles = extract_seam_tiles(z.permute(0, 2, 3, 1), sp).permute(0, 3, 1, 2).contiguous()
        return ({**rest, "samples": tiles}, sp, seam_tile_masks(sp, b), sp.describe())


class LatentSeamTilesMerge:
    """Merged LATENT + redrawn latent seam tiles + SEAM_TILE_PLAN -> the latent with only the seam zones redrawn."""

    DESCRIPTION = (
        "Paste redrawn latent seam tiles back into the merged latent, only inside the seam zones (as Seam Tiles Merge "
        "does for images); every latent pixel outside the zones is bit-identical."
    )
    CATEGORY = category("latent")
    FUNCTION = "merge"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("samples",)
    OUTPUT_TOOLTIPS = ("The merged latent with its seam zones redrawn.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "samples": ("LATENT", {"tooltip": "The merged latent the seam tiles were cut from."}),
                "tiles": ("LATENT", {"tooltip": "The redrawn latent seam tiles, in the order Latent Seam Tiles gave them."}),
                "seam_plan": (SEAM_TILE_PLAN, {"tooltip": "The seam plan from the Latent Seam Tiles node that cut these tiles."}),
            },
        }

    def merge(self, samples, tiles, seam_plan: Optional[SeamTilePlan]):
        z = latent_samples(samples, "samples")
        if seam_plan is None:
            return (samples,)
        if not isinstance(seam_plan, SeamTilePlan):
            raise ValueError(f"seam_plan must be a SEAM_TILE_PLAN from Latent Seam Tiles, got {type(seam_plan).__name__}")
        t = latent_samples(tiles, "tiles")
        b, c, h, w = z.shape
        if (h, w) != (seam_plan.height, seam_plan.width):
            raise ValueError(f"samples are {w} x {h} latent px but the seam plan is for {seam_plan.width} x {seam_plan.height}")
        if t.shape[0] != b * seam_plan.count or tuple(t.shape[2:]) != (seam_plan.tile_height, seam_plan.tile_width) or t.shape[1] != c:
            raise ValueError(f"tiles are {tuple(t.shape)}; the seam plan cut {b * seam_plan.count} latent tiles of {c} x "
                             f"{seam_plan.tile_height} x {seam_plan.tile_width}: connect the redrawn seam tiles in order")
        out = merge_seam_tiles(z.permute(0, 2, 3, 1), t.permute(0, 2, 3, 1), seam_plan, progress_hook(1))
        rest = {k: v for k, v in samples.items() if k != "samples"}
        return ({**rest, "samples": out.permute(0, 3, 1, 2).contiguous()},)


NODE_CLASS_MAPPINGS = {
    "TileStitchSeamTiles": SeamTiles,
    "TileStitchSeamTilesList": SeamTilesList,
    "TileStitchSeamTilesMerge": SeamTilesMerge,
    "TileStitchSeamTilesMergeList": SeamTilesMergeList,
    "TileStitchLatentSeamTiles": LatentSeamTiles,
    "TileStitchLatentSeamTilesMerge": LatentSeamTilesMerge,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "TileStitchSeamTiles": "Seam Tiles",
    "TileStitchSeamTilesList": "Seam Tiles (list)",
    "TileStitchSeamTilesMerge": "Seam Tiles Merge",
    "TileStitchSeamTilesMergeList": "Seam Tiles Merge (list)",
    "TileStitchLatentSeamTiles": "Latent Seam Tiles",
    "TileStitchLatentSeamTilesMerge": "Latent Seam Tiles Merge",
}
