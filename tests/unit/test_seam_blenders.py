"""Poisson seams, optimal cuts and the frequency-aware merge."""

import itertools

import numpy as np
import pytest
import torch

from tilestitch.blenders import blend
from tilestitch.blenders.bands import assemble_with_bands, seam_bands
from tilestitch.correct.frequency import auto_levels, frequency_merge
from tilestitch.blenders.poisson import poisson_fix, seam_divergence, solve_band_poisson
from tilestitch.imaging.resample import resize_image
from tilestitch.blenders.seam_paths import min_cost_path, optimal_cutter
from tilestitch.qa.seam_metrics import seam_scores
from tilestitch.tiling import extract_tiles, plan_by_tile_size

from support import load_photo


def laplacian_mixed(c: np.ndarray) -> np.ndarray:
    """5-point Laplacian: zero outside across (last axis), reflective at the ends (axis -2)."""
    p = np.pad(c, [(0, 0)] * (c.ndim - 2) + [(1, 1), (1, 1)])
    p[..., 0, :] = p[..., 1, :]
    p[..., -1, :] = p[..., -2, :]
    return p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:] - 4 * c


def test_band_solver_inverts_the_mixed_laplacian():
    rng = np.random.default_rng(0)
    for shape in [(5, 7), (2, 64, 31), (3, 200, 127)]:
        rhs = rng.standard_normal(shape)
        c = solve_band_poisson(rhs)
        np.testing.assert_allclose(laplacian_mixed(c), rhs, atol=1e-9)


def test_a_level_step_becomes_a_straight_ramp():
    first = torch.zeros(1, 1, 6, 40, dtype=torch.float64)
    second = torch.ones_like(first)
    out = poisson_fix(first, second, torch.full((6,), 20))[0, 0]
    ramp = out[0]
    np.testing.assert_allclose(np.diff(ramp.numpy()), np.diff(ramp.numpy())[0], atol=1e-9)  # one slope, no step
    assert 0 < ramp[0] < 0.05 and 0.95 < ramp[-1] <= 1.0 and torch.allclose(out, ramp.expand_as(out))


def test_divergence_only_sees_the_disagreement():
    diff = torch.zeros(1, 1, 8, 8)
    side = torch.zeros(8, 8, dtype=torch.bool)
    side[:, 4:] = True
    assert float(seam_divergence(diff, side).abs().max()) == 0.0  # tiles agree: nothing to correct
    assert float(seam_divergence(torch.ones(1, 1, 8, 8), side).abs().sum()) > 0


@pytest.mark.parametrize("method", ["poisson", "multiband"])
def test_optimal_cut_round_trips_and_hides_disagreeing_tiles(method):
    img = load_photo("water", max_side=1536)  # smooth dark water gradient
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 512, 512, 128, 8)
    tiles = extract_tiles(img, plan)
    assert (blend(tiles, plan, method, cutter=optimal_cutter()) - img).abs().max() <= 1e-5
    g = torch.Generator().manual_seed(3)
    drift = (tiles * (1 + 0.06 * (torch.rand(tiles.shape[0], 1, 1, 3, generator=g) - 0.5))).contiguous()
    z_orig = max(abs(s.z) for s in seam_scores(img[0], plan))
    z_none = max(abs(s.z) for s in seam_scores(blend(drift, plan, "none")[0], plan))
    for cutter in (None, optimal_cutter()):
        opts = {} if cutter is None else {"cutter": cutter}
        z = max(abs(s.z) for s in seam_scores(blend(drift, plan, method, **opts)[0], plan))
        assert z < z_orig + 0.25 < z_none, (z, z_orig, z_none)


def test_min_cost_path_is_optimal():
    rng = np.random.default_rng(1)
    for _ in range(30):
        cost = rng.random((5, 6))
        path = min_cost_path(cost, 0, 6)
        assert all(abs(int(a) - int(b)) <= 1 for a, b in zip(path, path[1:]))
        best = min(
            sum(cost[y, x] for y, x in enumerate(p))
            for p in itertools.product(range(6), repeat=5)
            if all(abs(a - b) <= 1 for a, b in zip(p, p[1:]))
        )
        assert sum(cost[y, x] for y, x in enumerate(path)) == pytest.approx(best)
    assert set(min_cost_path(rng.random((50, 20)), 4, 16)) <= set(range(4, 16))


def hard_cut(first, second, cut):
    x = torch.arange(first.shape[-1])
    return torch.where(x[None, :] >= cut[:, None], second, first)


def test_optimal_cut_never_crosses_the_protect_mask():
    img = load_photo("kodim23")  # 768 x 512 parrots
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 320, 320, 128, 8)
    tiles = extract_tiles(img, plan)
    other = (tiles.flip(0) * 0.5).contiguous()  # a very different second rendition of every tile
    mixed = torch.where((torch.arange(plan.count) % 2 == 0).view(-1, 1, 1, 1), tiles, other).contiguous()
    protect = torch.zeros(img.shape[1], img.shape[2])
    for b in seam_bands(plan.cols_axis):  # a blob on the centre line of every vertical seam band
        protect[100:200, b.cut - 20 : b.cut + 20] = 1.0
    cutter = optimal_cutter(protect)
    out = assemble_with_bands(mixed, plan, hard_cut, cutter=cutter)
    assert cutter.crossings == []
    # inside each blob every pixel is from one tile: the columns of a blob row are not a mix of both
    for b in seam_bands(plan.cols_axis):
        for y in range(100, 200, 7):
            t = next(t for t in plan if t.y <= y < t.y + t.height and t.x <= b.cut - 20 and b.cut + 20 <= t.x + t.width)
            row = out[0, y, b.cut - 20 : b.cut + 20]
            candidates = [mixed[k, y - plan.tiles[k].y, b.cut - 20 - plan.tiles[k].x : b.cut + 20 - plan.tiles[k].x]
                          for k in range(plan.count) if plan.tiles[k].row == t.row
                          and plan.tiles[k].x <= b.cut - 20 and b.cut + 20 <= plan.tiles[k].x + plan.tiles[k].width]
            assert any(torch.equal(row, c) for c in candidates)


def test_frequency_merge_removes_drift_and_keeps_detail():
    img = load_photo("bokeh", max_side=1536)
    h, w = img.shape[1:3]
    drift = img.clone()
    drift[:, : h // 2, : w // 2] *= 1.05
    drift[:, h // 2 :, w // 2 :] *= 0.95
    ref = resize_image(img, h // 4, w // 4)
    assert auto_levels((h, w), (h // 4, w // 4)) == 3
    psnr = lambda a, b: float(10 * torch.log10(1 / ((a - b) ** 2).mean()))  # noqa: E731
    for method in ("wavelet", "gaussian"):
        out = frequency_merge(drift, ref, method=method)
        assert psnr(out, img) > psnr(drift, img) + 15
        same = frequency_merge(img, img, method=method, levels=3)
        assert (same - img).abs().max() <= 1e-5
        half = frequency_merge(drift, ref, method=method, strength=0.5)
        assert psnr(drift, img) < psnr(half, img) < psnr(out, img)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(method="fft"), "unknown method 'fft'"),
        (dict(wavelet="haar"), "unknown wavelet 'haar'"),
        (dict(strength=1.5), r"strength must be in \[0, 1\]"),
    ],
)
def test_frequency_merge_rejects_bad_options(kwargs, message):
    img = torch.rand(1, 64, 64, 3)
    with pytest.raises(ValueError, match=message):
        frequency_merge(img, img, **kwargs)
    with pytest.raises(ValueError, match="reference has 4 channels, the image 3"):
        frequency_merge(img, torch.rand(1, 16, 16, 4))


def _reference_path(cost, lo, hi):
    """The dynamic programme written plainly in numpy (the compiled one must agree exactly)."""
    length, width = cost.shape
    c = np.full_like(cost, np.inf, dtype=np.float64)
    c[:, lo:hi] = cost[:, lo:hi]
    acc = c[0].copy()
    back = np.zeros((length, width), dtype=np.int8)
    for y in range(1, length):
        stack = np.stack([np.concatenate(([np.inf], acc[:-1])), acc, np.concatenate((acc[1:], [np.inf]))])
        choice = np.argmin(stack, axis=0)
        back[y] = choice.astype(np.int8) - 1
        acc = stack[choice, np.arange(width)] + c[y]
    path = np.empty(length, dtype=np.int64)
    path[-1] = int(np.argmin(acc))
    for y in range(length - 1, 0, -1):
        path[y - 1] = path[y] + back[y, path[y]]
    return path


@pytest.mark.parametrize("seed", range(4))
def test_compiled_min_cost_path_equals_the_plain_programme(seed):
    from tilestitch.blenders.seam_paths import min_cost_path

    rng = np.random.default_rng(seed)
    cost = rng.random((300, 41))
    if seed % 2:
        cost = np.round(cost * 3)  # many ties
    for lo, hi in ((0, 41), (4, 37), (20, 21)):
        got = min_cost_path(cost, lo, hi)
        assert np.array_equal(got, _reference_path(cost, lo, hi))
        assert np.all((got >= lo) & (got < hi)) and np.all(np.abs(np.diff(got)) <= 1)
