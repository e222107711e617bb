"""Poisson (gradient-domain) seams, solved band by band with fast sine/cosine transforms.

Inside a seam band the two pieces ``A`` (low side) and ``B`` are first
composited with a hard cut: ``C = A`` left of the cut, ``B`` right of it. The
joined band is ``C + c``, where the correction ``c`` makes the gradients of
the result match a guidance field: each piece's own gradients on its side,
and, for the pixel pairs that straddle the cut, the mean of both pieces'
gradients there (both pieces cover the whole band). Writing ``D = B - A`` and
``M`` for "this pixel is on B's side", the guidance differs from ``grad C``
only on straddling pairs ``p -> q``, by ``d = (M_p - M_q) (D_p + D_q) / 2``, so

    laplacian(c) = div(d)     on the band,
    c = 0                     just outside both long edges (Dirichlet: the band
                              meets the copied pixels continuously),
    dc/dn = 0                 at the band's two ends (Neumann: a seam running
                              off a strip's end is not pinned there).

The 5-point Laplacian with these boundaries is diagonalised by a DST-I
across the band and a DCT-II along it, so one solve is two forward
transforms, a division by the eigenvalues and two inverse transforms:
O(n log n), no iterations, no 8-bit round trip, any channel count, float32
or float64. Cuts may wander (optimal seams): ``d`` is taken along x and y.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Optional

import numpy as np
import scipy.fft
import torch

from ..tiling.layout import IMAGE, Layout
from ..tiling.plan import TilePlan
from ..tiling.stack import Tiles
from .bands import Progress, SeamCutter, assemble_with_bands, straight_cut

DEFAULT_HALF_WIDTH = 64


@lru_cache(maxsize=64)
def _eigenvalues(length: int, width: int, dtype: str) -> np.ndarray:
    """Eigenvalues ``[length, width]`` of the band Laplacian (DCT-II along, DST-I across)."""
    j = np.arange(length)
    k = np.arange(1, width + 1)
    along = -4.0 * np.sin(np.pi * j / (2.0 * length)) ** 2
    across = -4.0 * np.sin(np.pi * k / (2.0 * (width + 1))) ** 2
    lam = (along[:, None] + across[None, :]).astype(dtype)
    lam.setflags(write=False)
    return lam


def fast_width(width: int, at_least: int) -> int:
    """The widest ``w <= width`` (and ``>= at_least``) whose DST-I length ``2 (w + 1)`` is FFT-friendly (5-smooth)."""
    for w in range(width, max(at_least, 1) - 1, -1):
        n = 2 * (w + 1)
        if scipy.fft.next_fast_len(n, real=True) == n:
            return w
    return width


def solve_band_poisson(rhs: np.ndarray, workers: int = -1) -> np.ndarray:
    """Solve ``laplacian(c) = rhs`` on ``[..., L, W]``: Dirichlet 0 across (W), Neumann along (L)."""
    length, width = rhs.shape[-2:]
    spec = scipy.fft.dst(rhs, type=1, axis=-1, norm="ortho", workers=workers)
    spec = scipy.fft.dct(spec, type=2, axis=-2, norm="ortho", workers=workers, overwrite_x=True)
    spec /= _eigenvalues(length, width, spec.dtype.name)
    spec = scipy.fft.idct(spec, type=2, axis=-2, norm="ortho", workers=workers, overwrite_x=True)
    return scipy.fft.idst(spec, type=1, axis=-1, norm="ortho", workers=workers, overwrite_x=True)


def seam_divergence(diff: torch.Tensor, side: torch.Tensor) -> torch.Tensor:
    """``div(d)`` for a band: ``diff = B - A`` ``[N, C, L, W]``, ``side`` = 1 on B's side ``[L, W]``."""
    m = side.to(diff.dtype)
    dx = 0.5 * (m[:, :-1] - m[:, 1:]) * (diff[..., :, :-1] + diff[..., :, 1:])  # edge x -> x+1
    dy = 0.5 * (m[:-1, :] - m[1:, :]) * (diff[..., :-1, :] + diff[..., 1:, :])  # edge y -> y+1
    div = torch.zeros_like(diff)
    div[..., :, :-1] += dx
    div[..., :, 1:] -= dx
    div[..., :-1, :] += dy
    div[..., 1:, :] -= dy
    return div


def poisson_fix(first: torch.Tensor, second: torch.Tensor, cut: torch.Tensor) -> torch.Tensor:
    """A ``BandFix``: hard composite at ``cut`` plus the Poisson correction."""
    n, c, length, width = first.shape
    x = torch.arange(width, device=cut.device)
    side = x[None, :] >= cut[:, None]  # [L, W]
    composite = torch.where(side, second, first)
    diff = second - first
    rhs = seam_divergence(diff, side)
    # Solve on the widest FFT-friendly width that keeps every straddling pair inside
    # (up to ~6x faster transforms); the columns beyond keep a zero correction.
    solve = fast_width(width, int(cut.max()) + 2)
    dtype = np.float64 if first.dtype == torch.float64 else np.float32
    corr = solve_band_poisson(rhs[..., :solve].detach().cpu().numpy().astype(dtype, copy=False))
    out = composite
    out[..., :solve] += torch.from_numpy(np.ascontiguousarray(corr)).to(first.device, first.dtype)
    return out


def blend_poisson(
    tiles: Tiles,
    plan: TilePlan,
    *,
    half_width: Optional[int] = DEFAULT_HALF_WIDTH,
    cutter: SeamCutter = straight_cut,
    layout: Layout = IMAGE,
    progress: Progress = None,
) -> torch.Tensor:
    """Join tiles with Poisson seams in bands of ``half_width`` px (capped by the overlap) around each cut.

    Args:
        tiles: ``[plan.batch * plan.count, ...]`` in ``layout``, float.
        half_width: band half width in the plan's pixels (scaled with the tiles) (``None``: as wide as the overlap allows).
        cutter: where the hard cut runs inside each band (centre line or ``seam_finding.optimal_cutter``).

    Returns:
        ``[plan.batch, ...]`` images.
    """
    return assemble_with_bands(tiles, plan, poisson_fix, layout=layout, cutter=cutter, half_width=half_width, progress=progress)
