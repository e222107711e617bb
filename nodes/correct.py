"""Nodes of ``correct/``: the global context, per-tile colour correction, frequency merge."""

from __future__ import annotations

import json
from typing import Tuple

import torch

from ..correct.frequency import METHODS as FREQUENCY_METHODS
from ..correct.frequency import WAVELETS, frequency_merge
from ..correct.global_context import GlobalContext, build_context
from ..correct.tile_color import METHODS, correct_and_measure
from ..imaging.color import as_rgb
from ..tiling.plan import TilePlan
from .common import TILE_PLAN, category, check_finite, check_image, check_plan, progress_hook

GLOBAL_CONTEXT = "GLOBAL_CONTEXT"

METHOD_TOOLTIP = (
    "joint_gain: one least-squares solve over all tiles for a gain and offset per tile and channel (RGB): "
    "neighbours agree in their overlaps, every tile's low frequencies match the reference; no chained drift "
    "(best for exposure / white-balance drift). joint_gain_lab: the same in CIELAB. reinhard_lab: match each "
    "tile's Lab mean and spread to the reference crop. wavelet_lowfreq: keep the tile's detail, take its low "
    "frequencies from the reference (removes any low-frequency drift, slowest)."
)


def check_context(context, name: str = "context") -> GlobalContext:
    if not isinstance(context, GlobalContext):
        raise ValueError(f"{name} must be a GLOBAL_CONTEXT from Global Context Encode, got {type(context).__name__}")
    return context


def encode_with_vae(vae, pixels: torch.Tensor, name: str) -> torch.Tensor:
    """``vae.encode(pixels)`` for a ComfyUI VAE, with a clear error when ``vae`` is something else."""
    if isinstance(vae, (str, bytes)) or not callable(getattr(vae, "encode", None)):
        raise ValueError(f"{name} must be a VAE (from Load VAE or a checkpoint loader), got {type(vae).__name__}")
    latent = vae.encode(pixels)
    if not isinstance(latent, torch.Tensor) or latent.ndim != 4:
        got = tuple(latent.shape) if isinstance(latent, torch.Tensor) else type(latent).__name__
        raise ValueError(f"{name}.encode returned {got}, not a latent [batch, channels, height, width]: is it an image VAE?")
    return latent


class GlobalContextEncode:
    DESCRIPTION = (
        "Summarise the full-resolution image once: a downsampled reference of the whole picture (optionally also "
        "encoded by a VAE). Tile Color Correct and Tiled Denoise use it to keep every tile true to the whole picture."
    )
    CATEGORY = category("correct")
    FUNCTION = "encode"
    RETURN_TYPES = (GLOBAL_CONTEXT, "IMAGE", "STRING")
    RETURN_NAMES = ("context", "reference", "summary")
    OUTPUT_TOOLTIPS = (
        "The global context; connect it to Tile Color Correct (and Tiled Denoise when a VAE is connected).",
        "The downsampled reference image (area-averaged), e.g. for Frequency Merge or a preview.",
        "The context's sizes as JSON (source, reference, latent).",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The full-resolution image you will split (the same image, not a crop)."}),
                "max_side": ("INT", {"default": 1024, "min": 64, "max": 8192, "step": 64, "tooltip": (
                    "Longest side of the reference in pixels. 1024 captures colour and exposure of any photo; "
                    "larger keeps more mid-frequency detail for the correction.")}),
            },
            "optional": {
                "vae": ("VAE", {"tooltip": "Optional: also encode the reference with this VAE, for Tiled Denoise's global pulls."}),
            },
        }

    def encode(self, image: torch.Tensor, max_side: int, vae=None) -> Tuple[GlobalContext, torch.Tensor, str]:
        image = check_image(image, "image")
        check_finite(image, "image")
        context = build_context(image, max_side)
        if vae is not None:
            if min(context.reference.shape[1:3]) < 8:
                raise ValueError(f"image is {image.shape[2]} x {image.shape[1]} px: too small to encode with the vae "
                                 "(its reference needs at least 8 px a side)")
            context = context.with_latent(encode_with_vae(vae, as_rgb(context.reference), "vae"))
        return (context, context.reference, json.dumps(context.summary()))


class TileColorCorrect:
    DESCRIPTION = (
        "Remove colour and exposure drift between independently processed tiles before merging, using the global "
        "context of the whole image. Alpha and extra channels are left untouched."
    )
    CATEGORY = category("correct")
    FUNCTION = "correct"
    RETURN_TYPES = ("IMAGE", "STRING")
    RETURN_NAMES = ("tiles", "report")
    OUTPUT_TOOLTIPS = (
        "The corrected tiles, same order and size; connect to a Tile Merge node.",
        "Drift of the tiles' low frequencies from the reference (mean CIEDE2000) before and after.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "tiles": ("IMAGE", {"tooltip": "The processed tiles (any scale) in Tile Split order."}),
                "plan": (TILE_PLAN, {"tooltip": "The plan from the Tile Split node that cut the tiles."}),
                "context": (GLOBAL_CONTEXT, {"tooltip": "Global Context Encode of the same image that was split."}),
                "method": (list(METHODS), {"default": "joint_gain", "tooltip": METHOD_TOOLTIP}),
                "strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.05, "tooltip": "0 leaves the tiles alone, 1 applies the full correction."}),
            },
        }

    def correct(self, tiles: torch.Tensor, plan: TilePlan, context: GlobalContext, method: str, strength: float) -> Tuple[torch.Tensor, str]:
        plan = check_plan(plan)
        tiles = check_image(tiles, "tiles")
        check_finite(tiles, "tiles", per="tile")
        context = check_context(context)
        plan = context.plan_in_source_pixels(plan)
        result = correct_and_measure(tiles, plan, context, method, strength, progress=progress_hook(tiles.shape[0]))
        before, after = result.drift_before, result.drift_after
        report = (f"{method}, strength {strength:g}: drift from the reference (mean CIEDE2000 of low frequencies) "
                  f"{float(before.mean()):.2f} -> {float(after.mean()):.2f}, worst tile "
                  f"{float(before.max()):.2f} -> {float(after.max()):.2f}")
        return (result.tiles, report)


class FrequencyMerge:
    """Low frequencies from a global reference, high frequencies from the merged tiles."""

    DESCRIPTION = (
        "Fix colour and exposure drift that tile-by-tile processing leaves: keep the merged image's detail and take "
        "its low frequencies from a reference that saw the whole picture (the original, or any smaller version). "
        "Wavelets (sym4/db4, not Haar) or a Gaussian low-pass; the depth follows the reference's size."
    )
    CATEGORY = category("correct")
    FUNCTION = "merge"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The image with the reference's low frequencies and its own detail.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The merged result (any size, e.g. an x4 upscale)."}),
                "reference": ("IMAGE", {"tooltip": "An image of the whole picture whose colours are right, any size with the same aspect (resized to the image)."}),
                "method": (list(FREQUENCY_METHODS), {"default": "gaussian", "tooltip": (
                    "gaussian: add the difference of the two low-passed images (no full-size copy of the "
                    "reference). wavelet: swap the approximation band of a discrete wavelet transform "
                    "(sharper split between bands; slower).")}),
                "wavelet": (list(WAVELETS), {"default": "sym4", "tooltip": "Wavelet for method=wavelet (smooth, orthogonal; Haar is not offered because it leaves blocks)."}),
                "levels": ("INT", {"default": 0, "min": 0, "max": 12, "tooltip": (
                    "Octaves taken from the reference. 0 = automatic: one below what the reference resolves "
                    "(ceil(log2(size ratio)) + 1).")}),
                "strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.05, "tooltip": "0 keeps the image, 1 takes the reference's low frequencies fully."}),
            },
        }

    def merge(self, image: torch.Tensor, reference: torch.Tensor, method: str, wavelet: str, levels: int,
              strength: float) -> Tuple[torch.Tensor]:
        image = check_image(image, "image")
        reference = check_image(reference, "reference")
        check_finite(image, "image")
        check_finite(reference, "reference")
        steps = image.shape[0] * (image.shape[-1] if method == "wavelet" else 1)
        return (frequency_merge(image, reference, method=method, wavelet=wavelet, levels=levels or None, strength=strength,
                                progress=progress_hook(steps)),)


NODE_CLASS_MAPPINGS = {
    "TileStitchGlobalContext": GlobalContextEncode,
    "TileStitchColorCorrect": TileColorCorrect,
    "TileStitchFrequencyMerge": FrequencyMerge,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "TileStitchGlobalContext": "Global Context Encode",
    "TileStitchColorCorrect": "Tile Color Correct",
    "TileStitchFrequencyMerge": "Frequency Merge",
}
