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

import torch

from ..imaging.color import lab_to_rgb, rgb_to_lab

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


def solarize(image: torch.Tensor, shape: str = "sine", cycles: int = 8, keep_colour: bool = False, rows_per_chunk: int = 512):
    """Solar-curve preview of ``image`` ``[B, H, W, C]`` (RGB(A) in [0, 1]).

    Returns ``(preview [B, H, W, C], curve [B, H, W])``: the preview is the
    curve applied to L* (grey, or with the original a*, b* when
    ``keep_colour``; alpha and extra channels copied), ``curve`` the curved
    lightness in [0, 1], a mask-like channel for segmentation models. Works
    in row chunks, so the only full-size buffers are the two outputs.
    """
    if image.ndim != 4 or image.shape[-1] not in (1, 3, 4) and image.shape[-1] < 3:
        raise ValueError(f"image must be [B, H, W, C] with 1, 3 or more channels, got {tuple(image.shape)}")
    b, h, w, c = image.shape
    preview = torch.empty_like(image, dtype=torch.float32)
    curve = torch.empty((b, h, w), dtype=torch.float32, device=image.device)
    for y0 in range(0, h, rows_per_chunk):
        part = image[:, y0 : y0 + rows_per_chunk].float()
        rgb = part[..., :3] if c >= 3 else part[..., :1].expand(-1, -1, -1, 3)
        lab = rgb_to_lab(rgb.permute(0, 3, 1, 2))
        y = solar_curve(lab[:, 0] / 100.0, shape, cycles)
        curve[:, y0 : y0 + rows_per_chunk] = y
        lab[:, 0] = 100.0 * y
        if not keep_colour:
            lab[:, 1:] = 0.0
        out = lab_to_rgb(lab).clamp_(0.0, 1.0).permute(0, 2, 3, 1)
        if c >= 3:
            preview[:, y0 : y0 + rows_per_chunk, :, :3] = out
            preview[:, y0 : y0 + rows_per_chunk, :, 3:] = part[..., 3:]
        else:
            preview[:, y0 : y0 + rows_per_chunk, :, 0] = out[..., 0]
    return preview, curve
