"""Seam tiles (``tiling/seam_tiles.py``) and their nodes: zones on every seam, nothing outside them touched, seams redrawn."""

import json

import pytest
import torch

from tilestitch.nodes.common import merge_tiles
from tilestitch.nodes.seam_tiles import SeamTiles, SeamTilesList, SeamTilesMerge, SeamTilesMergeList
from tilestitch.qa.seam_metrics import seam_scores
from tilestitch.tiling import IMAGE, extract_tiles, plan_by_tile_size
from tilestitch.tiling.seam_tiles import (SEAM_MODES, _cover, extract_seam_tiles, merge_seam_tiles, plan_seam_tiles, zone_share,
                                          zone_weight)

from support import load_photo

PLAN = plan_by_tile_size(700, 1000, 256, 256, 48)


def seamed_photo(name):
    """A shared photo (2400 px) cut into 768 px tiles that disagree (±4 % gain per tile) merged with no blend: hard
    seams. Returns the photo, the plan, the merged image."""
    img = load_photo(name, 2400)
    _, h, w, _ = img.shape
    plan = plan_by_tile_size(h, w, 768, 768, 96)
    tiles = extract_tiles(img, plan, IMAGE)
    gains = 1 + 0.08 * (torch.rand(tiles.shape[0], 1, 1, 3, generator=torch.Generator().manual_seed(3)) - 0.5)
    merged, _ = merge_tiles((tiles * gains).clamp(0, 1), plan, "none")
    return img, plan, merged


def box_smooth(tiles, k):
    """A k x k box filter over ``[N, h, w, C]`` tiles (a stand-in for a model redrawing a seam zone)."""
    return torch.nn.functional.avg_pool2d(tiles.permute(0, 3, 1, 2), k, 1, k // 2, count_include_pad=False).permute(0, 2, 3, 1)


def worst_seam(image, plan):
    """The largest seam |z| of ``image`` ``[1, H, W, C]`` on ``plan``'s seams."""
    return max(abs(s.z) for s in seam_scores(image[0], plan))


def full_zone(sp):
    return torch.cat([zone_weight(sp, y, min(sp.height, y + 128), 0, sp.width) for y in range(0, sp.height, 128)])


@pytest.mark.parametrize("length, size, overlap, centres", [(3000, 512, 64, []), (3000, 512, 64, [900, 1800]),
                                                             (1000, 256, 48, [233, 466, 700]), (700, 700, 0, [350])])
def test_the_cover_spans_the_axis_with_the_overlap_and_boxes_on_every_centre(length, size, overlap, centres):
    starts = _cover(length, size, overlap, centres)
    assert starts[0] == 0 and starts[-1] + size == length
    assert all(b - (a + size) <= -(overlap - overlap // 8) for a, b in zip(starts, starts[1:]))  # consecutive boxes overlap
    for c in centres:
        assert any(abs(s + size / 2 - c) <= 1 or s in (0, length - size) and s <= c < s + size for s in starts)


@pytest.mark.parametrize("mode", SEAM_MODES)
def test_the_zone_holds_every_seam_line_at_full_weight_and_never_spreads_beyond_its_width(mode):
    sp = plan_seam_tiles(PLAN, mode, 32, 128, 128, 32)
    zone = full_zone(sp)
    lines_x, lines_y = PLAN.cols_axis.seams, PLAN.rows_axis.seams
    if mode == "crossings":
        for q in lines_y:
            for p in lines_x:  # where four tiles meet, both lines at full weight
                assert float(zone[q - 1 : q + 1, p - 1 : p + 1].min()) == 1.0
    else:
        for p in lines_x:
            assert float(zone[:, p - 1 : p + 1].min()) == 1.0
        for q in lines_y:
            assert float(zone[q - 1 : q + 1, :].min()) == 1.0
    # nothing farther than half the zone width from a seam line
    ys, xs = torch.arange(sp.height)[:, None].float() + 0.5, torch.arange(sp.width)[None, :].float() + 0.5
    dist = torch.full((sp.height, sp.width), float("inf"))
    for p in lines_x:
        dist = torch.minimum(dist, (xs - p).abs().expand_as(dist))
    for q in lines_y:
        dist = torch.minimum(dist, (ys - q).abs().expand_as(dist))
    assert not bool((zone[dist >= 16] > 0).any())


@pytest.mark.parametrize("mode", SEAM_MODES)
def test_identity_gives_the_image_back_and_any_process_leaves_the_outside_bit_identical(mode):
    img = torch.rand(2, 700, 1000, 3, generator=torch.Generator().manual_seed(0))
    sp = plan_seam_tiles(PLAN.with_batch(2), mode, 32, 128, 128, 32)
    tiles = extract_seam_tiles(img, sp)
    assert tiles.shape == (2 * sp.count, 128, 128, 3)
    assert float((merge_seam_tiles(img, tiles, sp) - img).abs().max()) <= 1e-6
    out = merge_seam_tiles(img, torch.rand(tiles.shape, generator=torch.Generator().manual_seed(1)), sp)
    outside = full_zone(sp) == 0
    assert torch.equal(out[:, outside], img[:, outside])
    assert not torch.equal(out, img)


def test_bands_redraw_about_a_tenth_of_a_photo_merged_from_1024_px_tiles():
    plan = plan_by_tile_size(4000, 6000, 1024, 1024, 128)
    sp = plan_seam_tiles(plan, "bands", 64, 512, 512, 64)
    assert 0.05 < zone_share(sp) < 0.13
    crossings = plan_seam_tiles(plan, "crossings", 64, 512, 512, 64)
    assert zone_share(crossings) < zone_share(sp)


def test_a_one_tile_plan_has_no_seams_the_node_says_so_and_passes_the_image_through():
    img = torch.rand(1, 64, 80, 3)
    plan = plan_by_tile_size(64, 80, 128, 128, 16)
    with pytest.raises(ValueError, match="no seams"):
        plan_seam_tiles(plan, "bands", 16, 32, 32, 8)
    tiles, sp, masks, summary = SeamTiles().split(img, plan, "bands", 16, 32, 32, 8)
    assert sp is None and "no seams" in summary
    assert SeamTilesMerge().merge(img, tiles, sp)[0] is img


def test_the_zone_must_fit_in_a_seam_tile_and_crossings_need_two_axes():
    with pytest.raises(ValueError, match="zone_width"):
        plan_seam_tiles(PLAN, "bands", 200, 128, 128, 32)
    with pytest.raises(ValueError, match="crossings"):
        plan_seam_tiles(plan_by_tile_size(200, 1000, 256, 256, 48), "crossings", 32, 128, 128, 32)


def test_list_nodes_give_what_the_batch_nodes_give():
    img = torch.rand(2, 700, 1000, 3, generator=torch.Generator().manual_seed(2))
    widgets = dict(mode="offset_grid", zone_width=32, tile_width=128, tile_height=128, overlap=32)
    tiles, sp, masks, _ = SeamTiles().split(img, PLAN, **widgets)
    listed, sp_list, masks_list, _ = SeamTilesList().split(img, PLAN, **widgets)
    assert len(listed) == sp.count and listed[0].shape == (2, 128, 128, 3)
    assert masks.shape == (2 * sp.count, 128, 128) and float(masks.max()) == 1.0
    processed = tiles * 0.5
    a = SeamTilesMerge().merge(img, processed, sp)[0]
    b = SeamTilesMergeList().merge([img], [t * 0.5 for t in listed], [sp_list])[0]
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["bokeh", "portrait"])
def test_a_seam_pass_brings_visible_seams_down_to_the_photos_own_level(name):
    """Tiles that disagree (±4 % gain per tile) merged with no blend leave hard seams; a seam pass whose process is
    a smoothing operator (a stand-in for a model redrawing the zone) removes them, touching nothing outside the zones."""
    img, plan, merged = seamed_photo(name)
    seam_tiles, sp, _, _ = SeamTiles().split(merged, plan, "bands", 64, 384, 384, 64)
    smooth = box_smooth(seam_tiles, 31)
    out = SeamTilesMerge().merge(merged, smooth, sp)[0]

    own = worst_seam(img, plan)
    assert worst_seam(merged, plan) > own + 1.5  # the seams were visible
    assert worst_seam(out, plan) <= own + 0.25  # now at the photo's own level at those lines
    outside = full_zone(sp) == 0
    assert torch.equal(out[0][outside], merged[0][outside])


def test_latent_seam_tiles_round_trip_and_leave_the_latent_outside_the_zones_bit_identical():
    from tilestitch.nodes.seam_tiles import LatentSeamTiles, LatentSeamTilesMerge

    z = torch.randn(2, 16, 88, 125, generator=torch.Generator().manual_seed(4))
    plan = plan_by_tile_size(88, 125, 32, 32, 8)
    tiles, sp, masks, summary = LatentSeamTiles().split({"samples": z, "noise_mask": torch.ones(1, 88, 125)}, plan, "offset_grid", 6, 16, 16, 4)
    assert tiles["samples"].shape == (2 * sp.count, 16, 16, 16) and "noise_mask" not in tiles
    assert masks.shape == (2 * sp.count, 16, 16)
    (same,) = LatentSeamTilesMerge().merge({"samples": z}, tiles, sp)
    assert float((same["samples"] - z).abs().max()) <= 1e-6
    (out,) = LatentSeamTilesMerge().merge({"samples": z}, {"samples": tiles["samples"] * 0 + 3.0}, sp)
    outside = full_zone(sp) == 0
    assert torch.equal(out["samples"].permute(0, 2, 3, 1)[:, outside], z.permute(0, 2, 3, 1)[:, outside])
    assert float(out["samples"].permute(0, 2, 3, 1)[:, full_zone(sp) == 1].sub(3.0).abs().max()) < 1e-5


def test_two_one_direction_passes_of_long_narrow_tiles_show_the_model_far_less_than_square_tiles():
    """The same 64 px zone on a 6000 x 4000 photo merged from 1024 px tiles: square 512 px seam tiles show the model more
    than the whole image (120 %); 256 x 1024 boxes on the vertical seams, then 1024 x 256 on the horizontal ones, about
    half of that (64 %) for the same zone."""
    plan = plan_by_tile_size(4000, 6000, 1024, 1024, 128)

    def shown(sp):
        return sp.count * sp.tile_height * sp.tile_width / (sp.height * sp.width)

    square = plan_seam_tiles(plan, "bands", 64, 512, 512, 64)
    vertical = plan_seam_tiles(plan, "bands", 64, 1024, 256, 64, seams="vertical")
    horizontal = plan_seam_tiles(plan, "bands", 64, 256, 1024, 64, seams="horizontal")
    assert shown(square) > 1.0 and shown(vertical) + shown(horizontal) < 0.55 * shown(square)
    assert vertical.y_seams == () and horizontal.x_seams == () and vertical.x_seams == square.x_seams
    assert abs(zone_share(vertical) + zone_share(horizontal) - zone_share(square)) < 0.01  # the crossings are counted twice
    with pytest.raises(ValueError, match="needs mode bands"):
        plan_seam_tiles(plan, "crossings", 64, 512, 512, 64, seams="vertical")
    with pytest.raises(ValueError, match="no horizontal seams"):
        plan_seam_tiles(plan_by_tile_size(800, 6000, 1024, 1024, 128), "bands", 64, 256, 1024, 64, seams="horizontal")


def test_a_vertical_then_a_horizontal_pass_redraws_every_seam_and_nothing_else():
    img, plan, merged = seamed_photo("bokeh")
    out, outside = merged, None
    for seams, size in (("vertical", (768, 192)), ("horizontal", (192, 768))):
        seam_tiles, sp, masks, _ = SeamTiles().split(out, plan, "bands", 64, size[1], size[0], 64, seams=seams)
        assert seam_tiles.shape[1:3] == size and masks.shape[1:] == size
        smooth = box_smooth(seam_tiles, 31)
        out = SeamTilesMerge().merge(out, smooth, sp)[0]
        zone_free = full_zone(sp) == 0
        outside = zone_free if outside is None else outside & zone_free

    assert worst_seam(merged, plan) > worst_seam(img, plan) + 1.5 and worst_seam(out, plan) <= worst_seam(img, plan) + 0.25
    assert torch.equal(out[0][outside], merged[0][outside])  # outside both passes' zones: bit-identical


@pytest.mark.parametrize("mode", SEAM_MODES)
def test_colour_match_keeps_an_identity_pass_the_identity_and_the_outside_untouched(mode):
    img = load_photo("portrait", 1000)
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 384, 384, 64)
    tiles, sp, _, _ = SeamTiles().split(img, plan, mode, 48, 192, 192, 32)
    out = SeamTilesMerge().merge(img, tiles, sp, border="color_match")[0]
    assert float((out - img).abs().max()) <= 1e-6
    drifted = SeamTilesMerge().merge(img, tiles * 1.07 + 0.03, sp, border="color_match")[0]
    assert torch.equal(drifted[0][full_zone(sp) == 0], img[0][full_zone(sp) == 0])
    assert float((drifted - img).abs().max()) < 2e-3  # the drift is fitted away (clipping aside)


@pytest.mark.parametrize("name", ["bokeh", "water"])
def test_colour_match_removes_the_band_edge_a_model_that_drifts_in_tone_leaves(name):
    """A seam model that redraws (smooths) the zone and also shifts its tone (+6 % gain, +0.02): pasted as drawn, the
    zone's soft edge is a visible band on both sides of every seam; matched to the surround, the band's edge falls to
    the smoothing's own change."""
    img = load_photo(name, 1600)
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 512, 512, 64)
    seam_tiles, sp, _, _ = SeamTiles().split(img, plan, "bands", 64, 256, 256, 64)
    smooth = box_smooth(seam_tiles, 9)
    model = (smooth * 1.06 + 0.02).clamp(0, 1)
    ring = (full_zone(sp) > 0) & (full_zone(sp) < 0.5)  # the zone's outer edge, where the paste fades in
    fixed = {}
    for border in ("feather", "color_match", "none"):
        tiles = smooth if border == "none" else model
        out = SeamTilesMerge().merge(img, tiles, sp, border="feather" if border == "none" else border)[0]
        fixed[border] = float((out[0][ring] - img[0][ring]).mean(dim=0).abs().max())  # the mean colour step at the edge
    assert fixed["feather"] > 0.005
    assert fixed["color_match"] < 0.25 * fixed["feather"]
    assert fixed["color_match"] < fixed["none"] + 2e-3  # no worse than a model without the drift


@pytest.mark.parametrize("mode", SEAM_MODES)
@pytest.mark.parametrize("order", ["serpentine", "chess", "centre_out"])
def test_a_seam_loop_visits_every_seam_tile_once_and_pastes_by_the_merges_zone(mode, order):
    """A body that draws the same pixels in every box (half the photo) gives what Seam Tiles Merge gives for those
    tiles; outside the zones nothing changes."""
    from tilestitch.tiling.loop import run_loop
    from tilestitch.tiling.seam_tiles import seam_loop_grid

    img = load_photo("portrait", 1000)
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 384, 384, 64)
    tiles, sp, _, _ = SeamTiles().split(img, plan, mode, 48, 192, 192, 32)
    grid = seam_loop_grid(sp)
    seen = []

    def half(tile, pending, k, prompt):
        seen.append(k)
        t = grid.tiles[k]
        assert float(pending.max()) <= 1.0 and torch.equal(pending > 0, (pending > 0) & (grid.zone(k) > 0))  # only the zone
        return img[:, t.y:t.y + t.height, t.x:t.x + t.width] * 0.5

    out = run_loop(img, grid, half, order=order, band=16, zone=grid.zone)
    assert sorted(seen) == list(range(sp.count))
    assert float((out - merge_seam_tiles(img, tiles * 0.5, sp)).abs().max()) <= 1e-6
    outside = full_zone(sp) == 0
    assert torch.equal(out[0][outside], img[0][outside])


def test_a_seam_loop_redraws_visible_seams_each_seam_tile_seeing_the_ones_before():
    """Tiles that disagree merged with no blend; a seam loop whose body smooths its tile: each seam tile is cut from the
    canvas as it is (its overlap with finished seam tiles holds their redrawn pixels), the seams fall to the photo's own
    level and nothing outside the zones changes."""
    from tilestitch.tiling.loop import run_loop
    from tilestitch.tiling.seam_tiles import seam_loop_grid

    img, plan, merged = seamed_photo("bokeh")
    _, sp, _, _ = SeamTiles().split(merged, plan, "bands", 64, 384, 384, 64)
    grid = seam_loop_grid(sp)
    canvas_before = []

    def smooth(tile, pending, index, prompt):
        canvas_before.append((index, tile.clone()))
        return box_smooth(tile, 31)

    out = run_loop(merged, grid, smooth, order="serpentine", band=24, zone=grid.zone)

    assert worst_seam(merged, plan) > worst_seam(img, plan) + 1.5 and worst_seam(out, plan) <= worst_seam(img, plan) + 0.25
    outside = full_zone(sp) == 0
    assert torch.equal(out[0][outside], merged[0][outside])
    # context: some later seam tile was handed pixels an earlier one had redrawn (not the merged image's)
    changed = [i for i, t in canvas_before[1:] if not torch.equal(t, extract_seam_tiles(merged, sp)[i:i + 1])]
    assert changed


def test_seam_loop_start_and_tile_loop_end_run_a_seam_loop_and_pass_a_one_tile_image_through():
    from tilestitch.nodes.loop import SeamLoopStart, TileLoopEnd

    img = load_photo("portrait", 800)
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 384, 384, 64)
    seam_tiles, sp, _, _ = SeamTiles().split(img, plan, "bands", 48, 192, 192, 32)
    widgets = dict(order="raster", band=16, keep_finished=False, base_prompt="seam", prompts="")
    start, end = SeamLoopStart(), TileLoopEnd()
    loop, tile, pending, index, prompt, box = start.start(img, sp, **widgets)
    assert prompt == "seam" and tile.shape == (1, 192, 192, 3) and pending.shape == (1, 192, 192)
    while True:  # the body: half the image in the box (not the tile as cut, which holds the seams redrawn so far)
        b = json.loads(box)
        image, _ = end.end(loop, img[:, b["y"]:b["y"] + b["height"], b["x"]:b["x"] + b["width"]] * 0.5)
        if loop.done:
            break
        loop, tile, pending, index, prompt, box = start.start(img, sp, **widgets, loop=loop)
    assert float((image - merge_seam_tiles(img, seam_tiles * 0.5, sp)).abs().max()) <= 1e-6
    # a one-tile plan has no seams (Seam Tiles gives no seam plan): the body runs once on a small tile, End ignores it
    single = SeamTiles().split(img, plan_by_tile_size(img.shape[1], img.shape[2], 2048, 2048, 64), "bands", 48, 192, 192, 32)[1]
    assert single is None
    loop, tile, pending, index = start.start(img, None, **widgets)[:4]
    assert index == -1 and float(pending.max()) == 0.0
    assert torch.equal(end.end(loop, tile * 0.0)[0], img)
    with pytest.raises(ValueError, match="seam plan is for"):
        start.start(img[:, :100], sp, **widgets)
