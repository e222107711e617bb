"""Seam-aware merges: Poisson / multiband seams with optional optimal cut, and the frequency-aware merge."""

from __future__ import annotations

import logging

from ..blenders.frequency import METHODS as FREQ_METHODS
from ..blenders.frequency import WAVELETS, frequency_merge
from ..blenders.poisson import DEFAULT_HALF_WIDTH
from ..blenders.resample import resize_mask
from ..blenders.seam_finding import optimal_cutter
from ..tiling import IMAGE
from ..tiling.compose import fit_plan_to_tiles
from .common import CATEGORY, TILE_PLAN, check_finite, check_image, check_mask
from .tiles import check_plan, merge_tiles

log = logging.getLogger("tilestitch")


class SeamMerge:
    """Tile Merge with gradient-domain (Poisson) or multiband seams, optionally along an optimal cut."""

    DESCRIPTION = (
        "Merge tiles that disagree (in level, colour or detail) without a visible seam. poisson: composite with a "
        "hard cut, then solve a Poisson equation in a band around every seam so the join follows both tiles' own "
        "gradients (no step on skies, backdrops or polished metal). multiband: Laplacian-pyramid blend in the "
        "seam bands. seam=optimal runs each cut where the tiles agree, never through the protect mask."
    )
    CATEGORY = CATEGORY
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
                "method": (["poisson", "multiband"], {"default": "poisson", "tooltip": (
                    "poisson: gradient-domain seams (best on smooth gradients; removes level steps completely). "
                    "multiband: Laplacian-pyramid blend (best when tiles disagree in fine detail).")}),
                "seam": (["centre", "optimal"], {"default": "centre", "tooltip": (
                    "centre: cut along the middle of each overlap. optimal: cut along the path where the two tiles "
                    "agree most (dynamic programming), avoiding the protect mask.")}),
                "band_half_width": ("INT", {"default": 0, "min": 0, "max": 4096, "tooltip": (
                    f"Half width of the band around each seam that is re-blended, in source pixels (scaled with the "
                    f"tiles). 0 = automatic: {DEFAULT_HALF_WIDTH} px for poisson, the whole overlap for multiband. "
                    "Always capped by the overlap.")}),
            },
            "optional": {
                "protect_mask": ("MASK", {"tooltip": (
                    "Pixels a seam must not cross (jewellery, faces, products); any size, resized to the image. "
                    "Used with seam=optimal.")}),
                "mask_tiles": ("MASK", {"tooltip": "Optional mask tiles to merge alongside."}),
            },
        }

    def merge(self, tiles, plan, method, seam, band_half_width, protect_mask=None, mask_tiles=None):
        plan = check_plan(plan)
        tiles = check_image(tiles, "tiles")
        out_plan = fit_plan_to_tiles(plan, tiles, IMAGE)
        scale = out_plan.width / plan.width
        options = {}
        if band_half_width > 0:
            options["half_width"] = max(1, round(band_half_width * scale))
        elif method == "poisson":
            options["half_width"] = max(1, round(DEFAULT_HALF_WIDTH * scale))
        else:
            options["half_width"] = None
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
        lines = [f"{method} seams, {seam} cut, band half width {'whole overlap' if hw is None else f'{hw} px'}"]
        if cutter is not None and cutter.crossings:
            px = sum(n for _, n in cutter.crossings)
            msg = (f"{len(cutter.crossings)} seam(s) had to cross protected pixels ({px} px): the mask blocks the "
                   "whole overlap there; use a larger overlap or move the tiles (object-aware grid)")
            log.warning("TileStitch Seam Merge: %s", msg)
            lines.append(msg)
        return (image, mask, "\n".join(lines))


class FrequencyMerge:
    """Low frequencies from a global reference, high frequencies from the merged tiles."""

    DESCRIPTION = (
        "Fix colour and exposure drift that tile-by-tile processing leaves: keep the merged image's detail and take "
        "its low frequencies from a reference that saw the whole picture (the original, or any smaller version). "
        "Wavelets (sym4/db4, not Haar) or a Gaussian low-pass; the depth follows the reference's size."
    )
    CATEGORY = CATEGORY
    FUNCTION = "merge"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The image with the reference's low frequencies and its own detail.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The merged result (any size, e.g. an x4 upscale)."}),
                "reference": ("IMAGE", {"tooltip": "An image of the whole picture whose colours are right, any size (resized to the image)."}),
                "method": (list(FREQ_METHODS), {"default": "gaussian", "tooltip": (
                    "gaussian: add the difference of the two low-passed images (1.2 s at 10 000 px, no full-size copy "
                    "of the reference). wavelet: swap the approximation band of a discrete wavelet transform "
                    "(sharper split between bands; about 15x slower).")}),
                "wavelet": (list(WAVELETS), {"default": "sym4", "tooltip": "Wavelet for method=wavelet (smooth, orthogonal; Haar is not offered because it leaves blocks)."}),
                "levels": ("INT", {"default": 0, "min": 0, "max": 12, "tooltip": (
                    "Octaves taken from the reference. 0 = automatic: one below what the reference resolves "
                    "(ceil(log2(size ratio)) + 1).")}),
                "strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.05, "tooltip": "0 keeps the image, 1 takes the reference's low frequencies fully."}),
            },
        }

    def merge(self, image, reference, method, wavelet, levels, strength):
        image = check_image(image, "image")
        reference = check_image(reference, "reference")
        check_finite(image, "image")
        check_finite(reference, "reference")
        return (frequency_merge(image, reference, method=method, wavelet=wavelet, levels=levels or None, strength=strength),)


NODE_CLASS_MAPPINGS = {
    "TileStitchSeamMerge": SeamMerge,
    "TileStitchFrequencyMerge": FrequencyMerge,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "TileStitchSeamMerge": "Tile Merge (Poisson / multiband seams)",
    "TileStitchFrequencyMerge": "Frequency Merge (low from reference)",
}
