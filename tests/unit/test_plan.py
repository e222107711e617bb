"""Tile planner: coverage, overlap, even spacing, modes, JSON, bad input."""

import json
import math
import random
from fractions import Fraction

import numpy as np
import pytest

from tilestitch.tiling import (
    AxisGrid,
    TilePlan,
    plan_axis,
    plan_by_count,
    plan_by_megapixels,
    plan_by_tile_size,
    plan_tiles,
    tile_for_count,
)


def coverage(grid: AxisGrid) -> np.ndarray:
    cov = np.zeros(grid.length, dtype=int)
    for s in grid.starts:
        cov[s : s + grid.tile] += 1
    return cov


def random_axes(n, seed=0):
    rng = random.Random(seed)
    for _ in range(n):
        tile = rng.randint(1, 1500)
        yield rng.randint(1, 6000), tile, rng.randint(0, tile - 1), rng.choice([1, 2, 8, 16, 64])


def test_axis_covers_every_pixel_with_the_requested_overlap():
    checked = 0
    for length, tile, overlap, align in random_axes(20000):
        try:
            g = plan_axis(length, tile, overlap, align)
        except ValueError:
            continue  # reported bad combinations are checked below
        checked += 1
        cov = coverage(g)
        assert cov.min() >= 1, (length, tile, overlap, align)
        assert g.starts[0] == 0 and g.ends[-1] == length
        if g.count > 1:
            assert min(g.overlaps) >= overlap
            assert all(s % align == 0 for s in g.starts[:-1])
            assert g.tile % align == 0
    assert checked > 15000


def test_axis_uses_the_fewest_tiles():
    for length, tile, overlap, _ in random_axes(5000, seed=1):
        g = plan_axis(length, tile, overlap, 1)
        fewest = 1 if tile >= length else 1 + math.ceil((length - tile) / (tile - overlap))
        assert g.count == fewest


def test_axis_spacing_is_even_and_the_last_step_is_not_short():
    for length, tile, overlap, align in random_axes(20000, seed=2):
        try:
            g = plan_axis(length, tile, overlap, align)
        except ValueError:
            continue
        if g.count < 3 or g.tile - overlap < 2 * align:
            continue
        gaps = np.diff(g.starts)
        assert gaps[:-1].max() - gaps[:-1].min() <= align, g
        mean = (length - g.tile) / (g.count - 1)
        assert abs(gaps[-1] - mean) <= align, g  # no clamped-last-tile pile-up


def test_no_pixel_under_three_tiles_unless_the_step_is_below_half_a_tile():
    for length, tile, overlap, align in random_axes(20000, seed=3):
        try:
            g = plan_axis(length, tile, overlap, align)
        except ValueError:
            continue
        if g.count > 2 and min(np.diff(g.starts)) * 2 >= g.tile:
            assert coverage(g).max() <= 2, g


def test_issue_reference_grid():
    p = plan_by_tile_size(10000, 10000, 1024, 1024, 208)
    assert (p.rows, p.cols, p.count) == (12, 12, 144)
    assert set(p.rows_axis.overlaps) == {208}


def test_tile_larger_than_image_gives_one_tile_and_one_pixel_images_work():
    p = plan_by_tile_size(300, 500, 1024, 1024, 64, 8)
    assert (p.count, p.tile_height, p.tile_width) == (1, 300, 500)
    p = plan_by_tile_size(1, 1, 64, 64, 8, 8)
    assert (p.count, p.tile_height, p.tile_width) == (1, 1, 1)
    p = plan_by_tile_size(1, 5000, 512, 512, 64, 1)
    assert p.rows == 1 and p.cols > 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(tile_height=256, tile_width=256, overlap=256), "overlap (256) must be smaller than tile_height (256)"),
        (dict(tile_height=0, tile_width=256, overlap=0), "tile_height must be >= 1"),
        (dict(tile_height=256, tile_width=-4, overlap=0), "tile_width must be >= 1"),
        (dict(tile_height=256, tile_width=256, overlap=-1), "overlap must be >= 0"),
        (dict(tile_height=100, tile_width=256, overlap=64, align=64), "rounded down to a multiple of align 64 is 64"),
        (dict(tile_height=128, tile_width=128, overlap=100, align=64), "smaller than align 64"),
    ],
)
def test_bad_sizes_name_the_input(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_by_tile_size(2000, 2000, **kwargs)


def test_zero_sized_image_is_rejected():
    with pytest.raises(ValueError, match="image height must be >= 1"):
        plan_by_tile_size(0, 100, 64, 64, 8)


def test_grid_mode_gives_exactly_rows_by_cols():
    for rows, cols in [(1, 1), (2, 3), (5, 4), (12, 12)]:
        p = plan_by_count(3000, 4000, rows, cols, 64, 8)
        assert (p.rows, p.cols) == (rows, cols)
        assert min(p.rows_axis.overlaps, default=64) >= 64
        # the tile is the smallest aligned one that works: one align step less must fail
        smaller = p.tile_height - 8
        if rows > 1 and smaller > 64:
            assert math.ceil((3000 + (rows - 1) * 64) / rows) > smaller


def test_grid_mode_rejects_too_many_tiles():
    with pytest.raises(ValueError, match="rows 50 is too many tiles"):
        plan_by_count(40, 40, 50, 1, 0, 1)


def test_megapixel_mode_respects_the_budget_with_few_square_tiles():
    for h, w, mp in [(10000, 10000, 1.0), (5700, 3610, 1.0), (4000, 6000, 0.5), (800, 600, 1.0), (15000, 15000, 2.0)]:
        p = plan_by_megapixels(h, w, mp, 128, 16)
        assert p.tile_height * p.tile_width <= mp * 1e6
        assert 0.5 <= p.tile_height / p.tile_width <= 2.0
        # no grid with fewer tiles fits the budget
        for rows in range(1, p.rows + 1):
            for cols in range(1, p.cols + 1):
                if rows * cols >= p.count:
                    continue
                try:
                    ra, ca = tile_for_count(h, rows, 128, 16), tile_for_count(w, cols, 128, 16)
                except ValueError:
                    continue
                assert ra.tile * ca.tile > mp * 1e6


def test_megapixel_mode_rejects_budgets_smaller_than_the_overlap():
    with pytest.raises(ValueError, match="max_megapixels"):
        plan_by_megapixels(4000, 4000, 0.01, 128, 8)


def test_plan_modes_dispatch():
    assert plan_tiles(1000, 1000, mode="grid", rows=3, cols=2, overlap=16).count == 6
    with pytest.raises(ValueError, match="unknown mode 'spiral'"):
        plan_tiles(100, 100, mode="spiral")


def test_neighbours_and_seams_are_consistent():
    p = plan_by_tile_size(3000, 4100, 1024, 1024, 128, 8)
    for t in p:
        nb = p.neighbours(t.index)
        if nb["right"] is not None:
            r = p.tiles[nb["right"]]
            assert (r.row, r.col) == (t.row, t.col + 1) and r.x < t.x + t.width
            assert p.neighbours(r.index)["left"] == t.index
        if nb["bottom"] is not None:
            b = p.tiles[nb["bottom"]]
            assert (b.row, b.col) == (t.row + 1, t.col) and b.y < t.y + t.height
    seams = p.seams
    assert len(seams) == p.rows * (p.cols - 1) + p.cols * (p.rows - 1)
    for s in seams:
        lo, hi = s.overlap
        assert lo <= s.position < hi


def test_json_round_trip_and_version_check():
    p = plan_by_tile_size(5000, 7000, 1024, 768, 96, 16, batch=3)
    text = p.to_json()
    q = TilePlan.from_json(text)
    assert q == p and q.tiles == p.tiles and q.batch == 3
    d = json.loads(text)
    d["version"] = 99
    with pytest.raises(ValueError, match="version 99"):
        TilePlan.from_dict(d)
    d = json.loads(text)
    d["xs"] = [0, 5, 3]
    with pytest.raises(ValueError):
        TilePlan.from_dict(d)


def test_scaled_plan_is_exact_or_says_which_position_fails():
    p = plan_by_tile_size(1000, 1500, 256, 256, 32, 2)
    q = p.scaled(Fraction(4), Fraction(4))
    assert (q.height, q.width, q.tile_height) == (4000, 6000, 1024)
    assert q.cols_axis.starts == tuple(4 * s for s in p.cols_axis.starts)
    half = p.scaled(Fraction(3, 2), Fraction(3, 2))
    assert half.width == 2250
    odd = plan_by_tile_size(1001, 1500, 256, 256, 32, 1)
    with pytest.raises(ValueError, match="not a whole pixel"):
        odd.scaled(Fraction(3, 2), Fraction(3, 2))


@pytest.mark.parametrize("h, w, tile, overlap, most", [
    (1078, 1078, 1024, 64, 1.15),  # the issue's cases: 3.6x, 2.25x and 1.8x with tiles kept at full size
    (2048, 2048, 1024, 64, 1.15),
    (808, 1078, 512, 64, 1.25),   # a small image in small tiles: (n - 1) overlaps are a large share of it
    (4000, 6000, 1024, 64, 1.15),
    (15000, 15000, 1024, 64, 1.15),
    (8160, 12240, 1024, 128, 1.30),
])
def test_shrunk_tiles_cover_little_more_than_the_image(h, w, tile, overlap, most):
    full = plan_tiles(h, w, tile_height=tile, tile_width=tile, overlap=overlap, align=8)
    small = plan_tiles(h, w, tile_height=tile, tile_width=tile, overlap=overlap, align=8, shrink=True)
    assert (small.rows, small.cols) == (full.rows, full.cols)  # the same grid: the same model calls
    assert small.coverage <= min(most, full.coverage) and f"cover {small.coverage:.2f}x" in small.describe()
    for axis in (small.rows_axis, small.cols_axis):
        assert min(axis.overlaps) >= overlap and axis.tile % 8 == 0 or axis.tile == axis.length
        if axis.count > 1:  # the smallest aligned size: one align step less cannot keep the overlap for this count
            with pytest.raises(ValueError):
                tile_for_count_at(axis.length, axis.count, overlap, axis.tile - 8)


def tile_for_count_at(length, count, overlap, tile):
    """Raise unless ``count`` tiles of ``tile`` px (align 8) can cover ``length`` with ``overlap``."""
    from tilestitch.tiling.axis import AxisGrid, even_starts

    starts = even_starts(length, tile, count, 8)
    if max(b - a for a, b in zip(starts, starts[1:])) > tile - overlap:
        raise ValueError("too small")
    return AxisGrid(length, tile, starts)
