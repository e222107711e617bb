"""Small separable filters and pyramids on planar ``[N, C, H, W]`` float tensors.

All filters pad by reflection (replicate where a side is too short to
reflect) and keep dtype and device.
"""

from __future__ import annotations

import math
from typing import List

import torch
import torch.nn.functional as F

from .resample import resize_planar

_BINOMIAL5 = (1.0, 4.0, 6.0, 4.0, 1.0)


def _pad(x: torch.Tensor, ph: int, pw: int) -> torch.Tensor:
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if x.shape[-2] > ph and x.shape[-1] > pw else "replicate"
    return F.pad(x, (pw, pw, ph, ph), mode=mode)


def separable_conv(x: torch.Tensor, kernel: torch.Tensor, stride: int = 1) -> torch.Tensor:
    """Convolve every channel of ``x`` ``[N, C, H, W]`` with ``kernel`` (1-D, odd length) along H and W."""
    n, c, h, w = x.shape
    r = kernel.numel() // 2
    k = kernel.to(x.dtype).to(x.device)
    y = _pad(x.reshape(n * c, 1, h, w), r, r)
    y = F.conv2d(y, k.view(1, 1, -1, 1), stride=(stride, 1))
    y = F.conv2d(y, k.view(1, 1, 1, -1), stride=(1, stride))
    return y.view(n, c, y.shape[-2], y.shape[-1])


def binomial_blur(x: torch.Tensor) -> torch.Tensor:
    """5-tap binomial blur ``[1, 4, 6, 4, 1] / 16`` (the Burt-Adelson pyramid kernel)."""
    k = torch.tensor(_BINOMIAL5, dtype=x.dtype) / 16.0
    return separable_conv(x, k)


def _binomial_decimate(p: torch.Tensor, dim: int, n: int) -> torch.Tensor:
    """``[1, 4, 6, 4, 1] / 16`` at every second sample along ``dim`` of a 2-padded tensor (strided slices)."""
    taps = [p.narrow(dim, k, 2 * n - 1)[(slice(None),) * (dim % p.ndim) + (slice(None, None, 2),)] for k in range(5)]
    out = taps[0] + taps[4]
    out.add_(taps[1] + taps[3], alpha=4.0).add_(taps[2], alpha=6.0)
    return out.mul_(1.0 / 16.0)


def pyr_down(x: torch.Tensor) -> torch.Tensor:
    """Blur with the 5-tap binomial and keep every second sample: ``[N,C,H,W] -> [N,C,ceil(H/2),ceil(W/2)]``.

    Written as strided slices rather than a convolution: single-channel
    5-tap kernels are a poor fit for convolution kernels on CPU (about 5x slower).
    """
    h, w = x.shape[-2:]
    y = _binomial_decimate(_pad(x, 0, 2), -1, (w + 1) // 2)
    return _binomial_decimate(_pad(y, 2, 0), -2, (h + 1) // 2)


def gaussian_pyramid(x: torch.Tensor, levels: int) -> List[torch.Tensor]:
    """``[x, down(x), down(down(x)), ...]`` with ``levels + 1`` entries (stops early at 2 px)."""
    pyr = [x]
    for _ in range(levels):
        if min(pyr[-1].shape[-2:]) <= 2:
            break
        pyr.append(pyr_down(pyr[-1]))
    return pyr


def lowpass(planar: torch.Tensor, levels: int) -> torch.Tensor:
    """Binomial pyramid ``levels`` down and bilinearly back up: ``[N, C, H, W]`` -> same size (illumination without detail)."""
    low = gaussian_pyramid(planar, levels)[-1]
    return resize_planar(low, planar.shape[-2], planar.shape[-1])


def gaussian_kernel1d(sigma: float, dtype=torch.float32, truncate: float = 3.0) -> torch.Tensor:
    """Normalised sampled Gaussian of standard deviation ``sigma`` (radius ``ceil(truncate*sigma)``)."""
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be positive, got {sigma}")
    r = max(1, int(math.ceil(truncate * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).to(dtype)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``[N, C, H, W]``."""
    return separable_conv(x, gaussian_kernel1d(sigma, x.dtype))


def add_upsampled_(dst: torch.Tensor, low: torch.Tensor, scale: float = 1.0, chunk_rows: int = 256) -> torch.Tensor:
    """``dst += scale * upsample(low)`` without a full-size temporary.

    ``dst`` is channels-last ``[H, W, C]``; ``low`` is planar ``[C, h, w]``;
    the upsampling is bilinear with pixel centres aligned (as
    ``resize_planar``), done along x once at low
    height and along y in chunks of ``chunk_rows`` output rows.
    """
    height, width = dst.shape[:2]
    c, h, w = low.shape
    wide = resize_planar(low[None].to(dst.dtype), h, width)[0].permute(1, 2, 0)
    wide = wide.contiguous()  # [h, W, C]
    v = ((torch.arange(height, dtype=torch.float64) + 0.5) * (h / height) - 0.5).clamp(min=0.0)
    v0 = v.floor().long().clamp(max=h - 1)
    v1 = (v0 + 1).clamp(max=h - 1)
    frac = (v - v0.double()).to(dst.dtype)
    for r0 in range(0, height, chunk_rows):
        r1 = min(height, r0 + chunk_rows)
        rows = torch.lerp(wide.index_select(0, v0[r0:r1]), wide.index_select(0, v1[r0:r1]), frac[r0:r1].view(-1, 1, 1))
        dst[r0:r1].add_(rows, alpha=scale)
    return dst
