"""Global context and per-tile colour correction on real photos."""

import pytest
import torch

from tilestitch.blenders import blend
from tilestitch.correct.tile_color import METHODS, correct_tiles, tile_drift
from tilestitch.correct.global_context import build_context
from tilestitch.qa.seam_metrics import seam_scores
from tilestitch.tiling import extract_tiles, plan_by_tile_size

from support import load_photo


def psnr(a, b):
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


def drifting(tiles, seed=0, gain=0.08, offset=0.03):
    """Per-tile, per-channel exposure / white-balance drift: ``x * g + o``."""
    g = torch.Generator().manual_seed(seed)
    n, c = tiles.shape[0], min(tiles.shape[-1], 3)
    out = tiles.clone()
    out[..., :c] = tiles[..., :c] * (1 + gain * (2 * torch.rand(n, 1, 1, c, generator=g) - 1)) + offset * (2 * torch.rand(n, 1, 1, c, generator=g) - 1)
    return out


@pytest.fixture(scope="module")
def scene():
    img = load_photo("child", max_side=1536)  # smooth teal backdrop: drift is easy to see
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 512, 512, 96, 8)
    tiles = extract_tiles(img, plan)
    return img, plan, tiles, build_context(img, 512)


def test_context_contents():
    img = load_photo("beach", max_side=2048)
    ctx = build_context(img, max_side=300)
    assert max(ctx.reference.shape[1:3]) == 300 and ctx.reference.shape[0] == 1
    torch.testing.assert_close(ctx.reference[0].mean(dim=(0, 1)), img[0].mean(dim=(0, 1)), atol=2e-3, rtol=0)  # area means keep the mean
    whole = ctx.crop(0, 0, 0, ctx.source_height, ctx.source_width, *ctx.reference.shape[1:3])
    assert (whole - ctx.reference[0]).abs().max() < 1e-5  # a box over the whole image is the reference
    latent = torch.randn(1, 16, 25, 37)
    with_latent = ctx.with_latent(latent)
    assert torch.equal(with_latent.latent, latent) and with_latent.summary()["latent_shape"] == [1, 16, 25, 37]


@pytest.mark.parametrize("method", METHODS)
def test_each_method_removes_drift(scene, method):
    img, plan, tiles, ctx = scene
    drift = drifting(tiles)
    before = blend(drift, plan, "cosine")
    fixed = correct_tiles(drift, plan, ctx, method)
    after = blend(fixed, plan, "cosine")
    de_before = max(s.delta_e for s in seam_scores(before[0], plan, reference=img[0]))
    de_after = max(s.delta_e for s in seam_scores(after[0], plan, reference=img[0]))
    assert psnr(after, img) > psnr(before, img) + 6
    assert de_after < de_before / 2
    assert float(tile_drift(fixed, plan, ctx).mean()) < float(tile_drift(drift, plan, ctx).mean()) / 2
    if method == "joint_gain":
        assert de_after < 1.0  # below the just-noticeable difference across every seam


def test_strength_interpolates(scene):
    img, plan, tiles, ctx = scene
    drift = drifting(tiles)
    assert torch.equal(correct_tiles(drift, plan, ctx, "joint_gain", 0.0), drift)
    p = [psnr(blend(correct_tiles(drift, plan, ctx, "joint_gain", s), plan, "cosine"), img) for s in (0.0, 0.5, 1.0)]
    assert p[0] < p[1] < p[2]


@pytest.mark.parametrize("method", METHODS)
def test_alpha_is_untouched_and_masks_work(scene, method):
    img, plan, tiles, ctx = scene
    alpha = torch.rand(tiles.shape[:3] + (1,))
    rgba = torch.cat([drifting(tiles), alpha], -1)
    ctx4 = build_context(torch.cat([img, torch.ones_like(img[..., :1])], -1), 512)
    out = correct_tiles(rgba, plan, ctx4, method)
    assert torch.equal(out[..., 3:], alpha)
    grey_img = img[..., 1:2]
    grey_plan_tiles = extract_tiles(grey_img, plan)
    grey = drifting(grey_plan_tiles)
    gctx = build_context(grey_img, 512)
    fixed = correct_tiles(grey, plan, gctx, method)
    assert psnr(blend(fixed, plan, "cosine"), grey_img) > psnr(blend(grey, plan, "cosine"), grey_img) + 3


def test_batches_use_their_own_reference():
    a, b = load_photo("kodim23"), load_photo("kodim23").flip(2) * 0.8
    imgs = torch.cat([a, b])
    plan = plan_by_tile_size(512, 768, 256, 256, 64, 8, batch=2)
    ctx = build_context(imgs, 256)
    drift = drifting(extract_tiles(imgs, plan))
    out = blend(correct_tiles(drift, plan, ctx, "joint_gain"), plan, "cosine")
    for i in range(2):
        assert psnr(out[i : i + 1], imgs[i : i + 1]) > psnr(blend(drift, plan, "cosine")[i : i + 1], imgs[i : i + 1]) + 6


def test_upscaled_tiles_are_corrected_against_the_source_context(scene):
    img, plan, tiles, ctx = scene
    up = drifting(tiles).repeat_interleave(2, 1).repeat_interleave(2, 2)
    out = blend(correct_tiles(up, plan, ctx, "joint_gain"), plan, "cosine")
    ref = img.repeat_interleave(2, 1).repeat_interleave(2, 2)
    assert out.shape == ref.shape and psnr(out, ref) > psnr(blend(up, plan, "cosine"), ref) + 6


def test_bad_context_and_options_are_named(scene):
    img, plan, tiles, ctx = scene
    other = build_context(img[:, :-8], 256)
    with pytest.raises(ValueError, match=r"global context was built from a \d+ x \d+ image, but the tile plan is for"):
        correct_tiles(tiles, plan, other, "joint_gain")
    with pytest.raises(ValueError, match="unknown colour correction 'histogram'"):
        correct_tiles(tiles, plan, ctx, "histogram")
    with pytest.raises(ValueError, match=r"strength must be in \[0, 1\]"):
        correct_tiles(tiles, plan, ctx, "joint_gain", 2.0)
    with pytest.raises(ValueError, match="max_side must be at least 8"):
        build_context(img, 4)


@pytest.mark.parametrize("method", METHODS)
def test_unchanged_tiles_stay_unchanged(scene, method):
    img, plan, tiles, ctx = scene
    out = correct_tiles(tiles, plan, ctx, method)
    if method == "wavelet_lowfreq":  # a reference at 1/3 the resolution cannot reproduce the top octaves exactly
        assert psnr(blend(out, plan, "cosine"), img) > 45  # measured 49 dB
    else:  # the anchors compare the tile and the reference over the very same footprints
        assert (out - tiles).abs().max() <= 1e-5
