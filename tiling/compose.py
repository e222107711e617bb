"""Reassemble tiles into images with separable partition-of-unity weights.

The image is cut into *cells* by every place where the set of tiles with a
non-zero weight changes (on each axis separately). Each output cell is
written exactly once:

* one tile covers it      -> a plain copy;
* two tiles along an axis -> ``torch.lerp`` with the 1-D weight of the second
  (weights of the pair sum to one, so identical tiles give back the tile
  bit-for-bit);
* 2 x 2 tiles             -> two lerps along x into cell-sized temporaries,
  one lerp along y into the output;
* more (overlap > tile/2)  -> a weighted sum.

There is no accumulation buffer, no full-size weight map and no final
division: memory traffic is one read of every tile pixel and one write of
every output pixel, which is less than pasting the tiles on top of each
other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import torch

from .axis import AxisGrid
from .layout import IMAGE, Layout
from .plan import TilePlan
from .stack import Tiles, TileStack
from .windows import DEFAULT_GAUSSIAN_SIGMA, axis_weights

Progress = Optional[Callable[[int, int], None]]


@dataclass(frozen=True)
class Part:
    """Tile ``tile`` (index along the axis) contributes from its local pixel ``offset`` on."""

    tile: int
    offset: int
    weight: Optional[np.ndarray]  # None means all ones


@dataclass(frozen=True)
class Segment:
    start: int
    stop: int
    parts: Tuple[Part, ...]


def axis_segments(grid: AxisGrid, weights: Sequence[np.ndarray]) -> Tuple[Segment, ...]:
    """Split an axis where the set of tiles with non-zero weight changes."""
    supports = []
    for s, w in zip(grid.starts, weights):
        nz = np.flatnonzero(w)
        supports.append((s + int(nz[0]), s + int(nz[-1]) + 1) if nz.size else (s, s))
    cuts = sorted({0, grid.length, *(a for a, _ in supports), *(b for _, b in supports)})
    segments = []
    for lo, hi in zip(cuts, cuts[1:]):
        parts = []
        for k, (a, b) in enumerate(supports):
            if a <= lo and hi <= b:
                off = lo - grid.starts[k]
                w = weights[k][off : off + hi - lo]
                parts.append(Part(k, off, None if np.all(w == 1.0) else w))
        if not parts:
            raise AssertionError(f"pixels [{lo}, {hi}) are covered by no tile")  # plan invariant
        segments.append(Segment(lo, hi, tuple(parts)))
    return tuple(segments)


def plan_for_tiles(plan: TilePlan, tiles: torch.Tensor, layout: Layout, what: str = "tiles") -> TilePlan:
    """``plan.for_tiles`` for a tile batch in ``layout`` (its count and tile size checked)."""
    layout.check(tiles, what)
    return plan.for_tiles(tiles.shape[0], *layout.size(tiles), what)


def scale_margin(margin: int, plan: TilePlan, scaled: TilePlan) -> int:
    """A margin in ``plan``'s pixels in the pixels of ``scaled`` (the same grid for resized tiles)."""
    return round(margin * scaled.tile_width / plan.tile_width) if margin else 0


def row_weight_tensor(w: np.ndarray, dtype: torch.dtype, device=None) -> torch.Tensor:
    """1-D weights along y as a ``[n, 1]`` column that broadcasts over a row view."""
    return torch.tensor(w, dtype=dtype, device=device).view(-1, 1)


def column_weight_tensor(w: np.ndarray, repeat: int, dtype: torch.dtype, device=None) -> torch.Tensor:
    """1-D weights along x repeated ``repeat`` times each (channels-last row view: ``[n * repeat]``)."""
    return torch.tensor(np.repeat(w, repeat), dtype=dtype, device=device)


class _CellWriter:
    """Writes output cells from tiles, on the layout's row view (x innermost)."""

    def __init__(self, stack: TileStack, layout: Layout):
        self.stack = stack
        self.layout = layout
        self.k = stack.tile_shape[-1] if layout.channels_last else 1
        self.dtype, self.device = stack.dtype, stack.device

    def tile_rows(self, index: int) -> torch.Tensor:
        return self.layout.rows(self.stack[index])

    def wx(self, w: Optional[np.ndarray]) -> Optional[torch.Tensor]:
        return None if w is None else column_weight_tensor(w, self.k, self.dtype, self.device)

    def wy(self, w: Optional[np.ndarray]) -> Optional[torch.Tensor]:
        return None if w is None else row_weight_tensor(w, self.dtype, self.device)


def compose(
    tiles: Tiles,
    plan: TilePlan,
    window: str = "cosine",
    *,
    sigma: float = DEFAULT_GAUSSIAN_SIGMA,
    margin: int = 0,
    layout: Layout = IMAGE,
    out: Optional[torch.Tensor] = None,
    progress: Progress = None,
) -> torch.Tensor:
    """Blend a tile batch back into ``plan.batch`` images.

    Args:
        tiles: ``[plan.batch * plan.count, ...]`` in ``layout``, image-major, or a
            list of ``plan.count`` tensors ``[plan.batch, ...]`` (``TileStack``);
            each ``plan.tile_height x plan.tile_width`` or resized by a
            constant factor (``TilePlan.for_tile_size``).
        window: one of ``tiling.windows.WINDOWS``.
        margin: plan px at each tile's interior edges that get no weight (``tiling.windows``), scaled with the tiles.
        out: optional preallocated output ``[plan.batch, ...]`` (same dtype/device).
        progress: ``progress(done_tiles, total_tiles)`` after each row of tiles.

    Returns:
        ``[plan.batch, ...]`` of ``plan.height x plan.width``, dtype of ``tiles``.
    """
    stack = TileStack(tiles, plan, layout)
    margin, plan = scale_margin(margin, plan, stack.plan), stack.plan
    shape = list(stack.tile_shape)
    shape[layout.y_dim], shape[layout.x_dim] = plan.height, plan.width
    shape = tuple(shape)
    if out is None:
        out = torch.empty(shape, dtype=stack.dtype, device=stack.device)
    elif tuple(out.shape) != shape:
        raise ValueError(f"out has shape {tuple(out.shape)}, expected {shape}")

    wy_all = axis_weights(plan.rows_axis, window, sigma, margin)
    wx_all = axis_weights(plan.cols_axis, window, sigma, margin)
    ysegs = axis_segments(plan.rows_axis, wy_all)
    xsegs = axis_segments(plan.cols_axis, wx_all)

    cw = _CellWriter(stack, layout)
    k = cw.k
    dst_rows = layout.rows(out)
    x_parts = [[(p, cw.wx(p.weight)) for p in seg.parts] for seg in xsegs]
    cols = plan.cols
    # a tile row is finished once the y segments reach the end of that row's tiles
    row_done_at = {}
    for r, e in enumerate(plan.rows_axis.ends):
        row_done_at.setdefault(e, r)

    for yseg in ysegs:
        h = yseg.stop - yseg.start
        y_parts = [(p, cw.wy(p.weight)) for p in yseg.parts]
        for xseg, xp in zip(xsegs, x_parts):
            w = (xseg.stop - xseg.start) * k
            dst = dst_rows[..., yseg.start : yseg.stop, xseg.start * k : xseg.start * k + w]

            def src(py: Part, px: Part) -> torch.Tensor:
                t = cw.tile_rows(py.tile * cols + px.tile)
                return t[..., py.offset : py.offset + h, px.offset * k : px.offset * k + w]

            _write_cell(dst, y_parts, xp, src)
        if progress is not None and yseg.stop in row_done_at:
            progress((row_done_at[yseg.stop] + 1) * cols, plan.count)
    return out


def _write_cell(dst, y_parts, x_parts, src) -> None:
    ny, nx = len(y_parts), len(x_parts)
    (py0, wy0), (px0, wx0) = y_parts[0], x_parts[0]
    if ny == 1 and nx == 1 and wy0 is None and wx0 is None:
        dst.copy_(src(py0, px0))
    elif ny == 1 and nx == 2 and wy0 is None:
        torch.lerp(src(py0, px0), src(py0, x_parts[1][0]), x_parts[1][1], out=dst)
    elif ny == 2 and nx == 1 and wx0 is None:
        torch.lerp(src(py0, px0), src(y_parts[1][0], px0), y_parts[1][1], out=dst)
    elif ny == 2 and nx == 2:
        px1, wx1 = x_parts[1]
        py1, wy1 = y_parts[1]
        top = torch.lerp(src(py0, px0), src(py0, px1), wx1)
        bottom = torch.lerp(src(py1, px0), src(py1, px1), wx1)
        torch.lerp(top, bottom, wy1, out=dst)
    else:  # three or more tiles on an axis (overlap > tile / 2)
        dst.zero_()
        for py, wy in y_parts:
            row = torch.zeros_like(dst)
            for px, wx in x_parts:
                if wx is None:
                    row.add_(src(py, px))
                else:
                    row.addcmul_(src(py, px), wx)
            if wy is None:
                dst.add_(row)
            else:
                dst.addcmul_(row, wy)
