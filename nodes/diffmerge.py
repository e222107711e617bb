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
        "model at ~1 MP) is registered to the original (its small shift/scale undone), compared in CIELAB after "
        "removing its global colour shift, and the changed regions are upsampled (Lanczos), colour-matched on a ring "
        "of unchanged pixels and blended in with a feathered edge. Every pixel outside the change mask stays "
        "bit-identical to the original."
    )
    CATEGORY = category("edit")
    FUNCTION = "merge"
    RETURN_TYPES = ("IMAGE", "MASK", "IMAGE", "STRING")
    RETURN_NAMES = ("image", "change_mask", "overlay", "report")
    OUTPUT_TOOLTIPS = (
        "The original at full size with the changed regions taken from the edit.",
        "The feathered alpha that was applied, at the original's size (0 = original pixel, untouched).",
        "Debug view at the edit's size: changed pixels red, the feathered edge yellow.",
        "JSON: the estimated shift (in original pixels) and scale, the global colour shift removed, regions found.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "original": ("IMAGE", {"tooltip": "The full-resolution original (5 000-15 000 px, RGB or RGBA; alpha is kept)."}),
                "edited": ("IMAGE", {"tooltip": "The edit, at any smaller or equal size with about the original's aspect (e.g. after FluxKontextImageScale)."}),
                "threshold": ("FLOAT", {"default": 4.0, "min": 0.5, "max": 50.0, "step": 0.5, "tooltip": (
                    "CIEDE2000 above which a pixel counts as changed, after the edit's global colour shift is removed. "
                    "2 is just noticeable side by side; 3-6 ignores the model re-rendering unchanged texture.")}),
                "registration": (["affine", "translation", "none"], {"default": "affine", "tooltip": (
                    "Undo the small shift the edit model introduced: translation (phase correlation) or affine "
                    "(phase correlation refined by ECC: also scale and rotation). none: trust the edit's framing.")}),
                "blend": (list(BLENDS), {"default": "feather", "tooltip": (
                    "feather: blend with the soft-edged mask. poisson: also carry the remaining difference on each "
                    "region's border smoothly inwards (a Laplace membrane), so the edit meets the original with no step.")}),
                "feather": ("FLOAT", {"default": 24.0, "min": 0.0, "max": 1000.0, "step": 1.0, "tooltip": "Soft edge of the change mask, in original pixels (Gaussian sigma)."}),
                "colour_match": ("BOOLEAN", {"default": True, "tooltip": "Shift each changed region's colour so it matches the original on a ring of unchanged pixels around it."}),
                "dilate": ("INT", {"default": 3, "min": 0, "max": 64, "tooltip": "Grow the detected change by this many edit pixels (catches soft edges of the change)."}),
                "min_area": ("FLOAT", {"default": 0.0005, "min": 0.0, "max": 0.5, "step": 0.0001, "tooltip": "Drop changed specks smaller than this fraction of the image."}),
            },
            "optional": {
                "include_mask": ("MASK", {"tooltip": "Pixels always taken from the edit (any size; resized)."}),
                "protect_mask": ("MASK", {"tooltip": "Pixels never taken from the edit, whatever changed (any size; resized). Wins over include_mask."}),
            },
        }

    def merge(self, original: torch.Tensor, edited: torch.Tensor, threshold: float, registration: str, blend: str,
              feather: float, colour_match: bool, dilate: int, min_area: float, include_mask: Optional[torch.Tensor] = None,
              protect_mask: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, str]:
        original = check_image(original, "original")
        edited = check_image(edited, "edited")
        check_finite(original, "original")
        check_finite(edited, "edited")
        if edited.shape[0] not in (1, original.shape[0]):
            raise ValueError(f"edited has {edited.shape[0]} images for {original.shape[0]} originals; give one edit or one per original")
        opts = DetectOptions(threshold=threshold, dilate=dilate, min_area=min_area)
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
