"""Refine a low-resolution segmentation with tiled high-resolution segmentations.

A segmentation model run on the whole photo downscaled to ~1 MP finds the
objects but draws their outlines in blocks of ``scale`` px; run on full-
resolution tiles it draws sharp outlines but loses context (a tile cut
through an object, or showing only background, can be wrong far from any
outline). The merge keeps what each does well:

* the tile masks are joined with the plan's partition-of-unity weights
  (``tiling.compose``), so tile edges do not show;
* the coarse mask is trusted where it is certain: away from its outlines
  (``low < coarse < high`` or an outline within ``band`` px);
* inside that band the refined mask is taken, with a soft transition
  (a box-filtered band, so the switch itself makes no edge).

``out = lerp(coarse_up, refined, w_band)``, computed in row strips: besides
the result only strip-sized temporaries exist (a 15 000 px mask is 0.9 GB).
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch

from ..tiling import MASK, TilePlan, compose
from ..imaging.resample import bilinear_rows

STRIP_ROWS = 1024


def uncertainty_band(coarse: torch.Tensor, band_low_px: float, low: float = 0.05, high: float = 0.95) -> torch.Tensor:
    """Where the coarse mask ``[B, h, w]`` is not trusted, as soft weights in [0, 1] at its own size.

    Uncertain: values strictly between ``low`` and ``high``, or pixels next to
    a 0.5 crossing; grown by ``band_low_px`` (low-res px) and softened by a box
    filter of the same radius, then clamped so the grown core stays at 1.
    """
    import cv2

    out = []
    r = max(1, int(math.ceil(band_low_px)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    for m in coarse.detach().float().cpu().numpy():
        inside = (m >= 0.5).astype(np.uint8)
        edge = cv2.dilate(inside, np.ones((3, 3), np.uint8)) != cv2.erode(inside, np.ones((3, 3), np.uint8))
        unsure = (edge | ((m > low) & (m < high))).astype(np.uint8)
        grown = cv2.dilate(unsure, kernel).astype(np.float32)
        soft = cv2.blur(grown, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REPLICATE)
        out.append(np.clip(np.maximum(soft * 2.0 - 1.0, unsure.astype(np.float32)), 0.0, 1.0))
        # soft * 2 - 1: 1 on the grown core's inner half, 0 outside it, a ramp between
    return torch.from_numpy(np.stack(out))


def refine_mask(
    coarse: torch.Tensor,
    mask_tiles: torch.Tensor,
    plan: TilePlan,
    *,
    band: int = 32,
    low: float = 0.05,
    high: float = 0.95,
    window: str = "cosine",
    out: Optional[torch.Tensor] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> torch.Tensor:
    """Full-resolution mask from a coarse mask and per-tile refined masks.

    Args:
        coarse: MASK ``[B, h, w]`` in [0, 1], any size (the image's aspect).
        mask_tiles: MASK ``[B * plan.count, th, tw]`` from a per-tile segmentation
            of the plan's tiles (tiles may be resized by a constant factor).
        plan: the plan that cut the tiles.
        band: half width in full-resolution px of the zone around the coarse
            outlines where the refined mask is used (at least the coarse
            mask's block size: its outlines can be off by that much).
        low, high: coarse values in between count as uncertain.
        progress: ``progress(done, total)`` after each row of tiles merged, then each strip of rows.

    Returns:
        MASK ``[B, H, W]`` float32 at the merged tiles' size.
    """
    if coarse.ndim != 3 or mask_tiles.ndim != 3:
        raise ValueError(f"coarse and mask_tiles must be MASKs [B, H, W], got {tuple(coarse.shape)} and {tuple(mask_tiles.shape)}")
    if coarse.shape[0] not in (1, plan.batch):
        raise ValueError(f"coarse has {coarse.shape[0]} masks for a plan of {plan.batch} images")
    if band < 0:
        raise ValueError(f"band must be >= 0, got {band}")
    refined = compose(mask_tiles.float().contiguous(), plan, window, layout=MASK, out=out, progress=progress)
    _, height, width = refined.shape
    ch, cw = coarse.shape[-2:]
    if abs(math.log((height / ch) / (width / cw))) > 0.02:
        raise ValueError(f"coarse mask is {cw} x {ch} px, not the aspect of the {width} x {height} px image")
    weights = uncertainty_band(coarse, band * ch / height, low, high)
    strips = refined.shape[0] * -(-height // STRIP_ROWS)
    for b in range(refined.shape[0]):
        c_b, w_b = coarse[min(b, coarse.shape[0] - 1)].unsqueeze(0), weights[min(b, weights.shape[0] - 1)].unsqueeze(0)
        for y0 in range(0, height, STRIP_ROWS):
            y1 = min(height, y0 + STRIP_ROWS)
            coarse_rows = bilinear_rows(c_b, height, width, y0, y1)[0]
            trust_refined = bilinear_rows(w_b, height, width, y0, y1)[0]
            strip = refined[b, y0:y1]
            torch.lerp(coarse_rows, strip, trust_refined, out=strip)
            if progress is not None:
                progress(b * -(-height // STRIP_ROWS) + y0 // STRIP_ROWS + 1, strips)
    return refined.clamp_(0.0, 1.0)
