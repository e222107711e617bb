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
from ..tiling.stack import Tiles
from .bands import Progress, SeamCutter, assemble_with_bands, straight_cut
from ..imaging.filters import gaussian_pyramid
from ..imaging.resample import resize_planar


def auto_levels(band_width: int) -> int:
    """Band-pass levels whose ramps (4, 8, 16 ... px) fit strictly inside the band."""
    if band_width <= 5:
        return 0
    return max(0, int(math.floor(math.log2(band_width - 1))) - 2)


def _ramp_widths(cut: torch.Tensor, width: int, levels: int, dtype) -> list:
    """Ramp width per level ``[1, 1, L or 1, 1]``: ``2^(l+2)`` px, the residual as wide as the band allows.

    A ramp centred on the cut is exactly 0 in column 0 and exactly 1 in
    column ``width - 1`` when it is at most ``2 * min(cut, width - cut) - 1`` wide.
    """
    c = cut.to(dtype).view(1, 1, -1, 1)
    room = torch.clamp(2 * torch.minimum(c, width - c) - 1, min=1e-6)
    return [room if level == levels else torch.clamp(room, max=float(2 ** (level + 2))) for level in range(levels + 1)]


def _ramp(cut: torch.Tensor, ramp: torch.Tensor, lo: int, hi: int, dtype) -> torch.Tensor:
    """Weight of the second piece in columns ``[lo, hi)``: ``clamp(1/2 + (x + 1/2 - cut) / ramp, 0, 1)``."""
    x = torch.arange(lo, hi, dtype=dtype, device=cut.device).view(1, 1, 1, -1) + 0.5
    return torch.clamp(0.5 + (x - cut.to(dtype).view(1, 1, -1, 1)) / ramp, 0.0, 1.0)


def _expand_columns(level: torch.Tensor, length: int, width: int, lo: int, hi: int) -> torch.Tensor:
    """Columns ``[lo, hi)`` of ``level`` resized bilinearly to ``length x width`` (as ``F.interpolate`` would)."""
    if (lo, hi) == (0, width):
        return resize_planar(level, length, width)
    rows = resize_planar(level, length, level.shape[-1])  # along the seam only
    w_in = level.shape[-1]
    u = ((torch.arange(lo, hi, dtype=torch.float64) + 0.5) * (w_in / width) - 0.5).clamp(min=0.0)
    u0 = u.floor().long().clamp(max=w_in - 1)
    u1 = (u0 + 1).clamp(max=w_in - 1)
    frac = u - u0.double()
    interp = torch.zeros(w_in, hi - lo, dtype=torch.float64)  # two taps per output column
    cols = torch.arange(hi - lo)
    interp.index_put_((u0, cols), 1.0 - frac, accumulate=True)
    interp.index_put_((u1, cols), frac, accumulate=True)
    return rows @ interp.to(level.dtype).to(level.device)


def multiband_fix(levels: Optional[int] = None):
    """A ``BandFix`` doing Laplacian-pyramid blending; ``levels=None`` picks them from the band width."""

    def fix(first: torch.Tensor, second: torch.Tensor, cut: torch.Tensor) -> torch.Tensor:
        n_, c_, length, width = first.shape
        n = auto_levels(width) if levels is None else max(0, int(levels))
        diff = second - first
        pyr = gaussian_pyramid(diff, n)
        n = len(pyr) - 1
        dtype = first.dtype
        ramps = _ramp_widths(cut, width, n, dtype)
        out = first.clone()
        # joined = first + sum_l (m_l - m_(l-1)) E_l, with m_-1 = 0 and E_0 = diff. Where two
        # consecutive ramps agree their difference is 0, so level l only touches the columns
        # its ramp covers; the residual (level n) covers the whole band.
        c_lo, c_hi = int(cut.min()), int(cut.max())
        prev = None
        for level in range(n + 1):
            half = 2 ** (level + 1) + 1
            if level == n:
                lo, hi = 0, width
            elif level == 0:  # m_0 itself: 1 all the way to the far edge
                lo, hi = max(0, c_lo - half), width
            else:
                lo, hi = max(0, c_lo - half), min(width, c_hi + half)
            m = _ramp(cut, ramps[level], lo, hi, dtype)
            weight = m if prev is None else m - _ramp(cut, prev, lo, hi, dtype)
            e = diff[..., lo:hi] if level == 0 else _expand_columns(pyr[level], length, width, lo, hi)
            out[..., lo:hi].addcmul_(weight, e)
            prev = ramps[level]
        return out

    return fix


def blend_multiband(
    tiles: Tiles,
    plan: TilePlan,
    *,
    levels: Optional[int] = None,
    half_width: Optional[int] = None,
    cutter: SeamCutter = straight_cut,
    layout: Layout = IMAGE,
    progress: Progress = None,
) -> torch.Tensor:
    """Join tiles with multi-band blending in the seam bands.

    Args:
        tiles: ``[plan.batch * plan.count, ...]`` in ``layout``, float.
        levels: band-pass levels (``None``: as many as the band holds).
        half_width: band half width in the plan's pixels (scaled with the tiles) (``None``: the whole overlap).
        cutter: where the cut runs inside each band (centre line or ``seam_finding.optimal_cutter``).

    Returns:
        ``[plan.batch, ...]`` images.
    """
    return assemble_with_bands(tiles, plan, multiband_fix(levels), layout=layout, cutter=cutter, half_width=half_width, progress=progress)
