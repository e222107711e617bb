"""Seam-band assembly: the skeleton shared by band blenders (multiband, Poisson).

Tiles are joined one axis at a time, as panorama stitchers do with strips:
first the tiles of each row are joined across their vertical seams into a
full-width *strip*, then the strips are joined across the horizontal seams.
Each join copies every piece outside the seam bands and hands each band to
two strategies:

* a ``SeamCutter`` chooses the hard cut inside the band (the centre line, or
  a path through pixels where the pieces agree: ``seam_finding``);
* a ``BandFix`` joins the two pieces over the band around that cut
  (multiband, Poisson ...).

Pieces and strips are produced lazily, so at most two strips are alive at
once. Bands are planar ``[B, C, L, Wb]`` tensors: ``L`` runs along the seam,
``Wb`` across it, the first piece on the low side. ``cut`` is a ``[L]`` long
tensor: in row ``i``, columns ``< cut[i]`` belong to the first piece under a
hard cut, and ``1 <= cut[i] <= Wb - 1``. A fix must meet the copied pixels
continuously at both band edges: it returns the first piece (or something
that tends to it) at column 0 and the second at column ``Wb - 1``.
"""

from __future__ import annotations

from typing import Callable, List, NamedTuple, Optional, Protocol

import torch

from ..tiling.layout import IMAGE, Layout
from ..tiling.plan import TilePlan
from ..tiling.stack import Tiles, TileStack

Progress = Optional[Callable[[int, int], None]]


class Band(NamedTuple):
    """Band ``[lo, hi)`` along the joining axis around the overlap centre ``cut``."""

    lo: int
    hi: int
    cut: int


class BandSite(NamedTuple):
    """Where a band lies in the output image (output pixels).

    ``dim`` is ``"x"`` for a vertical seam (pieces side by side; the band
    spans columns ``[lo, hi)`` and rows ``[along_lo, along_hi)``) and ``"y"``
    for a horizontal seam (rows ``[lo, hi)``, columns ``[along_lo, along_hi)``).
    """

    dim: str
    lo: int
    hi: int
    cut: int
    along_lo: int
    along_hi: int


class BandFix(Protocol):
    def __call__(self, first: torch.Tensor, second: torch.Tensor, cut: torch.Tensor) -> torch.Tensor: ...


SeamCutter = Callable[[torch.Tensor, torch.Tensor, BandSite], torch.Tensor]


def seam_bands(grid, half_width: Optional[int] = None) -> List[Band]:
    """Bands centred on each overlap's centre, as wide as the overlap allows.

    A band stays inside both tiles' overlap and never reaches half way to the
    next seam, so bands never touch each other. ``half_width`` caps it.
    """
    cuts = grid.seams
    bands = []
    for k, c in enumerate(cuts):
        h = min(c - grid.starts[k + 1], grid.ends[k] - c)
        if k > 0:
            h = min(h, (c - cuts[k - 1]) // 2)
        if k + 1 < len(cuts):
            h = min(h, (cuts[k + 1] - c) // 2)
        if half_width is not None:
            h = min(h, half_width)
        h = max(h, 0)
        bands.append(Band(c - h, c + h, c))
    return bands


def straight_cut(first: torch.Tensor, second: torch.Tensor, site: BandSite) -> torch.Tensor:
    """Cut at the overlap's centre line on every row."""
    return torch.full((first.shape[-2],), site.cut - site.lo, dtype=torch.long, device=first.device)


def to_band(t: torch.Tensor, layout: Layout, dim: str) -> torch.Tensor:
    """A layout crop -> planar ``[B, C, L, Wb]`` with ``Wb`` across the seam (a copy)."""
    if layout.name == "BHWC":
        t = t.permute(0, 3, 1, 2)
    elif layout.name == "BHW":
        t = t.unsqueeze(1)
    if dim == "y":  # joining along y: the seam runs along x
        t = t.transpose(-1, -2)
    return t.contiguous()


def from_band(band: torch.Tensor, layout: Layout, dim: str) -> torch.Tensor:
    """Inverse of ``to_band`` as a view (copy it into the destination)."""
    if dim == "y":
        band = band.transpose(-1, -2)
    if layout.name == "BHWC":
        return band.permute(0, 2, 3, 1)
    if layout.name == "BHW":
        return band.squeeze(1)
    return band


def _assemble_axis(
    piece: Callable[[int], torch.Tensor],
    grid,
    dim: str,
    along: tuple,
    out: torch.Tensor,
    layout: Layout,
    fix: BandFix,
    cutter: SeamCutter,
    bands: List[Band],
    on_piece: Optional[Callable[[], None]] = None,
) -> None:
    """Write pieces ``0..n-1`` of ``grid`` into ``out`` along ``dim``, joining them in ``bands``; ``on_piece()`` after each."""
    axis = layout.y_dim if dim == "y" else layout.x_dim
    pos = 0
    prev: Optional[torch.Tensor] = None
    for k in range(grid.count):
        cur = piece(k)
        s = grid.starts[k]
        if k > 0:
            band = bands[k - 1]
            width = band.hi - band.lo
            if width > 0:
                a = to_band(prev, layout, dim)
                b = to_band(cur.narrow(axis, band.lo - s, width), layout, dim)
                cut = cutter(a, b, BandSite(dim, band.lo, band.hi, band.cut, *along))
                joined = fix(a, b, cut)
                out.narrow(axis, band.lo, width).copy_(from_band(joined, layout, dim))
            pos = band.hi
        end = bands[k].lo if k < grid.count - 1 else grid.length
        if end > pos:
            out.narrow(axis, pos, end - pos).copy_(cur.narrow(axis, pos - s, end - pos))
        if k < grid.count - 1:
            nxt = bands[k]
            prev = cur.narrow(axis, nxt.lo - s, nxt.hi - nxt.lo)
        pos = end
        if on_piece is not None:
            on_piece()


def assemble_with_bands(
    tiles: Tiles,
    plan: TilePlan,
    fix: BandFix,
    *,
    layout: Layout = IMAGE,
    cutter: SeamCutter = straight_cut,
    half_width: Optional[int] = None,
    progress: Progress = None,
) -> torch.Tensor:
    """Join a tile batch along vertical seams into strips, then strips along horizontal seams.

    Args:
        tiles: ``[plan.batch * plan.count, ...]`` in ``layout``, or one tensor per tile (``TileStack``); resized tiles are fine.
        fix: joins one band (see module docstring).
        cutter: chooses the hard cut inside each band (default: the centre line).
        half_width: optional cap on every band's half width, in the plan's pixels (scaled with the tiles).
        progress: ``progress(done, total)`` after each tile joined into its strip and each strip joined
            (``total = count + rows``), so Cancel stops between bands.

    Returns:
        ``[plan.batch, ...]`` images, dtype and device of ``tiles``.
    """
    stack = TileStack(tiles, plan, layout)
    scaled = stack.plan
    x_half = None if half_width is None else max(1, round(half_width * scaled.tile_width / plan.tile_width))
    y_half = None if half_width is None else max(1, round(half_width * scaled.tile_height / plan.tile_height))
    plan = scaled

    def empty(height: int, width: int) -> torch.Tensor:
        shape = list(stack.tile_shape)
        shape[layout.y_dim], shape[layout.x_dim] = height, width
        return torch.empty(shape, dtype=stack.dtype, device=stack.device)

    out = empty(plan.height, plan.width)
    x_bands = seam_bands(plan.cols_axis, x_half)
    y_bands = seam_bands(plan.rows_axis, y_half)
    cols, total, done = plan.cols, plan.count + plan.rows, [0]

    def tick() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    def strip(r: int) -> torch.Tensor:
        s = empty(plan.tile_height, plan.width)
        y = plan.rows_axis.starts[r]
        _assemble_axis(lambda c: stack[r * cols + c], plan.cols_axis, "x", (y, y + plan.tile_height), s, layout, fix, cutter,
                       x_bands, tick)
        return s

    _assemble_axis(strip, plan.rows_axis, "y", (0, plan.width), out, layout, fix, cutter, y_bands, tick)
    return out
