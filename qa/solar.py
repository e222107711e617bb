"""Solar curve: a tone curve that folds the tonal range many times, so tiny steps become visible contours.

Retouchers check gradients with it: a 1/255 step on a smooth sky is invisible,
but after the curve the smooth bands bend into contour lines and a step
breaks them. Applied to CIELAB lightness L* so no false colour appears.

Curves on ``x`` in [0, 1] with ``m = 2 * cycles + 1`` (odd, so 0 -> 0 and
1 -> 1):

* ``sine``: ``y = 1/2 - 1/2 cos(pi m x)``, period ``2 / m``; slope up to
  ``pi m / 2``, so a step of ``d`` becomes up to ``1.57 m d``;
* ``triangle``: ``y = 1 - |(m x mod 2) - 1|``, same period, slope exactly ``m``
  everywhere (constant amplification, sharp folds).
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch

from ..imaging.color import as_rgb, map_lightness

SHAPES = ("sine", "triangle")


def solar_curve(x: torch.Tensor, shape: str = "sine", cycles: int = 8) -> torch.Tensor:
    """The curve on ``x`` in [0, 1] (values outside are clamped); same shape and dtype."""
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    if cycles < 0:
        raise ValueError(f"cycles must be >= 0, got {cycles}")
    m = 2 * int(cycles) + 1
    x = x.clamp(0.0, 1.0)
    if shape == "sine":
        return 0.5 - 0.5 * torch.cos(math.pi * m * x)
    return 1.0 - ((m * x).remainder(2.0) - 1.0).abs()


def solarize(image: torch.Tensor, shape: str = "sine", cycles: int = 8, keep_colour: bool = False, rows_per_chunk: int = 1024,
             progress: Optional[Callable[[int, int], None]] = None):
    """Solar-curve preview of ``image`` ``[B, H, W, C]`` (RGB(A) or grey in [0, 1]).

    Returns ``(preview [B, H, W, C], curve [B, H, W])``: the preview is the
    curve applied to L* (grey, or with the original a*, b* when
    ``keep_colour``; alpha and extra channels copied), ``curve`` the curved
    lightness in [0, 1], a mask-like channel for segmentation models. One
    fused pass per strip of ``rows_per_chunk`` rows (``imaging.color.map_lightness``):
    the only full-size buffers are the two outputs. ``progress(done, total)`` after each strip.
    """
    if image.ndim != 4 or image.shape[-1] == 2:
        raise ValueError(f"image must be [B, H, W, C] with 1, 3 or more channels, got {tuple(image.shape)}")
    b, h, w, c = image.shape
    solar_curve(torch.zeros(1), shape, cycles)  # checks shape and cycles before any work
    preview = torch.empty(image.shape, dtype=torch.float32, device=image.device)
    curve = torch.empty((b, h, w), dtype=torch.float32, device=image.device)
    strips = -(-h // rows_per_chunk)
    for i in range(b):
        for k, y0 in enumerate(range(0, h, rows_per_chunk)):
            part = image[i, y0 : y0 + rows_per_chunk].float()
            out, y = map_lightness(as_rgb(part, dim=-1), lambda x: solar_curve(x, shape, cycles), keep_colour)
            curve[i, y0 : y0 + rows_per_chunk] = y
            if c >= 3:
                preview[i, y0 : y0 + rows_per_chunk, :, :3] = out
                preview[i, y0 : y0 + rows_per_chunk, :, 3:] = part[..., 3:]
            else:
                preview[i, y0 : y0 + rows_per_chunk, :, 0] = out[..., 0]
            if progress is not None:
                progress(i * strips + k + 1, b * strips)
    return preview, curve
