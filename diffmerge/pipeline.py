"""The diff-merge pipeline: register, detect, composite (see the package docstring)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

import numpy as np

from ..imaging.resample import resize_hwc
from .composite import as3x3, blend_into, full_to_small, membrane, region_boxes, ring_offset, scale_box, warp_region
from .detect import DetectOptions, detect_changes
from .register import Alignment, register

BLENDS = ("feather", "poisson")


@dataclass
class DiffMergeResult:
    """``image`` ``[H, W, C]`` (the original object itself when nothing changed), ``mask`` float32 ``[H, W]``
    (the feathered alpha that was applied), ``overlay`` ``[h, w, 3]`` at the edit's size, ``info`` (JSON-ready)."""

    image: np.ndarray
    mask: np.ndarray
    overlay: np.ndarray
    info: dict = field(default_factory=dict)
    detected: np.ndarray = None  # uint8 [h, w]: the changed pixels found at the edit's size, before dilation and feathering

    def detected_full(self) -> np.ndarray:
        """``detected`` at the original's size (bool, bilinear > 0.5)."""
        import cv2

        H, W = self.mask.shape
        return cv2.resize(self.detected.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR) > 0.5


def _check(original: np.ndarray, edited: np.ndarray, aspect_tolerance: float) -> None:
    for name, a in (("original", original), ("edited", edited)):
        if a.ndim != 3 or a.shape[-1] not in (3, 4):
            raise ValueError(f"{name} must be an RGB or RGBA image [height, width, 3 or 4], got {tuple(a.shape)}")
        if min(a.shape[:2]) < 8:
            raise ValueError(f"{name} is {a.shape[1]} x {a.shape[0]} px; diff-merge needs at least 8 px a side")
    H, W = original.shape[:2]
    h, w = edited.shape[:2]
    if h > H or w > W:
        raise ValueError(f"edited ({w} x {h}) is larger than the original ({W} x {H}); give the edit at its own (smaller or equal) size")
    ratio = abs(math.log((w / h) / (W / H)))
    if ratio > aspect_tolerance:
        raise ValueError(
            f"edited aspect {w / h:.3f} ({w} x {h}) differs from the original's {W / H:.3f} ({W} x {H}) by {100 * (math.exp(ratio) - 1):.1f} %, "
            f"more than aspect_tolerance ({100 * aspect_tolerance:.1f} %): was the edit cropped or padded?"
        )


def _overlay(orig_small: np.ndarray, mask: np.ndarray, alpha_small: np.ndarray) -> np.ndarray:
    """The shrunk original, changed pixels tinted red, the feathered edge in yellow."""
    base = 0.35 + 0.5 * orig_small[..., :3].mean(-1, keepdims=True)
    out = np.repeat(base, 3, axis=-1).astype(np.float32)
    edge = (alpha_small > 0) & (mask == 0)
    out[mask > 0] = 0.5 * out[mask > 0] + 0.5 * np.array([1.0, 0.1, 0.1], np.float32)
    out[edge] = 0.6 * out[edge] + 0.4 * np.array([1.0, 0.9, 0.1], np.float32)
    return out


@dataclass
class EditFrame:
    """Original and edit at the edit's resolution, registered: what detection and compositing compare.

    ``orig_small`` is the original area-shrunk to the edit's size, ``edit_rgb``
    the edit's colour, ``aligned`` the edit warped onto ``orig_small``,
    ``valid`` where that warp had data; ``sy, sx`` edit px per original px.
    """

    orig_small: np.ndarray
    edit_rgb: np.ndarray
    aligned: np.ndarray
    valid: np.ndarray
    alignment: Alignment
    sy: float
    sx: float


def register_edit(original: np.ndarray, edited: np.ndarray, registration: str) -> EditFrame:
    """Step 1: shrink the original to the edit's frame and undo the edit model's shift / scale."""
    import cv2

    H, W = original.shape[:2]
    h, w = edited.shape[:2]
    orig_small = resize_hwc(original[..., :3], h, w, "area")
    edit_rgb = np.ascontiguousarray(edited[..., :3], dtype=np.float32)
    align = register(orig_small, edit_rgb, registration)
    aligned = cv2.warpAffine(edit_rgb, align.matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    valid = cv2.warpAffine(np.ones((h, w), np.float32), align.matrix, (w, h), flags=cv2.INTER_LINEAR) > 0.999
    return EditFrame(orig_small, edit_rgb, aligned, valid, align, h / H, w / W)


def feathered_alpha(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Step 3: the change mask (uint8, edit size) -> alpha in [0, 1]: 1 inside, a Gaussian fall-off of ``sigma`` edit px outside."""
    import cv2

    alpha = mask.astype(np.float32)
    if sigma > 0.3:
        blurred = cv2.GaussianBlur(alpha, (0, 0), sigma)
        alpha = np.maximum(alpha, np.clip(2.0 * blurred, 0.0, 1.0))  # full inside the mask, falls off outside
    alpha[alpha < 1.0 / 1024] = 0.0
    return alpha


def composite_regions(original: np.ndarray, frame: EditFrame, alpha_small: np.ndarray, *, blend: str, colour_match: bool,
                      ring: int, progress: Optional[Callable[[int, int], None]] = None) -> Tuple[np.ndarray, np.ndarray, int, int]:
    """Step 4: per changed region, the edit at full resolution blended into a copy of the original.

    Returns ``(image, alpha at full size, changed pixels, regions)``; pixels
    whose alpha is 0 are never written.
    """
    import cv2

    H, W = original.shape[:2]
    sy, sx = frame.sy, frame.sx
    support = (alpha_small > 0).astype(np.uint8)
    to_edit_frame = np.linalg.inv(as3x3(frame.alignment.matrix))  # original-at-edit-size frame -> edit pixels
    out = original.copy()
    alpha_full = np.zeros((H, W), np.float32)
    regions = region_boxes(support, pad=2 + int(math.ceil(sx)))
    changed = 0
    for i, (box, component) in enumerate(regions):
        fy0, fy1, fx0, fx1 = scale_box(box, sy, sx, H, W)
        rh, rw = fy1 - fy0, fx1 - fx0
        f2s = full_to_small(sy, sx, fy0, fx0)
        comp_alpha = np.where(component, alpha_small, 0.0).astype(np.float32)
        a = warp_region(comp_alpha, f2s, rh, rw, cv2.INTER_LINEAR)
        a[a < 1.0 / 1024] = 0.0
        patch = warp_region(frame.edit_rgb, to_edit_frame @ f2s, rh, rw, cv2.INTER_LANCZOS4)
        offset = (ring_offset(frame.orig_small, frame.aligned, component, support, frame.valid, ring) if colour_match
                  else np.zeros(3, np.float32))
        patch += offset
        if blend == "poisson":  # a membrane carries the remaining difference on the box's edge smoothly inwards
            y0, y1, x0, x1 = box
            diff = frame.orig_small[y0:y1, x0:x1] - (frame.aligned[y0:y1, x0:x1] + offset)
            patch += warp_region(membrane(diff), _box_frame(f2s, y0, x0), rh, rw, cv2.INTER_LINEAR)
        blend_into(out, (fy0, fy1, fx0, fx1), patch, a)
        alpha_full[fy0:fy1, fx0:fx1] = np.maximum(alpha_full[fy0:fy1, fx0:fx1], a)
        changed += int((a > 0).sum())
        if progress is not None:
            progress(i + 1, len(regions))
    return out, alpha_full, changed, len(regions)


def _report(original: np.ndarray, edited: np.ndarray, frame: EditFrame, shift: np.ndarray, detect: DetectOptions) -> dict:
    """The JSON-ready facts every result reports: sizes, registration, the global colour shift, the threshold."""
    H, W = original.shape[:2]
    h, w = edited.shape[:2]
    align = frame.alignment
    notes: List[str] = []
    if original.shape[-1] == 4:
        notes.append("original alpha kept as it is")
    if edited.shape[-1] == 4:
        notes.append("edited alpha ignored (colour only)")
    return {
        "original": [W, H], "edited": [w, h],
        "registration": align.method, "shift_px": [round(align.shift[0] / frame.sx, 2), round(align.shift[1] / frame.sy, 2)],
        "shift_edit_px": [round(align.shift[0], 3), round(align.shift[1], 3)], "scale": round(align.scale, 5),
        "global_shift_lab": [round(float(v), 3) for v in shift], "threshold": detect.threshold, "alpha_notes": notes,
    }


def diff_merge(
    original: np.ndarray,
    edited: np.ndarray,
    *,
    registration: str = "affine",
    detect: DetectOptions = DetectOptions(),
    feather: float = 24.0,
    blend: str = "feather",
    colour_match: bool = True,
    ring: int = 6,
    include: Optional[np.ndarray] = None,
    protect: Optional[np.ndarray] = None,
    aspect_tolerance: float = 0.05,
    progress: Optional[Callable[[int, int], None]] = None,
) -> DiffMergeResult:
    """Merge what changed between ``original`` ``[H, W, C]`` and ``edited`` ``[h, w, C']`` into the original.

    Float32 in [0, 1] (other float values pass through untouched). ``feather``
    is the soft edge in full-resolution pixels (Gaussian sigma);
    ``include`` / ``protect`` are bool masks at the edit's size. Pixels with
    alpha 0 are not written: they are bit-identical to ``original``.
    Steps: ``register_edit`` -> ``detect_changes`` -> ``feathered_alpha`` -> ``composite_regions``.
    """
    if blend not in BLENDS:
        raise ValueError(f"blend must be one of {BLENDS}, got {blend!r}")
    _check(original, edited, aspect_tolerance)
    H, W = original.shape[:2]
    frame = register_edit(original, edited, registration)
    mask, core, delta_e, shift = detect_changes(frame.orig_small, frame.aligned, frame.valid, detect, include, protect)
    info = _report(original, edited, frame, shift, detect)
    if not mask.any():
        info.update(regions=0, changed_fraction=0.0, message="no change found above the threshold: the original is returned unchanged")
        return DiffMergeResult(original, np.zeros((H, W), np.float32), _overlay(frame.orig_small, mask, mask), info, core)
    alpha_small = feathered_alpha(mask, feather * frame.sx)
    out, alpha_full, changed, regions = composite_regions(original, frame, alpha_small, blend=blend, colour_match=colour_match,
                                                          ring=ring, progress=progress)
    info.update(regions=regions, changed_fraction=round(changed / (H * W), 6), max_delta_e=round(float(delta_e.max()), 2),
                message=f"{regions} changed region(s), {100 * changed / (H * W):.2f} % of the pixels")
    return DiffMergeResult(out, alpha_full, _overlay(frame.orig_small, mask, alpha_small), info, core)


def _box_frame(f2s: np.ndarray, y0: int, x0: int) -> np.ndarray:
    """``f2s`` (full region -> edit-size frame) re-based on an edit-size box's corner."""
    shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    return shift @ f2s
