"""Edits the way FLUX Kontext makes them, with ground truth: the test material diff-merge is measured on.

``kontext_like_edit(original, case)`` makes one retoucher's change at full
resolution (the *truth*), then renders what an edit model returns for it:

1. geometry of ComfyUI's FluxKontextImageScale: the preferred Kontext
   resolution nearest the original's aspect, the original centre-cropped to
   that aspect (so the edit's aspect differs from the original's by up to a
   few per cent) and shrunk;
2. re-rendering: each channel its own gain (±1.5 %), a mild gamma (±3 %), a
   smooth tone field (±0.4 %), texture re-synthesised (detail contrast
   changed by a smooth ±15 % field), a σ 0.6 px blur, grain, a shift of up
   to 2 px, 8-bit codes.

Cases (``CASES``): ``recolour`` (an object's colour changed), ``add_object``
(a shaded object with a contact shadow pasted in), ``remove_object`` (a
textured patch inpainted away), ``add_text`` (a word written on the photo),
``grey_on_white`` (a light grey object on the lightest smooth area, ΔE00 ≈ 4
from it), ``darken_metal`` (a soft darkening of ΔE00 ≈ 4 on the most
textured area) and ``soft_shadow`` (a shadow whose tail fades out). The
place of each change is chosen from the photo's content. ``changed`` is
where the truth differs from the original by more than ``CHANGED_DELTA_E``;
``visible`` keeps the changed pixels whose change still shows with both
blurred over one edit pixel (not those changed only by full-resolution grain).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np
import torch

from ..imaging.color import ciede2000, rgb_to_lab
from ..imaging.resample import resize_hwc

CASES = ("recolour", "add_object", "remove_object", "add_text", "grey_on_white", "darken_metal", "soft_shadow")
LOW_CONTRAST = ("grey_on_white", "darken_metal", "soft_shadow")
CHANGED_DELTA_E = 1.0  # a pixel of the truth counts as changed above this CIEDE2000 from the original

# ComfyUI's FluxKontextImageScale picks the (width, height) nearest the image's aspect from these (a fact of ComfyUI).
KONTEXT_RESOLUTIONS = ((672, 1568), (688, 1504), (720, 1456), (752, 1392), (800, 1328), (832, 1248), (880, 1184),
                       (944, 1104), (1024, 1024), (1104, 944), (1184, 880), (1248, 832), (1328, 800), (1392, 752),
                       (1456, 720), (1504, 688), (1568, 672))


@dataclass
class RealisticEdit:
    edited: np.ndarray  # [h, w, 3] float32, 8-bit codes / 255: what the edit model returned
    truth: np.ndarray  # [H, W, 3] the change made at full resolution, nothing else changed
    changed: np.ndarray  # bool [H, W]: truth differs from the original by more than CHANGED_DELTA_E
    visible: np.ndarray  # bool [H, W]: changed pixels whose change still shows with both blurred over one edit pixel
    case: str
    box: Tuple[int, int, int, int]  # (y0, y1, x0, x1) in original pixels around the change
    crop: Tuple[int, int, int, int]  # (y0, y1, x0, x1): the part of the original the edit shows
    shift: Tuple[float, float]  # (dx, dy) the edit's content was moved by, in edit pixels


def kontext_size(height: int, width: int) -> Tuple[int, int]:
    """``(h, w)`` FluxKontextImageScale gives an image of this size."""
    aspect = width / height
    _, w, h = min((abs(aspect - w / h), w, h) for w, h in KONTEXT_RESOLUTIONS)
    return h, w


def centre_crop(height: int, width: int, h: int, w: int) -> Tuple[int, int, int, int]:
    """The centre crop of a ``height x width`` image to the aspect ``w / h`` (ComfyUI's ``crop="center"``)."""
    old, new = width / height, w / h
    y = x = 0
    if old > new:
        x = round((width - width * (new / old)) / 2)
    elif old < new:
        y = round((height - height * (old / new)) / 2)
    return y, height - y, x, width - x


def _windows(lab_small: np.ndarray, size: int):
    """Per window of ``size`` px (a grid at the small scale): mean L*, spread of L*."""
    import cv2

    L = lab_small[..., 0]
    mean = cv2.blur(L, (size, size))
    sq = cv2.blur(L * L, (size, size))
    return mean, np.sqrt(np.maximum(sq - mean * mean, 0))


def _pick(score: np.ndarray, size: int, margin: float = 0.15) -> Tuple[int, int]:
    """Centre (y, x) of the best-scoring window, at least ``margin`` of the frame away from its edges."""
    h, w = score.shape
    my, mx = max(int(margin * h), size // 2 + 1), max(int(margin * w), size // 2 + 1)
    inner = np.full_like(score, -np.inf)
    inner[my : h - my, mx : w - mx] = score[my : h - my, mx : w - mx]
    y, x = np.unravel_index(int(np.argmax(inner)), inner.shape)
    return int(y), int(x)


def _ellipse(h: int, w: int, cy: float, cx: float, ry: float, rx: float, soft: float) -> np.ndarray:
    """Coverage of an ellipse in ``[h, w]``, edge softened over ``soft`` px."""
    yy, xx = np.ogrid[:h, :w]
    r = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
    edge = max(soft, 0.5) / min(ry, rx)
    return np.clip((1 - r) / edge + 0.5, 0, 1).astype(np.float32)


def _delta_e(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ciede2000(torch.from_numpy(rgb_to_lab(a, dim=-1)), torch.from_numpy(rgb_to_lab(b, dim=-1)), dim=-1).numpy()


def _scale_for_delta_e(colour: np.ndarray, target: float, darken: bool = True) -> float:
    """The factor ``f`` so that ``colour * f`` is ``target`` CIEDE2000 from ``colour`` (bisection)."""
    lo, hi = 0.5, 1.0
    base = colour[None, None].astype(np.float32)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        d = float(_delta_e(base, np.clip(base * mid, 0, 1))[0, 0])
        if d > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def apply_change(original: np.ndarray, case: str, rng: np.random.Generator):
    """``(truth, box)``: the change ``case`` made on a copy of ``original`` ``[H, W, 3]`` at full resolution."""
    import cv2

    if case not in CASES:
        raise ValueError(f"unknown edit case {case!r}; cases: {', '.join(CASES)}")
    H, W = original.shape[:2]
    step = max(1, int(round(min(H, W) / 400)))
    small = np.ascontiguousarray(original[::step, ::step, :3], dtype=np.float32)
    lab = rgb_to_lab(small, dim=-1)
    size = max(8, int(0.16 * min(small.shape[:2])))
    mean, spread = _windows(lab, size)
    if case == "grey_on_white":
        score = mean - 6 * spread
    elif case == "darken_metal":
        score = spread - 0.5 * np.abs(mean - 55)
    elif case == "soft_shadow":
        score = mean - 3 * spread - 0.3 * np.abs(mean - 75)
    elif case == "remove_object":
        score = spread
    else:
        score = -np.abs(mean - 60) - spread + rng.random(mean.shape) * 2
    cy, cx = _pick(score, size)
    cy, cx = cy * step, cx * step
    r = 0.08 * min(H, W)
    y0, y1 = int(max(0, cy - 1.6 * r)), int(min(H, cy + 1.6 * r))
    x0, x1 = int(max(0, cx - 1.6 * r)), int(min(W, cx + 1.6 * r))
    truth = original[..., :3].copy()
    patch = truth[y0:y1, x0:x1]
    ph, pw = patch.shape[:2]
    py, px = cy - y0, cx - x0
    soft = 1.0 + min(H, W) / 2000
    if case == "recolour":
        a = _ellipse(ph, pw, py, px, 0.9 * r, 1.2 * r, soft)[..., None]
        recoloured = np.clip(patch[..., [2, 0, 1]] * 0.9 + 0.06, 0, 1)
        patch[:] = patch * (1 - a) + recoloured * a
    elif case == "add_object":
        a = _ellipse(ph, pw, py, px, 0.75 * r, 0.75 * r, soft)[..., None]
        yy, xx = np.ogrid[:ph, :pw]
        shade = np.clip(1.15 - 0.6 * ((yy - py + 0.4 * r) ** 2 + (xx - px + 0.4 * r) ** 2) / r ** 2, 0.35, 1.2)
        obj = np.clip(np.array([0.78, 0.55, 0.2], np.float32) * shade[..., None], 0, 1)
        shadow = 1 - 0.35 * _ellipse(ph, pw, py + 0.7 * r, px + 0.15 * r, 0.25 * r, 0.8 * r, 0.2 * r)[..., None]
        patch[:] = (patch * shadow) * (1 - a) + obj * a
    elif case == "remove_object":
        a = _ellipse(ph, pw, py, px, 0.8 * r, 0.8 * r, soft)
        k = max(1, int(round(r / 40)))
        low = np.ascontiguousarray(patch[::k, ::k])
        hole = (cv2.resize(a, (low.shape[1], low.shape[0]), interpolation=cv2.INTER_AREA) > 0.02).astype(np.uint8)
        filled = cv2.inpaint((low * 255).astype(np.uint8), hole, 5, cv2.INPAINT_TELEA).astype(np.float32) / 255
        filled = cv2.resize(filled, (pw, ph), interpolation=cv2.INTER_CUBIC)
        filled += rng.normal(0, 0.01, filled.shape).astype(np.float32)  # the grain a generated fill has
        patch[:] = patch * (1 - a[..., None]) + np.clip(filled, 0, 1) * a[..., None]
    elif case == "add_text":
        canvas = np.zeros((ph, pw), np.uint8)
        text, font = "SALE 30%", cv2.FONT_HERSHEY_DUPLEX
        (tw, th), _ = cv2.getTextSize(text, font, 1.0, 2)
        scale = 2.8 * r / tw
        thick = max(1, int(round(2.2 * scale)))
        cv2.putText(canvas, text, (int(px - 1.4 * r), int(py + 0.5 * th * scale)), font, scale, 255, thick, cv2.LINE_AA)
        canvas = canvas.astype(np.float32) / 255
        ink = np.array([0.85, 0.1, 0.12], np.float32) if patch.mean() > 0.45 else np.array([1.0, 0.95, 0.85], np.float32)
        patch[:] = patch * (1 - canvas[..., None]) + ink * canvas[..., None]
    elif case == "grey_on_white":
        a = _ellipse(ph, pw, py, px, 0.6 * r, 0.9 * r, soft)[..., None]
        background = patch.reshape(-1, 3).mean(0)
        f = _scale_for_delta_e(background, 4.0)
        yy = np.arange(ph, dtype=np.float32)[:, None, None]
        shading = 1 + 0.01 * (yy - py) / r  # a faint top-to-bottom shading, as a real object has
        patch[:] = patch * (1 - a) + np.clip(patch * f * shading, 0, 1) * a
    elif case == "darken_metal":
        a = _ellipse(ph, pw, py, px, 0.8 * r, 1.1 * r, 0.15 * r)[..., None]
        f = _scale_for_delta_e(patch.reshape(-1, 3).mean(0), 4.0)
        patch[:] = patch * (1 - a * (1 - f))
    elif case == "soft_shadow":
        yy, xx = np.ogrid[:ph, :pw]
        g = np.exp(-0.5 * (((yy - py) / (0.35 * r)) ** 2 + ((xx - px) / (0.6 * r)) ** 2)).astype(np.float32)[..., None]
        patch[:] = patch * (1 - 0.3 * g)
    return truth, (y0, y1, x0, x1)


def _smooth_field(h: int, w: int, amplitude: float, rng: np.random.Generator, cells: int = 4, channels: int = 1) -> np.ndarray:
    import cv2

    coarse = rng.uniform(-amplitude, amplitude, (cells, cells, channels)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    return field.reshape(h, w, channels)


def render_like_kontext(truth: np.ndarray, rng: np.random.Generator):
    """``(edited, crop, shift)``: ``truth`` as an edit model returns it (see the module docstring, step 1 and 2)."""
    import cv2

    H, W = truth.shape[:2]
    h, w = kontext_size(H, W)
    crop = centre_crop(H, W, h, w)
    y0, y1, x0, x1 = crop
    x = resize_hwc(np.ascontiguousarray(truth[y0:y1, x0:x1, :3]), h, w, "area")
    detail = x - cv2.GaussianBlur(x, (0, 0), 1.5)
    x += detail * _smooth_field(h, w, 0.15, rng, 6)  # the texture is drawn again, not copied
    gamma = 1 + rng.uniform(-0.03, 0.03)
    gains = 1 + rng.uniform(-0.015, 0.015, 3).astype(np.float32)
    x = np.clip(x, 0, 1) ** gamma * gains * (1 + _smooth_field(h, w, 0.004, rng, 4, 3))
    shift = (float(rng.uniform(-2, 2)), float(rng.uniform(-2, 2)))
    m = np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]]])
    x = cv2.warpAffine(x.astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    x = cv2.GaussianBlur(x, (0, 0), 0.6)
    grain = rng.normal(0, 0.004, (h, w, 1)) + rng.normal(0, 0.002, (h, w, 3))
    x = np.round(np.clip(x + grain.astype(np.float32), 0, 1) * 255) / 255
    return x.astype(np.float32), crop, shift


def kontext_like_edit(original: np.ndarray, case: str, seed: int = 0) -> RealisticEdit:
    """One realistic edit of ``original`` (float32 ``[H, W, 3 or 4]`` in 0..1) with its ground truth."""
    import cv2

    rng = np.random.default_rng(seed)
    truth, box = apply_change(original, case, rng)
    y0, y1, x0, x1 = box
    changed = np.zeros(original.shape[:2], bool)
    before = np.ascontiguousarray(original[y0:y1, x0:x1, :3])
    changed[y0:y1, x0:x1] = _delta_e(before, truth[y0:y1, x0:x1]) > CHANGED_DELTA_E
    edited, crop, shift = render_like_kontext(truth, rng)
    visible = np.zeros_like(changed)
    sigma = original.shape[0] / edited.shape[0]  # one edit pixel, in original pixels
    visible[y0:y1, x0:x1] = _delta_e(cv2.GaussianBlur(before, (0, 0), sigma),
                                     cv2.GaussianBlur(np.ascontiguousarray(truth[y0:y1, x0:x1]), (0, 0), sigma)) > CHANGED_DELTA_E
    visible &= changed
    return RealisticEdit(edited, truth, changed, visible, case, box, crop, shift)


def score_merge(original: np.ndarray, merged: np.ndarray, alpha: np.ndarray, edit: RealisticEdit, margin: float) -> dict:
    """How well a diff-merge result matches the truth of ``edit``.

    ``alpha`` ``[H, W]`` is what the merge took from the edit; a pixel counts
    as detected at alpha >= 0.5. ``margin`` (original px): pixels farther
    than this from every truly changed pixel are *far*; none of them should
    be touched. Returns IoU and the missed share of the true change, the
    share of the image that is touched though far (false positives), the
    share of far pixels bit-identical to the original, and the mean CIEDE2000
    of the result against the truth inside the change. ``iou_visible``: the
    IoU against ``edit.visible`` instead, pixels changed only by
    full-resolution grain (which no edit of that size can carry) left out of
    it either way, taken or not; ``iou_of_visible``: the IoU a merge that
    took exactly the visible change would score (what the edit shows of the
    change, against all of it).
    """
    import cv2

    changed = edit.changed
    detected = alpha >= 0.5
    inter = np.count_nonzero(detected & changed)
    union = np.count_nonzero(detected | changed)
    true = max(1, np.count_nonzero(changed))
    k = max(1, int(margin // 8))  # the distance on a coarser grid: ample for a margin of many pixels
    coarse = cv2.resize(changed.astype(np.uint8), (changed.shape[1] // k, changed.shape[0] // k), interpolation=cv2.INTER_AREA) > 0
    dist = cv2.distanceTransform((~coarse).astype(np.uint8), cv2.DIST_L2, 5) * k
    far = cv2.resize((dist > margin).astype(np.uint8), (changed.shape[1], changed.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    far &= ~changed
    touched_far = np.count_nonzero((alpha > 0) & far)
    same = np.all(merged[..., :3] == original[..., :3], axis=-1)
    ys, xs = np.nonzero(changed)
    pick = slice(None, None, max(1, len(ys) // 200000))
    de = _delta_e(merged[ys[pick], xs[pick], :3][None], edit.truth[ys[pick], xs[pick]][None]) if len(ys) else np.zeros(1)
    visible = edit.visible
    return {
        "iou": inter / max(1, union),
        "iou_visible": np.count_nonzero(detected & visible) / max(1, np.count_nonzero((detected | visible) & ~(changed & ~visible))),
        "iou_of_visible": np.count_nonzero(visible) / true,
        "missed": np.count_nonzero(changed & ~detected) / true,
        "false_positive": touched_far / changed.size,
        "far_identical": np.count_nonzero(same & far) / max(1, np.count_nonzero(far)),
        "delta_e_truth": float(de.mean()),
        "changed_fraction": true / changed.size,
    }
