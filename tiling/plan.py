"""The TILE_PLAN value: an immutable description of a tile grid.

A plan is the product of a row axis and a column axis (see ``axis.py``).
Tiles are numbered row-major: tile ``k`` sits at row ``k // cols`` and
column ``k % cols``. When a batch of ``batch`` source images is split, the
tile batch is image-major: entry ``b * count + k`` is tile ``k`` of image ``b``.

Everything that needs geometry (split, merge, blenders, seam QA, the latent
tiler, the browser overlay) reads it from a plan; nothing recomputes it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Dict, Iterator, List, NamedTuple, Optional, Tuple

from .axis import AxisGrid, plan_axis, tile_for_count

PLAN_FORMAT_VERSION = 1


class Tile(NamedTuple):
    """One tile's box: rows ``[y, y + height)``, columns ``[x, x + width)``."""

    index: int
    row: int
    col: int
    y: int
    x: int
    height: int
    width: int


class Seam(NamedTuple):
    """The boundary between two neighbouring tiles.

    ``axis`` is 1 for a vertical seam (between columns, tiles side by side)
    and 0 for a horizontal seam (between rows). ``position`` is the cut at the
    centre of the overlap along that axis; ``overlap`` is ``[lo, hi)`` along the
    same axis; ``span`` is ``[lo, hi)`` along the other axis (the shared edge).
    """

    axis: int
    first: int
    second: int
    position: int
    overlap: Tuple[int, int]
    span: Tuple[int, int]


@dataclass(frozen=True)
class TilePlan:
    """A grid of equally sized, overlapping tiles over an image of ``height x width``.

    Attributes:
        rows_axis: tile starts along y.
        cols_axis: tile starts along x.
        overlap: the overlap the user asked for (actual overlaps are >= this).
        align: every tile start except the last on each axis is a multiple of it,
            and so is the tile size unless the tile spans the whole axis.
        batch: number of source images the tile batch was cut from.
    """

    rows_axis: AxisGrid
    cols_axis: AxisGrid
    overlap: int = 0
    align: int = 1
    batch: int = 1
    _tiles: Tuple[Tile, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.batch < 1:
            raise ValueError(f"batch must be >= 1, got {self.batch}")
        tiles = tuple(
            Tile(r * self.cols_axis.count + c, r, c, y, x, self.rows_axis.tile, self.cols_axis.tile)
            for r, y in enumerate(self.rows_axis.starts)
            for c, x in enumerate(self.cols_axis.starts)
        )
        object.__setattr__(self, "_tiles", tiles)

    # -- geometry -------------------------------------------------------
    @property
    def height(self) -> int:
        return self.rows_axis.length

    @property
    def width(self) -> int:
        return self.cols_axis.length

    @property
    def tile_height(self) -> int:
        return self.rows_axis.tile

    @property
    def tile_width(self) -> int:
        return self.cols_axis.tile

    @property
    def rows(self) -> int:
        return self.rows_axis.count

    @property
    def cols(self) -> int:
        return self.cols_axis.count

    @property
    def count(self) -> int:
        """Tiles per source image."""
        return len(self._tiles)

    @property
    def tiles(self) -> Tuple[Tile, ...]:
        return self._tiles

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Tile]:
        return iter(self._tiles)

    def axis(self, dim: int) -> AxisGrid:
        """``0`` -> the row axis (y), ``1`` -> the column axis (x)."""
        return (self.rows_axis, self.cols_axis)[dim]

    def neighbours(self, index: int) -> Dict[str, Optional[int]]:
        """Indices of the tiles left/right/top/bottom of tile ``index`` (None at the border)."""
        t = self._tiles[index]
        cols = self.cols
        return {
            "left": index - 1 if t.col > 0 else None,
            "right": index + 1 if t.col < cols - 1 else None,
            "top": index - cols if t.row > 0 else None,
            "bottom": index + cols if t.row < self.rows - 1 else None,
        }

    @property
    def seams(self) -> Tuple[Seam, ...]:
        """Every seam: vertical ones (row by row), then horizontal ones."""
        out: List[Seam] = []
        ra, ca = self.rows_axis, self.cols_axis
        for r, y in enumerate(ra.starts):
            for c, cut in enumerate(ca.seams):
                k = r * ca.count + c
                out.append(Seam(1, k, k + 1, cut, (ca.starts[c + 1], ca.ends[c]), (y, y + ra.tile)))
        for r, cut in enumerate(ra.seams):
            for c, x in enumerate(ca.starts):
                k = r * ca.count + c
                out.append(Seam(0, k, k + ca.count, cut, (ra.starts[r + 1], ra.ends[r]), (x, x + ca.tile)))
        return tuple(out)

    # -- derived plans --------------------------------------------------
    def scaled(self, scale_y: Fraction, scale_x: Fraction) -> "TilePlan":
        """This grid in the coordinates of tiles resized by ``scale_y, scale_x`` (exact rationals)."""
        sy, sx = Fraction(scale_y), Fraction(scale_x)
        if sy <= 0 or sx <= 0:
            raise ValueError(f"scale must be positive, got {sy}, {sx}")
        return TilePlan(
            self.rows_axis.scaled(sy.numerator, sy.denominator),
            self.cols_axis.scaled(sx.numerator, sx.denominator),
            overlap=self.overlap,
            align=self.align,
            batch=self.batch,
        )

    def scale_for_tiles(self, tile_height: int, tile_width: int) -> Tuple[Fraction, Fraction]:
        """Scale factors implied by processed tiles of ``tile_height x tile_width``."""
        return Fraction(tile_height, self.tile_height), Fraction(tile_width, self.tile_width)

    def for_tile_size(self, tile_height: int, tile_width: int, what: str = "tiles") -> "TilePlan":
        """This plan in the coordinates of tiles that came back ``tile_height x tile_width`` (itself if unchanged).

        Processed tiles may be resized (an x2 / x4 upscaler): the scale is read
        from their size and must map every tile box onto whole pixels, else a
        ValueError names ``what`` and the scale.
        """
        if (tile_height, tile_width) == (self.tile_height, self.tile_width):
            return self
        sy, sx = self.scale_for_tiles(tile_height, tile_width)
        try:
            return self.scaled(sy, sx)
        except ValueError as e:
            raise ValueError(
                f"{what} are {tile_width} x {tile_height} px for a plan of {self.tile_width} x {self.tile_height} px "
                f"tiles (scale {float(sx):g} x {float(sy):g}): {e}"
            ) from None

    def for_tiles(self, count: int, tile_height: int, tile_width: int, what: str = "tiles") -> "TilePlan":
        """``for_tile_size`` after checking that ``count`` tiles are what this plan cut (``batch * count``)."""
        if count != self.batch * self.count:
            per = f"{self.count} tiles x batch {self.batch} = {self.batch * self.count}" if self.batch > 1 else f"{self.count} tiles"
            raise ValueError(f"got {count} {what} but the tile plan has {per}")
        return self.for_tile_size(tile_height, tile_width, what)

    def for_image_size(self, height: int, width: int, what: str = "the image") -> "TilePlan":
        """This plan over an image of ``height x width`` (itself if unchanged): the source size times a whole-pixel scale.

        An image merged from this plan's tiles (e.g. after x4) gives the plan
        in its pixels; a latent plan gives the plan over the decoded image.
        Any other size raises a ValueError naming ``what``.
        """
        if (height, width) == (self.height, self.width):
            return self
        sy, sx = Fraction(height, self.height), Fraction(width, self.width)
        try:
            return self.scaled(sy, sx)
        except ValueError:
            raise ValueError(
                f"{what} is {width} x {height} px but the tile plan is for {self.width} x {self.height} px, and "
                f"{float(sx):g} x {float(sy):g} does not map its tiles onto whole pixels: connect the image made "
                f"from this plan's tiles (or the plan that cut this image)"
            ) from None

    def with_batch(self, batch: int) -> "TilePlan":
        return TilePlan(self.rows_axis, self.cols_axis, self.overlap, self.align, batch)

    # -- serialisation --------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": "tilestitch.plan",
            "version": PLAN_FORMAT_VERSION,
            "height": self.height,
            "width": self.width,
            "tile_height": self.tile_height,
            "tile_width": self.tile_width,
            "overlap": self.overlap,
            "align": self.align,
            "batch": self.batch,
            "ys": list(self.rows_axis.starts),
            "xs": list(self.cols_axis.starts),
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d: dict) -> "TilePlan":
        if d.get("format") != "tilestitch.plan":
            raise ValueError("not a tile plan: missing format 'tilestitch.plan'")
        if d.get("version") != PLAN_FORMAT_VERSION:
            raise ValueError(f"tile plan version {d.get('version')} is not supported (expected {PLAN_FORMAT_VERSION})")
        try:
            return cls(
                AxisGrid(int(d["height"]), int(d["tile_height"]), tuple(int(v) for v in d["ys"])),
                AxisGrid(int(d["width"]), int(d["tile_width"]), tuple(int(v) for v in d["xs"])),
                overlap=int(d["overlap"]),
                align=int(d["align"]),
                batch=int(d["batch"]),
            )
        except KeyError as e:
            raise ValueError(f"tile plan is missing field {e}") from None

    @classmethod
    def from_json(cls, text: str) -> "TilePlan":
        return cls.from_dict(json.loads(text))

    @property
    def coverage(self) -> float:
        """Tile pixels per image pixel: what a model run on every tile processes, as a multiple of the image."""
        return self.count * self.tile_height * self.tile_width / (self.height * self.width)

    def describe(self) -> str:
        ov_y = sorted(set(self.rows_axis.overlaps)) or [0]
        ov_x = sorted(set(self.cols_axis.overlaps)) or [0]
        return (
            f"{self.rows} x {self.cols} = {self.count} tiles of {self.tile_width} x {self.tile_height} px "
            f"over {self.width} x {self.height} px; overlap x {ov_x[0]}-{ov_x[-1]} px, y {ov_y[0]}-{ov_y[-1]} px; "
            f"tiles cover {self.coverage:.2f}x the image"
        )


# -- constructors -------------------------------------------------------
def plan_by_tile_size(height: int, width: int, tile_height: int, tile_width: int, overlap: int, align: int = 1, batch: int = 1) -> TilePlan:
    """Fewest evenly spaced tiles of (at most) ``tile_height x tile_width`` with >= ``overlap`` overlap."""
    return TilePlan(
        plan_axis(height, tile_height, overlap, align, names=("image height", "tile_height", "overlap")),
        plan_axis(width, tile_width, overlap, align, names=("image width", "tile_width", "overlap")),
        overlap=overlap,
        align=align,
        batch=batch,
    )


def plan_by_count(height: int, width: int, rows: int, cols: int, overlap: int, align: int = 1, batch: int = 1) -> TilePlan:
    """Exactly ``rows x cols`` tiles of the smallest aligned size that covers the image."""
    return TilePlan(
        tile_for_count(height, rows, overlap, align, names=("image height", "rows", "overlap")),
        tile_for_count(width, cols, overlap, align, names=("image width", "cols", "overlap")),
        overlap=overlap,
        align=align,
        batch=batch,
    )


def plan_by_megapixels(height: int, width: int, max_megapixels: float, overlap: int, align: int = 1, batch: int = 1) -> TilePlan:
    """Fewest tiles whose area is at most ``max_megapixels`` (1 MP = 1e6 px), as square as possible."""
    if not (isinstance(max_megapixels, (int, float)) and math.isfinite(max_megapixels) and max_megapixels > 0):
        raise ValueError(f"max_megapixels must be a positive number, got {max_megapixels!r}")
    budget = max_megapixels * 1e6
    if height * width <= budget:
        return plan_by_count(height, width, 1, 1, overlap, align, batch)
    side = math.sqrt(budget)
    if side <= overlap + align:
        raise ValueError(
            f"max_megapixels {max_megapixels} gives tiles of about {int(side)} px, "
            f"no larger than overlap {overlap} + align {align}; raise max_megapixels or lower overlap"
        )
    best = None
    max_rows = max(1, math.ceil(height / max(1, int(side) - overlap)) * 2 + 2)
    for rows in range(1, max_rows + 1):
        try:
            ra = tile_for_count(height, rows, overlap, align)
        except ValueError:
            break
        # fewest columns for this row count that fits the budget
        max_tw = budget / ra.tile
        if max_tw <= overlap:
            continue
        cols = max(1, math.ceil((width - overlap) / max(1.0, max_tw - overlap)))
        while True:
            try:
                ca = tile_for_count(width, cols, overlap, align)
            except ValueError:
                ca = None
                break
            if ca.tile * ra.tile <= budget:
                break
            cols += 1
        if ca is None:
            continue
        key = (ra.count * ca.count, abs(math.log(ra.tile / ca.tile)))
        if best is None or key < best[0]:
            best = (key, ra, ca)
    if best is None:
        raise ValueError(f"no grid of tiles under {max_megapixels} MP covers {width} x {height} px with overlap {overlap}")
    return TilePlan(best[1], best[2], overlap=overlap, align=align, batch=batch)


PLAN_MODES = ("tile_size", "grid", "megapixels")


def plan_tiles(
    height: int,
    width: int,
    *,
    mode: str = "tile_size",
    tile_height: int = 1024,
    tile_width: int = 1024,
    overlap: int = 128,
    rows: int = 2,
    cols: int = 2,
    max_megapixels: float = 1.0,
    align: int = 1,
    batch: int = 1,
    shrink: bool = False,
) -> TilePlan:
    """One entry point for the three ways of asking for a grid (``PLAN_MODES``).

    ``tile_size``: tiles of at most ``tile_height x tile_width``; ``grid``:
    exactly ``rows x cols`` tiles; ``megapixels``: fewest tiles of at most
    ``max_megapixels``. The arguments a mode does not use are ignored.

    ``shrink``: keep the grid the mode chose and make its tiles the smallest
    aligned size that still overlaps by ``overlap`` (``plan_by_count``), so a
    model run per tile processes as few pixels as that grid allows; without
    it tiles keep the size asked for and the overlaps grow (for models that
    need exactly that size). ``grid`` mode is always that smallest size.
    """
    if mode == "tile_size":
        plan = plan_by_tile_size(height, width, tile_height, tile_width, overlap, align, batch)
    elif mode == "grid":
        return plan_by_count(height, width, rows, cols, overlap, align, batch)
    elif mode == "megapixels":
        plan = plan_by_megapixels(height, width, max_megapixels, overlap, align, batch)
    else:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(PLAN_MODES)}")
    if shrink:
        return plan_by_count(height, width, plan.rows, plan.cols, overlap, align, batch)
    return plan
