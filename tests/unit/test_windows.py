"""Blend windows: partition of unity, shapes, cut positions."""

import numpy as np
import pytest

from tilestitch.tiling import WINDOWS, axis_weights, plan_axis, plan_by_tile_size, weight_map
from tilestitch.tiling.windows import _raw_profile

GRIDS = [
    plan_axis(1000, 256, 64, 1),
    plan_axis(10000, 1024, 208, 8),
    plan_axis(777, 200, 150, 8),  # three tiles over some pixels
    plan_axis(500, 1024, 64, 1),  # one tile
    plan_axis(129, 64, 63, 1),  # step of one pixel
]


@pytest.mark.parametrize("kind", WINDOWS)
@pytest.mark.parametrize("grid", GRIDS, ids=lambda g: f"{g.length}/{g.tile}x{g.count}")
def test_axis_weights_are_a_partition_of_unity(kind, grid):
    total = np.zeros(grid.length)
    for s, w in zip(grid.starts, axis_weights(grid, kind)):
        assert w.shape == (grid.tile,)
        assert w.min() >= 0.0 and w.max() <= 1.0 + 1e-15
        total[s : s + grid.tile] += w
    np.testing.assert_allclose(total, 1.0, atol=1e-12)


@pytest.mark.parametrize("kind", WINDOWS)
def test_2d_weights_sum_to_one(kind):
    p = plan_by_tile_size(900, 1300, 300, 400, 90, 1)
    acc = np.zeros((p.height, p.width))
    for t in p:
        acc[t.y : t.y + t.height, t.x : t.x + t.width] += weight_map(p.rows_axis, p.cols_axis, t.row, t.col, kind)
    np.testing.assert_allclose(acc, 1.0, atol=1e-12)


def test_cosine_ramps_are_exact_complements_before_normalisation():
    g = plan_axis(3000, 1024, 200, 1)
    a, b = _raw_profile(g, 0, "cosine", 0.1), _raw_profile(g, 1, "cosine", 0.1)
    ov = g.overlaps[0]
    np.testing.assert_allclose(a[-ov:] + b[:ov], 1.0, atol=1e-15)
    assert np.all(np.diff(b[:ov]) > 0)  # strictly rising across the overlap
    assert 0 < b[0] < 1e-4 and 1 - 1e-4 < b[ov - 1] < 1  # sampled at pixel centres


def test_linear_ramp_is_linear_and_symmetric():
    g = plan_axis(1948, 1024, 100, 1)
    assert g.count == 2 and g.overlaps == (100,)
    w = axis_weights(g, "linear")
    ov = g.overlaps[0]
    rise = w[1][:ov]
    np.testing.assert_allclose(np.diff(rise), 1.0 / ov, atol=1e-12)
    np.testing.assert_allclose(rise + rise[::-1], 1.0, atol=1e-12)


def test_none_cuts_at_the_overlap_centre():
    g = plan_axis(3000, 1024, 201, 1)
    w = axis_weights(g, "none")
    for k, cut in enumerate(g.seams):
        left = g.starts[k]
        assert set(np.unique(w[k])) <= {0.0, 1.0}
        assert w[k][cut - 1 - left] == 1.0 and w[k][cut - left] == 0.0
        assert w[k + 1][cut - g.starts[k + 1]] == 1.0


def test_gaussian_peaks_at_the_tile_centre():
    g = plan_axis(1024, 1024, 0, 1)
    raw = _raw_profile(g, 0, "gaussian", 0.1)
    assert np.argmax(raw) in (511, 512)
    np.testing.assert_allclose(raw, raw[::-1], atol=1e-15)
    # std 0.1 * tile: at one std from the centre the weight is exp(-1/2)
    x = 613
    assert raw[x] == pytest.approx(np.exp(-0.5 * ((x - 511.5) / 102.4) ** 2), rel=1e-12)


def test_bad_window_arguments():
    g = plan_axis(100, 50, 10, 1)
    with pytest.raises(ValueError, match="unknown window 'box'"):
        axis_weights(g, "box")
    with pytest.raises(ValueError, match="sigma must be a positive number"):
        axis_weights(g, "gaussian", -1.0)


@pytest.mark.parametrize("kind", ["linear", "cosine", "gaussian", "uniform"])
def test_margins_zero_the_tile_edges_and_keep_unity(kind):
    g = plan_axis(3000, 512, 96, 8)
    for margin in (0, 8, 48):
        total = np.zeros(g.length)
        for k, (s, w) in enumerate(zip(g.starts, axis_weights(g, kind, margin=margin))):
            total[s : s + g.tile] += w
            if margin and k > 0:
                assert not w[:margin].any()
            if margin and k < g.count - 1:
                assert not w[-margin:].any()
        np.testing.assert_allclose(total, 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="margin 49 must be between 0 and half the smallest overlap"):
        axis_weights(g, kind, margin=49)
