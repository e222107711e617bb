"""Multi-band (Burt-Adelson) blending restricted to seam bands.

Inside each seam band the difference ``D = second - first`` is split into
band-pass layers with a Gaussian pyramid expanded back to full resolution,
``D = sum_l (E_l - E_(l+1)) + E_n`` (``E_0 = D``; the sum telescopes, so it is
exact whatever the filters are). Layer ``l`` is switched from the first
piece to the second over a ramp ``2^(l+2)`` px wide, the residual over the
whole band: fine detail changes sides abruptly (no ghosting), smooth level
differences are spread wide (no step).

    joined = first + sum_l m_l * (E_l - E_(l+1)) + m_n * E_n

Every ramp is clamped to lie inside the band, so the band's first column is
exactly the first piece and its last column the second piece (to one
rounding): bands meet the copied regions without a seam of their own, and
identical pieces come back unchanged. The pyramid is decimated, which keeps
the cost at a few passes over the bands; nothing is quantised (float
throughout, any channel count).
"""

from __future__ import annotations

import math
from typing import Optional

import torch

from ..tiling.layout import IMAGE, Layout
from ..tiling.plan import TilePlan
from .bands import Progress, assemble_with_bands
from .filters import gaussian_pyramid, upsample_to


def auto_levels(band_width: int) -> int:
    """Band-pass levels whose ramps (4, 8, 16 ... px) fit strictly inside the band."""
    if band_width <= 5:
        return 0
    return max(0, int(math.floor(math.log2(band_width - 1))) - 2)


def _ramp_masks(cut: torch.Tensor, width: int, levels: int, dtype) -> list:
    """``levels + 1`` masks ``[1, 1, L or 1, Wb]``: weight of the second piece per level."""
    if bool((cut == cut[0]).all()):
        cut = cut[:1]
    c = cut.to(dtype).view(1, 1, -1, 1)
    x = torch.arange(width, dtype=dtype, device=cut.device).view(1, 1, 1, -1) + 0.5
    # widest ramp that is exactly 0 in column 0 and exactly 1 in column width - 1
    room = torch.clamp(2 * torch.minimum(c, width - c) - 1, min=1e-6)
    masks = []
    for level in range(levels + 1):
        r = room if level == levels else torch.clamp(room, max=float(2 ** (level + 2)))
        masks.append(torch.clamp(0.5 + (x - c) / r, 0.0, 1.0))
    return masks


def multiband_fix(levels: Optional[int] = None):
    """A ``BandFix`` doing Laplacian-pyramid blending; ``levels=None`` picks them from the band width."""

    def fix(first: torch.Tensor, second: torch.Tensor, cut: torch.Tensor) -> torch.Tensor:
        n_, c_, length, width = first.shape
        n = auto_levels(width) if levels is None else max(0, int(levels))
        diff = second - first
        pyr = gaussian_pyramid(diff, n)
        n = len(pyr) - 1
        masks = _ramp_masks(cut, width, n, first.dtype)
        out = first.clone()
        out.addcmul_(masks[0], diff)
        for level in range(1, n + 1):
            expanded = upsample_to(pyr[level], length, width)
            out.addcmul_(masks[level] - masks[level - 1], expanded)
        return out

    return fix


def blend_multiband(
    tiles: torch.Tensor,
    plan: TilePlan,
    *,
    levels: Optional[int] = None,
    layout: Layout = IMAGE,
    progress: Progress = None,
    **_,
) -> torch.Tensor:
    """Join tiles with multi-band blending in the seam bands (each band = the overlap around its centre).

    Args:
        tiles: ``[plan.batch * plan.count, ...]`` in ``layout``, float.
        levels: band-pass levels (``None``: as many as the overlap holds).

    Returns:
        ``[plan.batch, ...]`` images.
    """
    return assemble_with_bands(tiles, plan, multiband_fix(levels), layout=layout, progress=progress)
