"""Change detection at the edit's resolution: CIEDE2000 after removing the global colour shift, then clean-up."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..imaging.color import ciede2000, rgb_to_lab


@dataclass(frozen=True)
class DetectOptions:
    """Detection settings, in edit-resolution pixels unless said otherwise.

    ``threshold``: CIEDE2000 above which a pixel changed (about 2 is just
    noticeable side by side; 3-6 ignores the edit model's re-rendering of
    unchanged texture). ``prefilter``: Gaussian sigma before comparing
    (hides resampling noise and grain). ``open_radius`` / ``close_radius``:
    morphology that removes specks and bridges gaps. ``min_area``: smaller
    components are dropped (fraction of the edit's pixels).
    ``dilate``: grow the final mask so soft edges of the change are included.
    """

    threshold: float = 4.0
    prefilter: float = 1.0
    open_radius: int = 2
    close_radius: int = 4
    min_area: float = 0.0005
    fill_holes: bool = True
    dilate: int = 3


def global_shift(lab_orig: np.ndarray, lab_edit: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Median of ``edit - orig`` per Lab channel over valid pixels: the edit model's overall colour/exposure drift."""
    d = (lab_edit - lab_orig)[valid]
    return np.median(d, axis=0) if d.size else np.zeros(3, np.float32)


def _disk(radius: int) -> np.ndarray:
    import cv2

    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """uint8 mask with every enclosed background region filled."""
    import cv2

    h, w = mask.shape
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = mask
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 1)
    holes = flood == 0
    padded[holes] = 1
    return padded[1:-1, 1:-1]


def clean_mask(raw: np.ndarray, opts: DetectOptions):
    """Open, close, drop small components, fill holes, dilate: ``(core, grown)`` uint8 {0, 1} (before / after the dilation)."""
    import cv2

    m = raw.astype(np.uint8)
    if opts.open_radius > 0:
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, _disk(opts.open_radius))
    if opts.close_radius > 0:
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, _disk(opts.close_radius))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    min_px = opts.min_area * m.size
    keep = np.zeros(n, np.uint8)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_px
    m = keep[labels]
    if opts.fill_holes and m.any():
        m = fill_holes(m)
    core = m
    if opts.dilate > 0 and m.any():
        m = cv2.dilate(m, _disk(opts.dilate))
    return core, m


def change_map(orig_small: np.ndarray, aligned_edit: np.ndarray, valid: np.ndarray, opts: DetectOptions):
    """``(delta_e [h, w], shift Lab [3])``: per-pixel CIEDE2000 between the two after the global shift is removed."""
    import cv2

    if opts.prefilter > 0:
        orig_small = cv2.GaussianBlur(orig_small, (0, 0), opts.prefilter)
        aligned_edit = cv2.GaussianBlur(aligned_edit, (0, 0), opts.prefilter)
    lo, le = rgb_to_lab(orig_small[..., :3], dim=-1), rgb_to_lab(aligned_edit[..., :3], dim=-1)
    shift = global_shift(lo, le, valid)
    le -= shift.astype(np.float32)
    de = ciede2000(torch.from_numpy(lo), torch.from_numpy(le), dim=-1).numpy()
    de[~valid] = 0.0
    return de, shift


def detect_changes(orig_small: np.ndarray, aligned_edit: np.ndarray, valid: np.ndarray, opts: DetectOptions,
                   include: np.ndarray = None, protect: np.ndarray = None):
    """``(mask uint8 [h, w], core, delta_e, shift)``: the cleaned change mask at the edit's resolution (and before dilation).

    ``include`` / ``protect`` (bool ``[h, w]``) force pixels into / out of the
    mask after clean-up (protect wins).
    """
    de, shift = change_map(orig_small, aligned_edit, valid, opts)
    core, mask = clean_mask(de > opts.threshold, opts)
    if include is not None:
        mask |= include.astype(np.uint8)
        core |= include.astype(np.uint8)
    if protect is not None:
        mask &= (~protect).astype(np.uint8)
        core &= (~protect).astype(np.uint8)
    return mask, core, de, shift
