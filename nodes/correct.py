"""Nodes of ``correct/``: the global context, per-tile colour correction, frequency merge, frequency bands (split, join, band merge, detail energy)."""

from __future__ import annotations

import json
import math
from typing import List, Optional, Tuple

import torch

from ..correct.bands import MAX_BANDS, band_merge, check_bands, detail_energy, join_bands, split_bands
from ..correct.frequency import METHODS as FREQUENCY_METHODS
from ..correct.frequency import ASPECT_TOLERANCE as FREQUENCY_ASPECT_TOLERANCE
from ..correct.frequency import WAVELETS, frequency_merge
from ..correct.global_context import GlobalContext, build_context
from ..correct.tile_color import METHODS, correct_and_measure
from ..imaging.color import as_rgb
from ..imaging.resample import resize_mask
from ..tiling.plan import TilePlan
from .common import TILE_PLAN, category, check_finite, check_image, check_mask, check_plan, progress_hook

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


FREQUENCY_BANDS = "FREQUENCY_BANDS"


class FrequencyBands:
    """An image's frequency bands at full resolution (``correct/bands.py``): ``bands[k]`` is ``[B, H, W, C]``, finest first."""

    def __init__(self, bands):
        self.bands = list(bands)

    def __len__(self) -> int:
        return len(self.bands)


def _check_bands_value(bands) -> FrequencyBands:
    if not isinstance(bands, FrequencyBands):
        raise ValueError(f"bands must be FREQUENCY_BANDS from Frequency Split, got {type(bands).__name__}")
    return bands


def _band_index(bands: FrequencyBands, index: int) -> int:
    if not -len(bands) <= index < len(bands):
        raise ValueError(f"index {index} is out of range: these bands are 0 (finest detail) .. {len(bands) - 1} (low frequencies); "
                         f"-1 is the low-frequency band")
    return index % len(bands)


BANDS_TOOLTIP = "Detail bands (each an octave: 0 the finest, pores and grain; 1 texture; ...); a low-frequency band (light, colour) is added last."


class FrequencySplit:
    DESCRIPTION = (
        "Frequency separation at full resolution: split an image into detail bands (a Laplacian pyramid, each band "
        "at the image's size, float32) and a low-frequency band, which sum back to the image exactly. Take one band "
        "out with Frequency Band, process it with any node, put it back with Frequency Band Replace, and join."
    )
    CATEGORY = category("correct")
    FUNCTION = "split"
    RETURN_TYPES = (FREQUENCY_BANDS,)
    RETURN_NAMES = ("bands",)
    OUTPUT_TOOLTIPS = ("The bands (bands + 1 full-size images per input image); Frequency Join sums them back.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": ("IMAGE", {"tooltip": "Any image (batch allowed). Every band costs one full-size float32 copy."}),
            "bands": ("INT", {"default": 3, "min": 1, "max": MAX_BANDS, "tooltip": BANDS_TOOLTIP}),
        }}

    def split(self, image: torch.Tensor, bands: int) -> Tuple[FrequencyBands]:
        image = check_image(image, "image")
        check_finite(image, "image")
        check_bands(bands)
        per_image = [split_bands(image[i], bands) for i in range(image.shape[0])]
        return (FrequencyBands(torch.stack([p[k] for p in per_image]) for k in range(bands + 1)),)


class FrequencyBand:
    DESCRIPTION = "One band of Frequency Split as an IMAGE (detail bands are signed: add 0.5 to see them or to feed a model that wants 0..1)."
    CATEGORY = category("correct")
    FUNCTION = "get"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("band",)
    OUTPUT_TOOLTIPS = ("The band at full size, plus offset.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "bands": (FREQUENCY_BANDS, {"tooltip": "Bands from Frequency Split."}),
            "index": ("INT", {"default": 0, "min": -MAX_BANDS - 1, "max": MAX_BANDS, "tooltip": "0 = finest detail, -1 = the low-frequency band."}),
            "offset": ("FLOAT", {"default": 0.0, "min": -1.0, "max": 1.0, "step": 0.5, "tooltip": "Added to the band (0.5 centres a detail band on mid-grey). Use the same value in Frequency Band Replace."}),
        }}

    def get(self, bands, index: int, offset: float) -> Tuple[torch.Tensor]:
        bands = _check_bands_value(bands)
        return (bands.bands[_band_index(bands, index)] + offset,)


class FrequencyBandReplace:
    DESCRIPTION = "Put a processed band back into the bands of Frequency Split (the offset given to Frequency Band is taken off again)."
    CATEGORY = category("correct")
    FUNCTION = "replace"
    RETURN_TYPES = (FREQUENCY_BANDS,)
    RETURN_NAMES = ("bands",)
    OUTPUT_TOOLTIPS = ("The bands with band `index` replaced.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "bands": (FREQUENCY_BANDS, {"tooltip": "Bands from Frequency Split."}),
            "band": ("IMAGE", {"tooltip": "The processed band, at the bands' size."}),
            "index": ("INT", {"default": 0, "min": -MAX_BANDS - 1, "max": MAX_BANDS, "tooltip": "Which band it replaces (0 = finest, -1 = low frequencies)."}),
            "offset": ("FLOAT", {"default": 0.0, "min": -1.0, "max": 1.0, "step": 0.5, "tooltip": "The offset Frequency Band added (taken off here)."}),
        }}

    def replace(self, bands, band: torch.Tensor, index: int, offset: float) -> Tuple[FrequencyBands]:
        bands = _check_bands_value(bands)
        band = check_image(band, "band")
        check_finite(band, "band")
        k = _band_index(bands, index)
        if band.shape != bands.bands[k].shape:
            raise ValueError(f"band is {tuple(band.shape)}, the band it replaces {tuple(bands.bands[k].shape)}: give it back at "
                             f"the same size and channels")
        out = list(bands.bands)
        out[k] = band.float() - offset
        return (FrequencyBands(out),)


class FrequencyJoin:
    DESCRIPTION = "Sum the bands of Frequency Split back into an image (exact, up to float32 rounding)."
    CATEGORY = category("correct")
    FUNCTION = "join"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The joined image (values are not clipped: a processed band may push them past 0..1).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"bands": (FREQUENCY_BANDS, {"tooltip": "Bands from Frequency Split (or Frequency Band Replace)."})}}

    def join(self, bands) -> Tuple[torch.Tensor]:
        bands = _check_bands_value(bands)
        return (torch.stack([join_bands([b[i] for b in bands.bands]) for i in range(bands.bands[0].shape[0])]),)


def parse_weights(text: str) -> List[float]:
    try:
        weights = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"edit_weights must be numbers separated by commas (finest band first), got {text!r}") from None
    if len(weights) < 2:
        raise ValueError(f"edit_weights needs at least two numbers (one detail band and the low-frequency band), got {text!r}")
    if any(not 0.0 <= v <= 1.0 for v in weights):
        raise ValueError(f"edit_weights must each be between 0 and 1, got {text!r}")
    return weights


class BandMerge:
    DESCRIPTION = (
        "Carry a global edit made at ~1 MP (a relight, a colour grade by FLUX Kontext) to the full-resolution original "
        "band by band: per band, how much comes from the edit (e.g. the low frequencies from the edit, every finer band "
        "from the original, so the result takes the edit's tone and keeps the original's texture). No full-size band is "
        "built: the original plus small upsampled differences. For local edits use Diff Merge."
    )
    CATEGORY = category("correct")
    FUNCTION = "merge"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The original at full size with each band taken from the edit by its weight.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "original": ("IMAGE", {"tooltip": "The full-resolution original."}),
            "edit": ("IMAGE", {"tooltip": "The same picture edited, at any size with the same aspect (uncropped)."}),
            "edit_weights": ("STRING", {"default": "0, 0, 0, 0, 0, 1", "tooltip": (
                "The edit's share of each band, finest first, the low-frequency band last (the number of values is "
                "bands + 1; each band an octave). The default takes light and colour below 1/32 of the size from the "
                "edit and everything finer from the original.")}),
        }, "optional": {
            "mask": ("MASK", {"tooltip": "Where the merge applies (any size; resized to the original). Elsewhere the original stays exactly as it is."}),
        }}

    def merge(self, original: torch.Tensor, edit: torch.Tensor, edit_weights: str,
              mask: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor]:
        original = check_image(original, "original")
        edit = check_image(edit, "edit")
        check_finite(original, "original")
        check_finite(edit, "edit")
        weights = parse_weights(edit_weights)
        if edit.shape[0] not in (1, original.shape[0]):
            raise ValueError(f"edit has {edit.shape[0]} images for {original.shape[0]} originals; give one or one per original")
        if edit.shape[-1] != original.shape[-1]:
            raise ValueError(f"edit has {edit.shape[-1]} channels, the original {original.shape[-1]}")
        (H, W), (h, w) = original.shape[1:3], edit.shape[1:3]
        if abs(math.log((w / h) / (W / H))) > FREQUENCY_ASPECT_TOLERANCE:
            raise ValueError(f"edit is {w} x {h} px, the original {W} x {H}: not the same aspect; give the whole picture, uncropped")
        masks = None
        if mask is not None:
            masks = check_mask(mask, "mask")
            check_finite(masks, "mask")
            if tuple(masks.shape[1:]) != (H, W):
                masks = resize_mask(masks.float(), H, W, "area")
        progress = progress_hook(original.shape[0])
        out = []
        for i in range(original.shape[0]):
            m = None if masks is None else masks[min(i, masks.shape[0] - 1)]
            out.append(band_merge(original[i], edit[min(i, edit.shape[0] - 1)], weights, m))
            if progress is not None:
                progress(i + 1, original.shape[0])
        return (out[0][None] if len(out) == 1 else torch.stack(out),)  # one image: no second full-size copy


class DetailEnergy:
    DESCRIPTION = (
        "Where the picture has fine detail (skin, hair, fabric: 1) and where it is smooth (gradients, sky: 0), as a MASK: "
        "the local RMS of the finest frequency bands of the luma, normalised. For a denoise mask (stronger where the "
        "detail is), for the object-aware grid (keep seams off detail) or for seam placement."
    )
    CATEGORY = category("correct")
    FUNCTION = "energy"
    RETURN_TYPES = ("MASK",)
    RETURN_NAMES = ("mask",)
    OUTPUT_TOOLTIPS = ("Detail energy in [0, 1], at the image's size.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": ("IMAGE", {"tooltip": "Any image."}),
            "bands": ("INT", {"default": 2, "min": 1, "max": MAX_BANDS, "tooltip": "How many of the finest bands count as detail (1: grain and pores only)."}),
            "sigma": ("FLOAT", {"default": 4.0, "min": 0.5, "max": 256.0, "step": 0.5, "tooltip": "How far the energy is averaged (Gaussian sigma, px)."}),
        }}

    def energy(self, image: torch.Tensor, bands: int, sigma: float) -> Tuple[torch.Tensor]:
        image = check_image(image, "image")
        check_finite(image, "image")
        if image.shape[-1] < 3:
            raise ValueError(f"image must be RGB or RGBA for the detail energy, got {image.shape[-1]} channel(s)")
        return (torch.stack([detail_energy(image[i], bands, sigma) for i in range(image.shape[0])]),)


NODE_CLASS_MAPPINGS = {
    "TileStitchGlobalContext": GlobalContextEncode,
    "TileStitchColorCorrect": TileColorCorrect,
    "TileStitchFrequencyMerge": FrequencyMerge,
    "TileStitchFrequencySplit": FrequencySplit,
    "TileStitchFrequencyBand": FrequencyBand,
    "TileStitchFrequencyBandReplace": FrequencyBandReplace,
    "TileStitchFrequencyJoin": FrequencyJoin,
    "TileStitchBandMerge": BandMerge,
    "TileStitchDetailEnergy": DetailEnergy,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "TileStitchGlobalContext": "Global Context Encode",
    "TileStitchColorCorrect": "Tile Color Correct",
    "TileStitchFrequencyMerge": "Frequency Merge",
    "TileStitchFrequencySplit": "Frequency Split",
    "TileStitchFrequencyBand": "Frequency Band",
    "TileStitchFrequencyBandReplace": "Frequency Band Replace",
    "TileStitchFrequencyJoin": "Frequency Join",
    "TileStitchBandMerge": "Band Merge",
    "TileStitchDetailEnergy": "Detail Energy",
}
