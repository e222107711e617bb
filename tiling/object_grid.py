"""Object-aware tile grids: keep masked objects inside one tile and seams off the mask.

A tile grid is the product of two axes (``axis.py``), and every seam band of
a column axis is a full-height strip (and vice versa), so both goals separate
per axis and are solved exactly on each by dynamic programming over the tile
starts:

1. *objects whole*: an object (a connected component of the mask) should lie
   between two blend bands, in one tile's weight-1 interior, so that one
   model call draws it and no neighbour's (cut) version is blended in. A
   blend band is the overlap ``[s_(k+1), s_k + tile)``; a step crosses an
   object ``[a, b)`` when the band meets it. Objects too long for an
   interior but not for a tile should at least lie inside one tile's box: an
   object first reached by tile ``k`` (``s_k <= a < s_(k+1)``) is inside some
   tile iff ``b <= s_k + tile`` (later tiles start after ``a``, earlier ones
   end before ``s_k + tile``), so a step counts the objects it strands.
2. *seams off the mask*: the mask mass projected onto the axis inside each band.

The DP minimises ``(crossed + stranded) * (total mass + 1) + mass in bands``
(objects come first), with a tie-break towards the requested overlap.
Starts stay multiples of ``align`` (the last is flush with the far edge, as in
``plan_axis``); overlaps lie between ``overlap`` and ``tile / 2`` (never three
tiles on one pixel). One or two more tiles than the fewest are tried and
kept only if they lower the cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np
import torch

from .axis import AxisGrid, plan_axis
from .plan import TilePlan

_TIE = 1e-6  # cost per px of overlap beyond the requested one: only breaks ties


@dataclass(frozen=True)
class AxisCost:
    """What a grid costs on one axis: objects no tile holds whole, and mask mass in blend bands."""

    stranded: int
    band_mass: float


def _step_costs(tile: int, positions: np.ndarray, index_of: np.ndarray, profile_cumsum: np.ndarray,
                extents: Sequence[Tuple[int, int]], gaps: np.ndarray, big: float, min_overlap: int) -> Tuple[np.ndarray, np.ndarray]:
    """Cost of every step ``positions[j] - gaps[d] -> positions[j]``.

    Returns ``(cost, prev_index)``, both ``[len(gaps), len(positions)]``;
    ``cost`` is inf and ``prev_index`` -1 where the earlier start is not a valid position.
    """
    span = int(positions[-1])
    prev = positions[None, :] - gaps[:, None]
    prev_index = np.where(prev >= 0, index_of[np.clip(prev, 0, span)], -1)
    valid = prev_index >= 0
    q = np.where(valid, prev, 0)
    p = np.broadcast_to(positions[None, :], q.shape)
    mass = profile_cumsum[np.clip(q + tile, 0, len(profile_cumsum) - 1)] - profile_cumsum[p]  # band [p, q + tile)
    misplaced = np.zeros(q.shape)
    for a, b in extents:
        if b - a <= tile:  # stranded: no tile holds it whole (objects larger than a tile count by mass only)
            misplaced += (q <= a) & (a < p) & (b > q + tile)
        if b - a <= tile - 2 * min_overlap:  # could sit between two bands, but this band crosses it
            misplaced += (a < q + tile) & (b > p)
    cost = misplaced * big + mass + _TIE * (tile - gaps[:, None])
    cost[~valid] = np.inf
    return cost, prev_index


def _solve_axis(length: int, tile: int, count: int, overlap: int, align: int,
                profile: np.ndarray, extents: Sequence[Tuple[int, int]]) -> Tuple[float, Tuple[int, ...]]:
    """Cheapest ``count`` starts for one axis, or ``(inf, ())`` when none is valid."""
    span = length - tile
    if count == 1:
        return (0.0, (0,)) if span == 0 else (np.inf, ())
    positions = np.unique(np.concatenate([np.arange(0, span, align), [span]])).astype(np.int64)
    gap_min = max(1, tile - tile // 2)  # overlap <= tile / 2
    gap_max = tile - overlap
    if gap_max < gap_min:
        gap_min = gap_max  # a requested overlap over half the tile: keep it exact
    gaps = np.unique(np.concatenate([np.arange(gap_min, gap_max + 1), [gap_max]])).astype(np.int64)
    cumsum = np.concatenate([[0.0], np.cumsum(profile, dtype=np.float64)])
    big = float(cumsum[-1]) + 1.0
    m = len(positions)
    index_of = np.full(span + 1, -1, dtype=np.int64)
    index_of[positions] = np.arange(m)
    steps, prev_index = _step_costs(tile, positions, index_of, cumsum, extents, gaps, big, overlap)
    best = np.full(m, np.inf)
    best[0] = 0.0  # the first tile starts at 0
    cols = np.arange(m)
    back: List[np.ndarray] = []
    for _ in range(count - 1):
        cand = np.where(prev_index >= 0, best[np.clip(prev_index, 0, None)] + steps, np.inf)
        choice = np.argmin(cand, axis=0)
        best = cand[choice, cols]
        back.append(prev_index[choice, cols])
    if not np.isfinite(best[-1]):
        return np.inf, ()
    j = m - 1
    starts = [int(positions[j])]
    for links in reversed(back):
        j = int(links[j])
        starts.append(int(positions[j]))
    return float(best[-1]), tuple(reversed(starts))


def _axis_extents(boxes: np.ndarray, dim: int) -> List[Tuple[int, int]]:
    """``[lo, hi)`` of every object along ``dim`` (0: y, 1: x) from ``[n, 4]`` boxes ``x, y, w, h``."""
    if dim == 0:
        return [(int(y), int(y + h)) for _, y, _, h in boxes]
    return [(int(x), int(x + w)) for x, _, w, _ in boxes]


def _as_array(mask) -> np.ndarray:
    """A float32 numpy view of a mask given as array or tensor."""
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().float().cpu().numpy()
    return np.asarray(mask, dtype=np.float32)


def object_boxes(mask: np.ndarray, threshold: float = 0.5, min_area: int = 1) -> np.ndarray:
    """Bounding boxes ``[n, 4]`` (x, y, w, h) of the 8-connected components of ``mask > threshold``."""
    import cv2

    binary = (np.asarray(mask) > threshold).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    keep = stats[1:, cv2.CC_STAT_AREA] >= min_area
    return stats[1:, :4][keep].astype(np.int64)


def axis_cost(grid: AxisGrid, profile: np.ndarray, extents: Sequence[Tuple[int, int]]) -> AxisCost:
    """Stranded objects and band mass of an existing axis (to compare with an even grid)."""
    cumsum = np.concatenate([[0.0], np.cumsum(profile, dtype=np.float64)])
    stranded = 0
    for a, b in extents:
        if b - a > grid.tile:
            continue
        if not any(s <= a and b <= s + grid.tile for s in grid.starts):
            stranded += 1
    mass = sum(float(cumsum[e] - cumsum[s]) for s, e in zip(grid.starts[1:], grid.ends[:-1]))
    return AxisCost(stranded, mass)


def plan_around_mask(mask, tile_height: int, tile_width: int, overlap: int, align: int = 8, batch: int = 1,
                     threshold: float = 0.5, extra_tiles: int = 2) -> TilePlan:
    """A tile plan over ``mask``'s size that keeps its objects whole and its seams off it.

    Args:
        mask: ``[H, W]`` array or tensor in [0, 1] (soft masks count by value
            in the band cost; objects are the components of ``mask > threshold``).
        tile_height, tile_width: tile size in px (rounded down to ``align``).
        overlap: the smallest overlap; overlaps grow up to half a tile where
            that moves a band off the mask.
        extra_tiles: how many tiles beyond the fewest to try per axis.

    Returns:
        A ``TilePlan`` whose starts are multiples of ``align`` (last flush).
        With an empty mask it has the fewest tiles, with overlaps as close to
        ``overlap`` as the alignment allows.
    """
    mask = _as_array(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D [height, width], got shape {mask.shape}")
    height, width = mask.shape
    even_y = plan_axis(height, tile_height, overlap, align, names=("image height", "tile_height", "overlap"))
    even_x = plan_axis(width, tile_width, overlap, align, names=("image width", "tile_width", "overlap"))
    boxes = object_boxes(mask, threshold)
    axes = []
    for dim, even in ((0, even_y), (1, even_x)):
        profile = mask.sum(axis=1 - dim, dtype=np.float64)
        extents = _axis_extents(boxes, dim)
        if even.count == 1 or len(extents) == 0 and not profile.any():
            axes.append(even)
            continue
        best = None
        for count in range(even.count, even.count + 1 + max(0, int(extra_tiles))):
            cost, starts = _solve_axis(even.length, even.tile, count, overlap, align, profile, extents)
            if starts and (best is None or cost < best[0] - 1e-9):
                best = (cost, starts)
        axes.append(AxisGrid(even.length, even.tile, best[1]) if best else even)
    return TilePlan(axes[0], axes[1], overlap=overlap, align=align, batch=batch)


def mask_grid_report(plan: TilePlan, mask, threshold: float = 0.5) -> str:
    """One line: objects that fit a tile and are held whole by one, and the mask mass under blend bands."""
    m = _as_array(mask)
    boxes = object_boxes(m, threshold)
    fits = [bx for bx in boxes if bx[2] <= plan.tile_width and bx[3] <= plan.tile_height]
    whole = sum(
        1 for x, y, w, h in fits
        if any(t.x <= x and x + w <= t.x + t.width and t.y <= y and y + h <= t.y + t.height for t in plan)
    )
    bands = [[(s, e) for s, e in zip(plan.axis(d).starts[1:], plan.axis(d).ends[:-1])] for d in (0, 1)]
    clear = sum(
        1 for x, y, w, h in boxes
        if not any(lo < y + h and y < hi for lo, hi in bands[0]) and not any(lo < x + w and x < hi for lo, hi in bands[1])
    )
    in_band = []  # per axis: which rows / columns lie in some blend band
    for dim in (0, 1):
        flags = np.zeros(plan.axis(dim).length, np.float32)
        for lo, hi in bands[dim]:
            flags[lo:hi] = 1.0
        in_band.append(flags)
    rows_mass = (in_band[0] @ m).astype(np.float64)  # per column: the mask in band rows (one pass, no copy of the mask)
    cols = in_band[1].astype(np.float64)
    in_bands = float(rows_mass.sum() + m.sum(axis=0, dtype=np.float64) @ cols - rows_mass @ cols)  # the union: crossings once
    total = float(m.sum(dtype=np.float64))
    share = in_bands / total if total > 0 else 0.0
    return (f"{clear} of {len(boxes)} objects clear of every blend band, {whole} of {len(fits)} that fit a tile inside one; "
            f"mask under blend bands {share:.1%} of its mass")
