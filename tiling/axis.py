"""One axis of a tile grid: where tiles start along a line of pixels.

A 2-D tile plan is the product of two independent axes (rows x columns), so
all spacing logic lives here, in one dimension, and is tested here.

Conventions: positions are integer pixel (or latent-cell) indices, a tile
covers the half-open range ``[start, start + tile)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class AxisGrid:
    """Tile starts along one axis.

    Attributes:
        length: number of pixels on the axis (>= 1).
        tile: tile extent on the axis (1 <= tile <= length).
        starts: strictly increasing tile starts; the first is 0 and the last
            is ``length - tile``, so the union of tiles is exactly the axis.
    """

    length: int
    tile: int
    starts: Tuple[int, ...]

    def __post_init__(self) -> None:
        if self.length < 1 or not 1 <= self.tile <= self.length:
            raise ValueError(f"invalid axis: length={self.length}, tile={self.tile}")
        s = self.starts
        if not s or s[0] != 0 or s[-1] != self.length - self.tile:
            raise ValueError(f"tile starts {s} do not span an axis of {self.length} px with {self.tile} px tiles")
        for a, b in zip(s, s[1:]):
            if not a < b <= a + self.tile:
                raise ValueError(f"tile starts {s} leave a gap or repeat a tile (tile {self.tile} px)")

    @property
    def count(self) -> int:
        return len(self.starts)

    @property
    def ends(self) -> Tuple[int, ...]:
        return tuple(s + self.tile for s in self.starts)

    @property
    def overlaps(self) -> Tuple[int, ...]:
        """Overlap in pixels between tile k and tile k+1, for each k."""
        return tuple(self.starts[k] + self.tile - self.starts[k + 1] for k in range(self.count - 1))

    @property
    def seams(self) -> Tuple[int, ...]:
        """Seam position between tile k and k+1: the centre of their overlap (floor)."""
        return tuple((self.starts[k + 1] + self.starts[k] + self.tile) // 2 for k in range(self.count - 1))

    def scaled(self, num: int, den: int) -> "AxisGrid":
        """The same grid in coordinates multiplied by ``num / den``.

        Raises ValueError naming the first position that does not land on a
        whole pixel.
        """
        def exact(v: int, what: str) -> int:
            if (v * num) % den:
                raise ValueError(
                    f"scale {num}/{den} maps {what} {v} to {v * num / den:g}, not a whole pixel; "
                    f"split with an 'align' that is a multiple of {den // math.gcd(den, num)}"
                )
            return v * num // den

        return AxisGrid(
            length=exact(self.length, "image size"),
            tile=exact(self.tile, "tile size"),
            starts=tuple(exact(s, "tile start") for s in self.starts),
        )


def _check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            as_int = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an integer, got {value!r}") from None
        if as_int != value:
            raise ValueError(f"{name} must be an integer, got {value!r}")
        value = as_int
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def even_starts(length: int, tile: int, count: int, align: int) -> Tuple[int, ...]:
    """``count`` starts spread as evenly as the alignment allows.

    Every start but the last is a multiple of ``align``; the last is
    ``length - tile`` (flush with the far edge) so nothing is lost there.
    """
    if count == 1:
        return (0,)
    span = length - tile
    den = 2 * (count - 1) * align
    # align * floor(k * span / ((count - 1) * align) + 1/2), in exact integer arithmetic
    starts = [align * ((2 * k * span + den // 2) // den) for k in range(count - 1)]
    starts.append(span)
    return tuple(starts)


def plan_axis(length: int, tile: int, overlap: int, align: int = 1, *, names=("length", "tile", "overlap")) -> AxisGrid:
    """Fewest evenly spaced tiles of ``tile`` px covering ``length`` px with at least ``overlap`` px overlap.

    ``tile`` is rounded down to a multiple of ``align`` and clamped to the
    axis (a tile larger than the image gives a single tile). Consecutive gaps
    differ by at most ``align`` (the last one by up to ``2 * align`` when
    ``length - tile`` is not a multiple of ``align``), so there is no short
    last step and no pile-up of three tiles caused by clamping the last one.
    Three tiles can only cover one pixel when ``overlap > tile / 2``.

    ``names`` are the user-facing names of the three size arguments, used in
    error messages.
    """
    n_len, n_tile, n_ovl = names
    length = _check_int(n_len, length, 1)
    tile = _check_int(n_tile, tile, 1)
    overlap = _check_int(n_ovl, overlap, 0)
    align = _check_int("align", align, 1)
    if overlap >= tile:
        raise ValueError(f"{n_ovl} ({overlap}) must be smaller than {n_tile} ({tile})")
    if tile >= length:
        return AxisGrid(length, length, (0,))
    aligned = tile - tile % align
    if aligned <= overlap:
        raise ValueError(
            f"{n_tile} {tile} rounded down to a multiple of align {align} is {aligned}, "
            f"which leaves no room beyond {n_ovl} {overlap}"
        )
    tile = aligned
    stride = tile - overlap
    if stride < align:
        raise ValueError(
            f"{n_tile} {tile} minus {n_ovl} {overlap} leaves a step of {stride} px, smaller than align {align}; "
            f"tiles can only move in steps of align, so use a smaller {n_ovl} or align"
        )
    span = length - tile
    fewest = 1 + math.ceil(span / stride)
    # Rounded interior steps are at most align * ceil(mean / align) and the last
    # step is within align / 2 of the mean, so a mean step of `safe` always fits;
    # take the fewest tiles that fit, which is at most that many.
    aligned_stride = align * (stride // align)
    safe = min(aligned_stride, stride - align / 2)
    for count in range(fewest, 2 + math.ceil(span / safe)):
        starts = even_starts(length, tile, count, align)
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        if 0 < min(gaps) and max(gaps) <= stride:
            break
    else:
        # stride below 2 * align: step by whole aligned strides, last tile flush
        starts = tuple(range(0, span, aligned_stride)) + (span,)
    return AxisGrid(length, tile, starts)


def tile_for_count(length: int, count: int, overlap: int, align: int = 1, *, names=("length", "count", "overlap")) -> AxisGrid:
    """``count`` tiles of the smallest aligned size covering ``length`` with at least ``overlap`` overlap."""
    n_len, n_count, n_ovl = names
    length = _check_int(n_len, length, 1)
    count = _check_int(n_count, count, 1)
    overlap = _check_int(n_ovl, overlap, 0)
    align = _check_int("align", align, 1)
    if count == 1:
        return AxisGrid(length, length, (0,))
    tile = math.ceil((length + (count - 1) * overlap) / count)
    tile = align * math.ceil(tile / align)
    while tile < length:
        starts = even_starts(length, tile, count, align)
        if max(b - a for a, b in zip(starts, starts[1:])) <= tile - overlap and len(set(starts)) == count:
            return AxisGrid(length, tile, starts)
        tile += align
    raise ValueError(
        f"{n_count} {count} is too many tiles for {n_len} {length} with {n_ovl} {overlap} and align {align}: "
        f"choose fewer tiles or a smaller {n_ovl}"
    )
