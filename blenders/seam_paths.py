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

from typing import List, Optional

import numpy as np
import torch

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
    """Column per row ``[L]`` of the cheapest top-to-bottom 8-connected path within columns ``[lo, hi)``."""
    length, width = cost.shape
    c = np.full_like(cost, np.inf, dtype=np.float64)
    c[:, lo:hi] = cost[:, lo:hi]
    acc = c[0].copy()
    back = np.zeros((length, width), dtype=np.int8)
    for y in range(1, length):
        left = np.concatenate(([np.inf], acc[:-1]))
        right = np.concatenate((acc[1:], [np.inf]))
        stack = np.stack([left, acc, right])
        choice = np.argmin(stack, axis=0)
        back[y] = choice.astype(np.int8) - 1
        acc = stack[choice, np.arange(width)] + c[y]
    path = np.empty(length, dtype=np.int64)
    path[-1] = int(np.argmin(acc))
    for y in range(length - 1, 0, -1):
        path[y - 1] = path[y] + back[y, path[y]]
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
