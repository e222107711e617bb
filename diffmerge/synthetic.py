"""A synthetic edit with known ground truth, as an edit model would return it (for tests and benchmarks).

``synthetic_edit`` changes two regions of the original at full resolution —
an object pasted in (a disk cut from elsewhere in the picture, mirrored and
tinted) and a recoloured rectangle (channels rotated, lifted) — then shrinks
the result to the edit size, applies a global per-channel colour shift and
moves it by a sub-pixel shift, as edit models do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from ..imaging.resample import resize_hwc


@dataclass
class SyntheticEdit:
    edited: np.ndarray  # [h, w, 3] what the edit model returned
    truth: np.ndarray  # [H, W, 3] the same edit made at full resolution, no shift, no colour drift
    changed: np.ndarray  # bool [H, W] where truth differs from the original by design


def _disk(h: int, w: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.ogrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def synthetic_edit(original: np.ndarray, edit_size: Tuple[int, int], shift: Tuple[float, float] = (1.5, -1.0),
                   gains=(1.015, 1.0, 0.985)) -> SyntheticEdit:
    import cv2

    H, W = original.shape[:2]
    truth = original[..., :3].copy()
    changed = np.zeros((H, W), bool)
    r = 0.09 * min(H, W)
    cy, cx = 0.38 * H, 0.3 * W
    sy, sx = int(0.68 * H - r), int(0.72 * W - r)
    y0, x0 = int(cy - r), int(cx - r)
    n = int(2 * r)
    disk = _disk(n, n, r, r, r)
    donor = original[sy : sy + n, sx : sx + n, :3][:, ::-1] * np.array([1.1, 0.85, 0.7], np.float32)
    region = truth[y0 : y0 + n, x0 : x0 + n]
    region[disk] = np.clip(donor[disk], 0, 1)
    changed[y0 : y0 + n, x0 : x0 + n] |= disk
    ry0, ry1, rx0, rx1 = int(0.12 * H), int(0.3 * H), int(0.58 * W), int(0.82 * W)
    rect = truth[ry0:ry1, rx0:rx1]
    truth[ry0:ry1, rx0:rx1] = np.clip(rect[..., [1, 2, 0]] + 0.08, 0, 1)
    changed[ry0:ry1, rx0:rx1] = True
    h, w = edit_size
    small = resize_hwc(truth, h, w, "area") * np.asarray(gains, np.float32)
    m = np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]]])
    edited = cv2.warpAffine(np.clip(small, 0, 1).astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return SyntheticEdit(edited, truth, changed)
