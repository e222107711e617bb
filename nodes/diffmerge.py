"""Node of ``diffmerge/``: bring an edit made at ~1 MP back into the full-resolution original, changing nothing else."""

from __future__ import annotations

import json
from typing import Optional, Tuple

import numpy as np
import torch

from ..imaging.resample import resize_mask
from ..diffmerge import diff_merge
from ..diffmerge.detect import DetectOptions
from ..diffmerge.pipeline import BLENDS
from .common import category, check_finite, check_image, check_mask, progress_hook


def _mask_at(mask: Optional[torch.Tensor], index: int, height: int, width: int, name: str) -> Optional[np.ndarray]:
    """One mask of a MASK batch as bool ``[height, width]`` (area-resized to the edit's size)."""
    if mask is None:
        return None
    m = check_mask(mask, name)
    i = min(index, m.shape[0] - 1)
    return resize_mask(m[i : i + 1].float().cpu(), height, width, "area")[0].numpy() > 0.5


class DiffMerge:
    DESCRIPTION = (
        "Merge only what an edit really changed into the full-resolution original. The edit (FLUX Kontext or any "
        "model at ~1 MP, centre-cropped to its own aspect or not) is registered to the original (crop, shift and "
        "scale undone) and compared after removing its colour drift (a gain and gamma per channel) and slow tone "
        "drift, with five cues: colour (CIEDE2000), structure (changed edges), solar-stretched lightness in very "
        "light or dark areas, the difference averaged over a region (soft darkening, shadows) and texture removed or "
        "added. Each is measured against the re-rendering noise of equally busy pixels, so a light grey object on "
        "white is found while re-rendered fur is not. The changed regions are upsampled (Lanczos), colour-matched on "
        "a ring of unchanged pixels, given back the original's own fine detail where the edit changed only colour or "
        "tone over the same texture (a darkened brushed metal stays brushed), and blended with an alpha that follows "
        "the evidence (a fading shadow fades) and ends at each edge's half height at full resolution. "
        "Every pixel the alpha leaves at 0 stays bit-identical to the original; the report lists the noise "
        "measured, the changes and the possible changes it did not take."
    )
    CATEGORY = category("edit")
    FUNCTION = "merge"
    RETURN_TYPES = ("IMAGE", "MASK", "IMAGE", "STRING")
    RETURN_NAMES = ("image", "change_mask", "overlay", "report")
    OUTPUT_TOOLTIPS = (
        "The original at full size with the changed regions taken from the edit.",
        "The feathered alpha that was applied, at the original's size (0 = original pixel, untouched).",
        "Debug view at the edit's size: what is taken from the edit in red (by its alpha), possible changes boxed in blue.",
        "JSON: the estimated shift (in original pixels) and scale, the colour shift removed, the noise measured and the "
        "ΔE00 a change needed, the changes found and the possible changes not taken (boxes in original pixels).",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "original": ("IMAGE", {"tooltip": "The full-resolution original (5 000-15 000 px, RGB or RGBA; alpha is kept)."}),
                "edited": ("IMAGE", {"tooltip": "The edit, at any smaller or equal size with about the original's aspect (e.g. after FluxKontextImageScale)."}),
                "threshold": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 50.0, "step": 0.5, "tooltip": (
                    "0 (auto): a change must stand out of the re-rendering noise measured on pixels like it (the "
                    "report says how much ΔE00 that took on smooth and on busy areas). A value > 0 fixes the colour "
                    "threshold instead, in CIEDE2000 after the edit's colour drift is removed (2 is just noticeable; "
                    "3-6 ignores re-rendered texture); the structure and lightness cues still follow the noise.")}),
                "registration": (["affine", "translation", "none"], {"default": "affine", "tooltip": (
                    "Undo the small shift the edit model introduced: translation (phase correlation) or affine "
                    "(phase correlation refined by ECC: also scale and rotation). none: trust the edit's framing.")}),
                "blend": (list(BLENDS), {"default": "feather", "tooltip": (
                    "feather: blend with the soft-edged mask. poisson: also carry the remaining difference on each "
                    "region's border smoothly inwards (a Laplace membrane), so the edit meets the original with no step.")}),
                "feather": ("FLOAT", {"default": 2.0, "min": 0.0, "max": 1000.0, "step": 1.0, "tooltip": (
                    "Extra soft edge outside the alpha the evidence gives, in original pixels (Gaussian sigma). The "
                    "evidence already fades soft changes; raise this only to hide a hard boundary.")}),
                "colour_match": ("BOOLEAN", {"default": True, "tooltip": "Shift each changed region's colour so it matches the original on a ring of unchanged pixels around it."}),
                "dilate": ("INT", {"default": 0, "min": 0, "max": 64, "tooltip": (
                    "0: the evidence decides where the change ends. > 0: take a hard-edged area grown by this many edit "
                    "pixels instead (the older behaviour).")}),
                "min_area": ("FLOAT", {"default": 0.0002, "min": 0.0, "max": 0.5, "step": 0.0001, "tooltip": (
                    "Drop changes smaller than this fraction of the image (parts a few pixels apart, such as the "
                    "letters of a word, count together).")}),
            },
            "optional": {
                "include_mask": ("MASK", {"tooltip": "Pixels always taken from the edit (any size; resized)."}),
                "protect_mask": ("MASK", {"tooltip": "Pixels never taken from the edit, whatever changed (any size; resized). Wins over include_mask."}),
                "sensitivity": ("FLOAT", {"default": 3.0, "min": 1.2, "max": 20.0, "step": 0.1, "tooltip": (
                    "How far a change must rise somewhere above the noise of pixels like it, in multiples of that "
                    "noise's 99th percentile. Lower finds fainter changes and more false ones; pixels next to a change "
                    "join it from half of this.")}),
            },
        }

    def merge(self, original: torch.Tensor, edited: torch.Tensor, threshold: float, registration: str, blend: str,
              feather: float, colour_match: bool, dilate: int, min_area: float, include_mask: Optional[torch.Tensor] = None,
              protect_mask: Optional[torch.Tensor] = None, sensitivity: float = 3.0) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, str]:
        original = check_image(original, "original")
        edited = check_image(edited, "edited")
        check_finite(original, "original")
        check_finite(edited, "edited")
        if edited.shape[0] not in (1, original.shape[0]):
            raise ValueError(f"edited has {edited.shape[0]} images for {original.shape[0]} originals; give one edit or one per original")
        if not 1.2 <= sensitivity <= 20.0:
            raise ValueError(f"sensitivity must be between 1.2 and 20 (multiples of the noise level), got {sensitivity}")
        if threshold < 0:
            raise ValueError(f"threshold must be 0 (auto) or a positive CIEDE2000, got {threshold}")
        opts = DetectOptions(threshold=threshold, sensitivity=sensitivity, dilate=dilate, min_area=min_area)
        images, masks, overlays, infos = [], [], [], []
        for i in range(original.shape[0]):
            o = original[i].detach().cpu().float().contiguous().numpy()
            e = edited[min(i, edited.shape[0] - 1)].detach().cpu().float().contiguous().numpy()
            h, w = e.shape[:2]
            result = diff_merge(o, e, registration=registration, detect=opts, feather=feather, blend=blend,
                                colour_match=colour_match, include=_mask_at(include_mask, i, h, w, "include_mask"),
                                protect=_mask_at(protect_mask, i, h, w, "protect_mask"), progress=progress_hook(1))
            images.append(original[i] if result.image is o else torch.from_numpy(result.image))
            masks.append(torch.from_numpy(result.mask))
            overlays.append(torch.from_numpy(result.overlay))
            infos.append(result.info)
        report = json.dumps(infos[0] if len(infos) == 1 else infos, indent=1)
        if original.shape[0] == 1:
            return (images[0][None], masks[0][None], overlays[0][None], report)
        return (torch.stack(images), torch.stack(masks), torch.stack(overlays), report)


NODE_CLASS_MAPPINGS = {"TileStitchDiffMerge": DiffMerge}
NODE_DISPLAY_NAME_MAPPINGS = {"TileStitchDiffMerge": "Diff Merge"}
