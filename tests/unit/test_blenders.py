"""Split / merge round trips and blender behaviour on real photos."""

import pytest
import torch
import torch.nn.functional as F

from tilestitch.blenders import BLENDERS, blend
from tilestitch.blenders.bands import seam_bands
from tilestitch.qa.seam_metrics import seam_scores
from tilestitch.tiling import LATENT, MASK, compose, extract_tiles, plan_by_tile_size

from support import load_photo

GRIDS = [
    dict(tile_height=256, tile_width=320, overlap=64, align=1),
    dict(tile_height=200, tile_width=200, overlap=150, align=8),  # three tiles over some pixels
    dict(tile_height=128, tile_width=128, overlap=7, align=1),  # narrow, odd overlap
    dict(tile_height=1024, tile_width=300, overlap=32, align=16),  # one row
    dict(tile_height=2048, tile_width=2048, overlap=64, align=1),  # one tile
]


@pytest.mark.parametrize("method", list(BLENDERS))
@pytest.mark.parametrize("grid", GRIDS, ids=lambda g: "{tile_height}x{tile_width}o{overlap}a{align}".format(**g))
def test_identity_round_trip_on_a_real_photo(method, grid):
    img = load_photo("kodim23")  # 768 x 512 Kodak
    plan = plan_by_tile_size(img.shape[1], img.shape[2], **grid)
    out = blend(extract_tiles(img, plan), plan, method)
    assert out.shape == img.shape and out.dtype == img.dtype
    assert (out - img).abs().max().item() <= 1e-6


@pytest.mark.parametrize("method", list(BLENDERS))
def test_identity_on_a_large_photo_with_batch_and_alpha(method):
    rgb = load_photo("parrots", max_side=1400)
    alpha = torch.linspace(0, 1, rgb.shape[2]).expand(1, rgb.shape[1], rgb.shape[2]).unsqueeze(-1)
    img = torch.cat([torch.cat([rgb, alpha], -1), torch.cat([rgb.flip(2), 1 - alpha], -1)], 0)  # [2, H, W, 4]
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 384, 384, 96, 8, batch=2)
    tiles = extract_tiles(img, plan)
    assert tiles.shape == (2 * plan.count, 384, 384, 4)
    torch.testing.assert_close(tiles[plan.count + 5], img[1, plan.tiles[5].y : plan.tiles[5].y + 384, plan.tiles[5].x : plan.tiles[5].x + 384])
    out = blend(tiles, plan, method)
    assert (out - img).abs().max().item() <= 1e-6


@pytest.mark.parametrize("method", list(BLENDERS))
def test_identity_for_masks_and_latents(method):
    img = load_photo("kodim04")
    mask = img[..., 0]  # [1, H, W]
    plan = plan_by_tile_size(mask.shape[1], mask.shape[2], 200, 200, 48, 1)
    out = blend(extract_tiles(mask, plan, MASK), plan, method, layout=MASK)
    assert (out - mask).abs().max().item() <= 1e-6
    latent = torch.randn(2, 16, 96, 128)
    plan = plan_by_tile_size(96, 128, 48, 64, 16, 2, batch=2)
    out = blend(extract_tiles(latent, plan, LATENT), plan, method, layout=LATENT)
    assert (out - latent).abs().max().item() <= 1e-5


def nearest_up(x: torch.Tensor, f: int) -> torch.Tensor:
    return x.repeat_interleave(f, dim=1).repeat_interleave(f, dim=2)


@pytest.mark.parametrize("method", ["cosine", "multiband"])
def test_upscaled_tiles_merge_into_the_upscaled_image(method):
    img = load_photo("kodim23")
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 256, 256, 48, 1)
    tiles = nearest_up(extract_tiles(img, plan), 4)  # an exact x4 "model"
    out = blend(tiles, plan, method)
    assert out.shape == (1, 4 * img.shape[1], 4 * img.shape[2], 3)
    assert (out - nearest_up(img, 4)).abs().max().item() <= 1e-6


def test_fractional_scale_maps_when_aligned_and_errors_otherwise():
    img = load_photo("kodim23")
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 256, 256, 48, 2)
    down = F.interpolate(extract_tiles(img, plan).permute(0, 3, 1, 2), scale_factor=0.5, mode="area").permute(0, 2, 3, 1)
    out = blend(down.contiguous(), plan, "cosine")
    assert out.shape == (1, img.shape[1] // 2, img.shape[2] // 2, 3)
    ref = F.interpolate(img.permute(0, 3, 1, 2), scale_factor=0.5, mode="area").permute(0, 2, 3, 1)
    assert (out - ref).abs().max().item() <= 1e-6  # area /2 of aligned tiles == area /2 of the image
    odd = plan_by_tile_size(img.shape[1], img.shape[2], 255, 255, 48, 1)
    tiles = extract_tiles(img, odd)
    up = F.interpolate(tiles.permute(0, 3, 1, 2), size=(382, 382)).permute(0, 2, 3, 1).contiguous()
    with pytest.raises(ValueError, match=r"tiles are 382 x 382 px for a plan of 255 x 255 px tiles .* not a whole pixel"):
        blend(up, odd, "cosine")


def test_tile_count_must_match_the_plan():
    img = load_photo("kodim23")
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 256, 256, 48, 1)
    tiles = extract_tiles(img, plan)
    with pytest.raises(ValueError, match=f"got {plan.count - 1} tiles but the tile plan has {plan.count} tiles"):
        blend(tiles[1:], plan, "cosine")
    with pytest.raises(ValueError, match="unknown blend method 'poisson-ish'"):
        blend(tiles, plan, "poisson-ish")


def disagreeing_tiles(img, plan, spread=0.06, seed=0):
    """Tiles whose gains differ per tile and channel, as independent model runs drift."""
    g = torch.Generator().manual_seed(seed)
    tiles = extract_tiles(img, plan)
    gain = 1 + spread * (torch.rand(tiles.shape[0], 1, 1, tiles.shape[-1], generator=g) - 0.5)
    return (tiles * gain).contiguous()


@pytest.mark.parametrize("name", ["bokeh", "child"])  # smooth aquarium bokeh; smooth teal studio backdrop
def test_blends_hide_seams_that_a_hard_cut_shows(name):
    img = load_photo(name, max_side=1536)
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 512, 512, 128, 8)
    tiles = disagreeing_tiles(img, plan)
    worst = lambda out: max(abs(s.z) for s in seam_scores(out[0], plan))  # noqa: E731
    z_orig = worst(img)
    z = {m: worst(blend(tiles, plan, m)) for m in BLENDERS}
    assert z["none"] > z_orig + 2.0, z  # a +-3 % gain step at a hard cut (a 1/255 step scores about 1)
    for m in ("linear", "cosine", "gaussian", "multiband"):
        assert z[m] < z_orig + 0.25, (z_orig, z)  # no worse than the photo's own structure at the seam lines


def test_multiband_changes_only_the_seam_bands():
    img = load_photo("kodim23")
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 256, 256, 64, 1)
    tiles = disagreeing_tiles(img, plan)
    hard = blend(tiles, plan, "none")
    mb = blend(tiles, plan, "multiband")
    inside = torch.zeros(img.shape[1], img.shape[2], dtype=torch.bool)
    for b in seam_bands(plan.cols_axis):
        inside[:, b.lo : b.hi] = True
    for b in seam_bands(plan.rows_axis):
        inside[b.lo : b.hi, :] = True
    assert torch.equal(mb[0][~inside], hard[0][~inside])  # bit-identical outside the bands
    assert (mb[0][inside] - hard[0][inside]).abs().max() > 1e-3


def test_progress_reports_every_row_or_band_and_an_exception_stops_the_merge():
    img = load_photo("kodim23")
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 200, 200, 40, 1)
    tiles = extract_tiles(img, plan)
    for method in ("cosine", "multiband", "poisson"):
        seen = []
        blend(tiles, plan, method, progress=lambda d, t: seen.append((d, t)))
        if method == "cosine":  # one pass per row of cells
            assert seen == [((r + 1) * plan.cols, plan.count) for r in range(plan.rows)]
        else:  # band blenders: after every tile joined into its strip and every strip joined
            total = plan.count + plan.rows
            assert seen == [(k, total) for k in range(1, total + 1)]

        class Stop(Exception):
            pass

        def interrupt(done, total):
            if done >= plan.cols:
                raise Stop

        with pytest.raises(Stop):
            blend(tiles, plan, method, progress=interrupt)


def test_compose_writes_into_a_given_buffer():
    img = load_photo("kodim23")
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 256, 256, 32, 1)
    out = torch.full_like(img, -1.0)
    res = compose(extract_tiles(img, plan), plan, "cosine", out=out)
    assert res.data_ptr() == out.data_ptr() and (out - img).abs().max() <= 1e-6
    with pytest.raises(ValueError, match="out has shape"):
        compose(extract_tiles(img, plan), plan, "cosine", out=out[:, :10])
