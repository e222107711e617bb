"""Where the cut runs inside a seam band: a minimum-cost path by dynamic programming.

The cost of cutting at a pixel is how much the two pieces disagree there
(squared colour difference plus squared gradient difference, summed over
batch and channels), so the cut runs where the tiles agree or along edges
both tiles share, where a residual step is least visible. A protect MASK
(jewellery, faces ...) makes its pixels prohibitively expensive, so a cut
never crosses it unless the mask blocks the whole band, and then where it is
thinnest (reported in ``crossings``).

The path moves at most one column per row, stays ``margin`` px away from
the band's edges (blend ramps need room) and is found in O(L * W).
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import numpy as np
import torch

from ..imaging.jit import load_kernels

from .bands import BandSite, SeamCutter

PROTECT_COST = 1e6


def cut_cost(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Disagreement ``[L, W]`` of two band pieces ``[N, C, L, W]``."""
    d = (first - second).float()
    cost = (d * d).sum(dim=(0, 1))
    gx = torch.zeros_like(d)
    gx[..., :, 1:] = d[..., :, 1:] - d[..., :, :-1]
    gy = torch.zeros_like(d)
    gy[..., 1:, :] = d[..., 1:, :] - d[..., :-1, :]
    return cost + (gx * gx + gy * gy).sum(dim=(0, 1))


def min_cost_path(cost: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Column per row ``[L]`` of the cheapest top-to-bottom 8-connected path within columns ``[lo, hi)`` (numba, O(L * W))."""
    kernels = load_kernels(Path(__file__).with_name("seam_path_kernels.py"))
    path = np.empty(cost.shape[0], dtype=np.int64)
    kernels.min_cost_path_kernel(np.ascontiguousarray(cost, dtype=np.float64), int(lo), int(hi), path)
    return path


def optimal_cutter(protect: Optional[torch.Tensor] = None, margin: int = 4) -> SeamCutter:
    """A ``SeamCutter`` following the pieces' agreement, avoiding ``protect`` ``[H, W]`` (output pixels, 1 = protect).

    The returned callable has a ``crossings`` list: one ``(site, pixels)``
    entry per band where the cut had to cross protected pixels.
    """
    protect_np = None if protect is None else protect.detach().float().cpu().numpy()
    crossings: List[tuple] = []

    def cutter(first: torch.Tensor, second: torch.Tensor, site: BandSite) -> torch.Tensor:
        length, width = first.shape[-2:]
        cost = cut_cost(first, second).cpu().numpy().astype(np.float64)
        if protect_np is not None:
            if site.dim == "x":
                m = protect_np[site.along_lo : site.along_hi, site.lo : site.hi]
            else:
                m = protect_np[site.lo : site.hi, site.along_lo : site.along_hi].T
            cost = cost + PROTECT_COST * m
        lo = min(max(1, margin), width // 2)
        hi = max(width - max(1, margin), width // 2 + 1)
        path = min_cost_path(cost, lo, hi)
        if protect_np is not None:
            hits = int((m[np.arange(length), path] > 0.5).sum())
            if hits:
                crossings.append((site, hits))
        return torch.from_numpy(np.clip(path, 1, width - 1)).to(first.device)

    cutter.crossings = crossings
    return cutter
