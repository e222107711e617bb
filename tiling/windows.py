"""Partition-of-unity blend windows along one axis.

A 2-D tile weight is the outer product of a row weight and a column weight.
Each axis' weights are normalised so that, at every pixel, the weights of
the tiles covering it sum to one; the product of two such axes then sums to
one in 2-D too (sum_r sum_c wy_r * wx_c = (sum_r wy_r)(sum_c wx_c) = 1), so no
2-D or channel-wise weight buffer is ever needed.

Window kinds (``WINDOWS``):
  none      hard cut at the centre of each overlap (weights 0 / 1)
  linear    linear ramp across each overlap
  cosine    raised-cosine ramp across each overlap, 1/2 - 1/2 cos(pi t): the two
            ramps of an overlap are exact complements
  gaussian  a Gaussian over the whole tile, centred on it, std ``sigma * tile``
            (Mixture-of-Diffusers style), normalised across tiles
  uniform   every covering tile counts the same: a plain average of overlapping
            predictions (MultiDiffusion); steps at the overlap edges, so meant
            for latent denoising, where they are re-noised and averaged away

Ramps are sampled at pixel centres, so no weight in an overlap is exactly 0
or 1 and every covered pixel has a positive total.

``margin`` (px) gives each tile zero weight within ``margin`` of its interior
edges and ramps across the rest of the overlap: a model whose receptive field
reaches at most ``margin`` px then gives exactly the untiled result (the
pixels a tile computed from zero padding never count). ``2 * margin`` must
not exceed the overlap.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Tuple

import numpy as np

from .axis import AxisGrid

WINDOWS = ("none", "linear", "cosine", "gaussian", "uniform")
DEFAULT_GAUSSIAN_SIGMA = 0.1  # Mixture of Diffusers uses variance 0.01 over the tile, i.e. std 0.1 * tile


def _ramp(n: int, kind: str) -> np.ndarray:
    """Rising weights over ``n`` pixels of overlap, at pixel centres, in (0, 1)."""
    t = (np.arange(n, dtype=np.float64) + 0.5) / n
    if kind == "linear":
        return t
    if kind == "cosine":
        return 0.5 - 0.5 * np.cos(np.pi * t)
    raise ValueError(f"no ramp for window {kind!r}")


def _edge_margins(w: np.ndarray, grid: AxisGrid, k: int, margin: int) -> np.ndarray:
    """Zero ``w`` within ``margin`` px of tile ``k``'s interior edges."""
    if margin > 0:
        if k > 0:
            w[:margin] = 0.0
        if k < grid.count - 1:
            w[grid.tile - margin :] = 0.0
    return w


def _raw_profile(grid: AxisGrid, k: int, kind: str, sigma: float, margin: int = 0) -> np.ndarray:
    """Unnormalised weight of tile ``k`` over its own ``grid.tile`` pixels."""
    T, starts, n = grid.tile, grid.starts, grid.count
    s = starts[k]
    w = np.ones(T, dtype=np.float64)
    if kind == "gaussian":
        centre = (T - 1) / 2.0
        std = max(sigma * T, 1e-3)
        x = np.arange(T, dtype=np.float64)
        return _edge_margins(np.exp(-0.5 * ((x - centre) / std) ** 2), grid, k, margin)
    if kind == "uniform":
        return _edge_margins(w, grid, k, margin)
    if kind == "none":
        seams = grid.seams
        lo = seams[k - 1] - s if k > 0 else 0
        hi = seams[k] - s if k < n - 1 else T
        w[:] = 0.0
        w[lo:hi] = 1.0
        return w
    if k > 0:  # rising over the overlap with the previous tile (after the margin)
        ov = starts[k - 1] + T - s
        w[:margin] = 0.0
        if ov > 2 * margin:
            w[margin : ov - margin] *= _ramp(ov - 2 * margin, kind)
    if k < n - 1:  # falling over the overlap with the next tile (before the margin)
        ov = s + T - starts[k + 1]
        w[T - margin :] = 0.0
        if ov > 2 * margin:
            w[T - ov + margin : T - margin] *= _ramp(ov - 2 * margin, kind)[::-1]
    return w


@lru_cache(maxsize=256)
def axis_weights(grid: AxisGrid, kind: str = "cosine", sigma: float = DEFAULT_GAUSSIAN_SIGMA, margin: int = 0) -> Tuple[np.ndarray, ...]:
    """Normalised weights of each tile along one axis.

    Returns:
        ``grid.count`` read-only float64 arrays of length ``grid.tile``; at
        every axis position the weights of the covering tiles sum to 1
        (to float64 rounding). Cached: grids are immutable.
    """
    if kind not in WINDOWS:
        raise ValueError(f"unknown window {kind!r}; choose one of {', '.join(WINDOWS)}")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number, got {sigma!r}")
    if margin < 0 or (grid.count > 1 and 2 * margin > min(grid.overlaps)):
        raise ValueError(f"margin {margin} must be between 0 and half the smallest overlap ({min(grid.overlaps, default=0) // 2} px)")
    if kind == "none":
        margin = 0  # the cut at the centre already ignores the edges
    raw = [_raw_profile(grid, k, kind, sigma, margin) for k in range(grid.count)]
    total = np.zeros(grid.length, dtype=np.float64)
    for s, w in zip(grid.starts, raw):
        total[s : s + grid.tile] += w
    out = []
    for s, w in zip(grid.starts, raw):
        normed = w / total[s : s + grid.tile]
        normed.setflags(write=False)
        out.append(normed)
    return tuple(out)


def weight_map(grid_y: AxisGrid, grid_x: AxisGrid, row: int, col: int, kind: str = "cosine", sigma: float = DEFAULT_GAUSSIAN_SIGMA, margin: int = 0) -> np.ndarray:
    """The 2-D weight of one tile, ``[tile_h, tile_w]`` float64 (for inspection and tests, not for merging)."""
    return np.outer(axis_weights(grid_y, kind, sigma, margin)[row], axis_weights(grid_x, kind, sigma, margin)[col])
