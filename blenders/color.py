"""Colour spaces and colour differences: the one place for colour conversions.

Images here are planar ``[N, 3, H, W]`` sRGB in [0, 1] (``to_planar`` turns
ComfyUI's ``[B, H, W, C]`` into that). CIELAB is D65, L* in [0, 100], a*, b*
roughly in [-128, 127] (via kornia, which follows the sRGB and CIE formulas).
CIEDE2000 follows Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference
formula: implementation notes, supplementary test data, and mathematical
observations"; it is tested against their published pairs.
"""

from __future__ import annotations

import math

import torch


def to_planar(image: torch.Tensor) -> torch.Tensor:
    """``[B, H, W, C]`` -> ``[B, C, H, W]`` (a view)."""
    return image.permute(0, 3, 1, 2)


def to_channels_last(planar: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W]`` -> ``[B, H, W, C]`` (a view)."""
    return planar.permute(0, 2, 3, 1)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB ``[..., 3, H, W]`` in [0, 1] -> CIELAB (D65). Values outside [0, 1] are clipped first."""
    import kornia.color

    return kornia.color.rgb_to_lab(rgb.clamp(0.0, 1.0))


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """CIELAB (D65) ``[..., 3, H, W]`` -> sRGB in [0, 1] (clipped unless ``clip=False``)."""
    import kornia.color

    return kornia.color.lab_to_rgb(lab, clip=clip)


def luminance(rgb: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """Rec. 709 luma of gamma-encoded RGB along ``dim`` (a cheap stand-in for L* in metrics)."""
    r, g, b = rgb.unbind(dim)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ciede2000(lab1: torch.Tensor, lab2: torch.Tensor, dim: int = -3, kl: float = 1.0, kc: float = 1.0, kh: float = 1.0) -> torch.Tensor:
    """CIEDE2000 colour difference between two CIELAB tensors along channel ``dim``.

    Returns the difference with ``dim`` removed. Computed in float64 for
    stability of the hue terms, returned in the input dtype.
    """
    dtype = lab1.dtype
    L1, a1, b1 = lab1.to(torch.float64).unbind(dim)
    L2, a2, b2 = lab2.to(torch.float64).unbind(dim)
    c1 = torch.sqrt(a1 * a1 + b1 * b1)
    c2 = torch.sqrt(a2 * a2 + b2 * b2)
    c_mean = 0.5 * (c1 + c2)
    c7 = c_mean**7
    g = 0.5 * (1.0 - torch.sqrt(c7 / (c7 + 25.0**7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p = torch.sqrt(a1p * a1p + b1 * b1)
    c2p = torch.sqrt(a2p * a2p + b2 * b2)
    h1p = torch.remainder(torch.atan2(b1, a1p), 2 * math.pi)
    h2p = torch.remainder(torch.atan2(b2, a2p), 2 * math.pi)
    h1p = torch.where(c1p == 0, torch.zeros_like(h1p), h1p)
    h2p = torch.where(c2p == 0, torch.zeros_like(h2p), h2p)

    dLp = L2 - L1
    dCp = c2p - c1p
    dh = h2p - h1p
    dh = torch.where(dh > math.pi, dh - 2 * math.pi, dh)
    dh = torch.where(dh < -math.pi, dh + 2 * math.pi, dh)
    dh = torch.where(c1p * c2p == 0, torch.zeros_like(dh), dh)
    dHp = 2.0 * torch.sqrt(c1p * c2p) * torch.sin(dh / 2.0)

    Lp_mean = 0.5 * (L1 + L2)
    Cp_mean = 0.5 * (c1p + c2p)
    h_sum = h1p + h2p
    h_mean = torch.where(
        torch.abs(h1p - h2p) <= math.pi + 1e-12,  # exactly 180 degrees apart counts as <= (Sharma pair 10)
        0.5 * h_sum,
        torch.where(h_sum < 2 * math.pi, 0.5 * (h_sum + 2 * math.pi), 0.5 * (h_sum - 2 * math.pi)),
    )
    h_mean = torch.where(c1p * c2p == 0, h_sum, h_mean)
    t = (
        1.0
        - 0.17 * torch.cos(h_mean - math.radians(30))
        + 0.24 * torch.cos(2 * h_mean)
        + 0.32 * torch.cos(3 * h_mean + math.radians(6))
        - 0.20 * torch.cos(4 * h_mean - math.radians(63))
    )
    d_theta = math.radians(30) * torch.exp(-(((torch.rad2deg(h_mean) - 275.0) / 25.0) ** 2))
    cp7 = Cp_mean**7
    rc = 2.0 * torch.sqrt(cp7 / (cp7 + 25.0**7))
    sl = 1.0 + 0.015 * (Lp_mean - 50.0) ** 2 / torch.sqrt(20.0 + (Lp_mean - 50.0) ** 2)
    sc = 1.0 + 0.045 * Cp_mean
    sh = 1.0 + 0.015 * Cp_mean * t
    rt = -torch.sin(2.0 * d_theta) * rc
    tl, tc, th = dLp / (kl * sl), dCp / (kc * sc), dHp / (kh * sh)
    return torch.sqrt(tl * tl + tc * tc + th * th + rt * tc * th).to(dtype)
