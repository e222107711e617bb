"""The latent tiled-denoise core, as a pure function of a predict callable."""

import math

import pytest
import torch

from tilestitch.qa.seam_metrics import seam_scores
from tilestitch.tiling import plan_by_tile_size
from tilestitch.tiling.denoise import GlobalGuidance, adain_towards, latent_plan, shifted_plan, tiled_predict

from support import load_photo


def conv_stack(channels=16, layers=3, seed=0):
    """A fixed random 3x3 conv stack: receptive field reaches 3 px."""
    g = torch.Generator().manual_seed(seed)
    weights = [torch.randn(channels, channels, 3, 3, generator=g) / (3 * channels) ** 0.5 for _ in range(layers)]

    def apply(x):
        for i, w in enumerate(weights):
            x = torch.nn.functional.conv2d(x, w, padding=1)
            if i < layers - 1:
                x = torch.tanh(x)
        return x

    return apply


@pytest.mark.parametrize("window", ["cosine", "gaussian", "uniform"])
@pytest.mark.parametrize("tile_batch_size", [1, 3, 100])
def test_local_operator_matches_the_whole_latent(window, tile_batch_size):
    op = conv_stack()
    x = torch.randn(2, 16, 96, 128, generator=torch.Generator().manual_seed(1))
    plan = latent_plan(96, 128, 48, 48, 16, align=2)
    assert plan.count > 6
    calls = []

    def predict(x_tiles, tiles):
        calls.append(x_tiles.shape[0])
        return op(x_tiles)

    out = tiled_predict(predict, x, plan, window=window, margin=4, tile_batch_size=tile_batch_size)
    assert (out - op(x)).abs().max() <= 1e-5
    assert len(calls) == math.ceil(plan.count / tile_batch_size)  # one evaluation per tile batch
    assert max(calls) == 2 * min(tile_batch_size, plan.count)  # never more than the tile batch at once


def test_without_margin_the_padded_edges_leak_in():
    op = conv_stack()
    x = torch.randn(1, 16, 96, 128)
    plan = latent_plan(96, 128, 48, 48, 16, align=2)
    err = (tiled_predict(lambda t, _: op(t), x, plan, window="cosine") - op(x)).abs().max()
    assert err > 1e-4  # so the margin is what makes the match exact


def test_a_global_operator_shows_seams_the_blend_hides():
    img = load_photo("kodim23")  # a real photo as a 3-channel "latent"
    x = img.permute(0, 3, 1, 2).contiguous()
    plan = plan_by_tile_size(512, 768, 192, 192, 64, 8)

    def per_tile_level(x_tiles, tiles):  # each tile re-centred on its own mean: a "global" operator
        return x_tiles - x_tiles.mean(dim=(2, 3), keepdim=True) + 0.5

    z = {}
    for window in ("none", "cosine"):
        out = tiled_predict(per_tile_level, x, plan, window=window)
        z[window] = max(abs(s.z) for s in seam_scores(out[0].permute(1, 2, 0).clamp(0, 1), plan))
    assert z["none"] > 10.0  # the per-tile level steps are plain seams (measured 20.7)
    assert z["cosine"] < z["none"] / 10, z  # measured 0.59: 35x lower


def test_lists_of_predictions_are_blended_each():
    x = torch.randn(1, 4, 64, 64)
    plan = latent_plan(64, 64, 32, 32, 8, align=1)
    pos, neg = tiled_predict(lambda t, _: [t * 2, -t], x, plan, tile_batch_size=2)
    assert torch.allclose(pos, 2 * x, atol=1e-6) and torch.allclose(neg, -x, atol=1e-6)


def test_shifted_plans_keep_coverage_and_move_the_seams():
    plan = latent_plan(256, 256, 64, 64, 16, align=2)
    seen = set()
    for sigma in torch.linspace(0.05, 14.6, 40).tolist():
        s = shifted_plan(plan, sigma)
        for grid, base in ((s.rows_axis, plan.rows_axis), (s.cols_axis, plan.cols_axis)):
            assert grid.starts[0] == 0 and grid.starts[-1] == base.starts[-1]  # no wrap-around
            assert min(grid.overlaps) > min(base.overlaps) // 2
            assert all(v % 2 == 0 for v in grid.starts[:-1])
        seen.add(s.cols_axis.starts[1])
    assert len(seen) > 4  # the seams move from one noise level to the next
    x = torch.randn(1, 4, 256, 256)
    assert torch.allclose(tiled_predict(lambda t, _: t, x, shifted_plan(plan, 3.3)), x, atol=1e-6)


def test_plan_errors_speak_of_the_model():
    with pytest.raises(ValueError, match="not a multiple of the model's patch size 2"):
        latent_plan(127, 128, 64, 64, 16, align=2)
    with pytest.raises(ValueError, match="smaller than the model's patch size 4"):
        latent_plan(128, 128, 2, 64, 0, align=4)
    with pytest.raises(ValueError, match="tile_batch_size must be >= 1"):
        tiled_predict(lambda t, _: t, torch.zeros(1, 4, 64, 64), latent_plan(64, 64, 32, 32, 8, 1), tile_batch_size=0)


def test_global_guidance_pulls_towards_the_global_latent_and_fades_with_sigma():
    torch.manual_seed(0)
    x = torch.randn(1, 4, 64, 64)
    plan = latent_plan(64, 64, 32, 32, 8, align=1)
    target = torch.randn(1, 4, 8, 8) * 0.3 + 2.0
    drifted = lambda t, _: t * 1.5 - 1.0  # noqa: E731
    plain = tiled_predict(drifted, x, plan)
    g = GlobalGuidance(target, adain=1.0, sigma_max=10.0)
    pulled = tiled_predict(drifted, x, plan, sigma=10.0, guidance=g)
    faded = tiled_predict(drifted, x, plan, sigma=0.0, guidance=g)
    assert torch.equal(faded, plain)  # no pull at sigma 0
    assert (pulled.mean() - target.mean()).abs() < 0.05 < (plain.mean() - target.mean()).abs()
    skip = tiled_predict(drifted, x, plan, sigma=10.0, guidance=GlobalGuidance(target, skip_residual=1.0, sigma_max=10.0))
    up = torch.nn.functional.interpolate(target, size=(64, 64), mode="bilinear", align_corners=False)
    assert torch.allclose(skip, up, atol=1e-6)  # full skip residual at the top sigma: the global latent
    same = adain_towards(x, x, 1.0)
    assert torch.allclose(same, x, atol=1e-5)


def test_frequency_guidance_takes_the_low_band_from_the_global_latent_and_keeps_the_tiles_detail():
    """Tiles whose predictions drift (a gain and an offset of their own, as a model run tile by tile does) follow the
    global latent below its resolution: per-tile mean drift and low-band error fall at least 5 x; the detail stays."""
    g = torch.Generator().manual_seed(3)
    coarse = torch.randn(1, 4, 8, 8, generator=g)
    truth = torch.nn.functional.interpolate(coarse, size=(64, 64), mode="bilinear", align_corners=False)
    truth = truth + 0.3 * torch.randn(1, 4, 64, 64, generator=g)
    global_latent = torch.nn.functional.avg_pool2d(truth, 8)  # what the global context sees: 8 x 8
    plan = latent_plan(64, 64, 32, 32, 8, align=1)
    gains = 1 + 0.4 * (torch.rand(plan.count, generator=g) - 0.5)
    offsets = 0.6 * (torch.rand(plan.count, generator=g) - 0.5)

    def drifting(t, tiles):
        k = torch.tensor([tile.index for tile in tiles]).repeat_interleave(t.shape[0] // len(tiles))
        return t * gains[k].view(-1, 1, 1, 1) + offsets[k].view(-1, 1, 1, 1)

    guidance = GlobalGuidance(global_latent, low_band=1.0, sigma_max=10.0)
    plain = tiled_predict(drifting, truth, plan)
    guided = tiled_predict(drifting, truth, plan, sigma=10.0, guidance=guidance)
    assert torch.equal(tiled_predict(drifting, truth, plan, sigma=0.0, guidance=guidance), plain)  # faded out at sigma 0

    def tile_drift(result):
        return max(float((result - truth)[..., t.y + 8 : t.y + t.height - 8, t.x + 8 : t.x + t.width - 8].mean().abs()) for t in plan)

    def low_error(result):
        return float((torch.nn.functional.avg_pool2d(result - truth, 8)).square().mean().sqrt())

    assert tile_drift(guided) < 0.2 * tile_drift(plain)
    assert low_error(guided) < 0.2 * low_error(plain)

    def detail(v):
        return v - torch.nn.functional.interpolate(torch.nn.functional.avg_pool2d(v, 8), size=v.shape[-2:], mode="bilinear",
                                                   align_corners=False)

    assert float((detail(guided) - detail(plain)).abs().mean()) < 0.25 * float(detail(plain).abs().mean())
