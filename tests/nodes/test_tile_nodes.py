"""Split / merge node adapters called directly (no ComfyUI process)."""


import pytest
import torch

import tilestitch
from tilestitch.nodes.tiles import TileMerge, TileMergeList, TilePlanInfo, TileSplit, TileSplitList
from tilestitch.tiling import TilePlan

from support import load_photo

from fakes import FakeComfy

WIDGETS = dict(mode="tile_size", tile_width=256, tile_height=256, overlap=48, rows=2, cols=2, max_megapixels=1.0, align=8)


def split(image, **kw):
    return TileSplit().split(image, **{**WIDGETS, **kw})


def test_every_node_documents_every_input_and_output():
    for name, cls in tilestitch.NODE_CLASS_MAPPINGS.items():
        assert cls.DESCRIPTION and cls.CATEGORY.startswith("TileStitch"), name
        spec = cls.INPUT_TYPES()
        for section in ("required", "optional"):
            for inp, (typ, opts) in spec.get(section, {}).items():
                assert opts.get("tooltip"), f"{name}.{inp} has no tooltip"
        assert len(cls.OUTPUT_TOOLTIPS) == len(cls.RETURN_TYPES) == len(cls.RETURN_NAMES), name
        assert name in tilestitch.NODE_DISPLAY_NAME_MAPPINGS


def test_split_merge_round_trip_rgba_batch_and_mask():
    rgb = load_photo("kodim23")
    img = torch.cat([torch.cat([rgb, torch.rand_like(rgb[..., :1])], -1)] * 2)  # [2, 512, 768, 4]
    mask = (rgb[..., 1] > 0.5).float()
    tiles, plan, mask_tiles = split(img, mask=mask)
    assert isinstance(plan, TilePlan) and plan.batch == 2
    assert tiles.shape == (2 * plan.count, 256, 256, 4) and mask_tiles.shape == (2 * plan.count, 256, 256)
    for method in ("cosine", "multiband", "none"):
        out, out_mask = TileMerge().merge(tiles, plan, method, mask_tiles)
        assert (out - img).abs().max() <= 1e-6
        assert (out_mask - mask.expand(2, -1, -1)).abs().max() <= 1e-6


def test_mask_of_another_size_is_resized_and_missing_mask_gives_zeros():
    img = load_photo("kodim23")
    _, plan, mask_tiles = split(img, mask=torch.ones(1, 64, 64))  # LoadImage's placeholder mask
    assert mask_tiles.shape == (plan.count, 256, 256) and bool((mask_tiles == 1).all())
    _, _, none = split(img)
    assert none.shape == (plan.count, 256, 256) and float(none.abs().max()) == 0.0


def test_merge_of_upscaled_tiles_gives_the_upscaled_size():
    img = load_photo("kodim23")
    tiles, plan, _ = split(img)
    up = tiles.repeat_interleave(2, 1).repeat_interleave(2, 2)
    out, mask = TileMerge().merge(up, plan, "cosine")
    assert out.shape == (1, 1024, 1536, 3) and mask.shape == (1, 1024, 1536)


def test_list_variants_round_trip():
    img = torch.cat([load_photo("kodim23"), load_photo("kodim23").flip(1)])
    tiles, plan, masks = TileSplitList().split(img, **WIDGETS)
    assert len(tiles) == plan.count and tiles[0].shape == (2, 256, 256, 3)
    out, _ = TileMergeList().merge(tiles, [plan], ["cosine"], masks)
    assert (out - img).abs().max() <= 1e-6


def test_plan_info():
    _, plan, _ = split(load_photo("kodim23"))
    js, summary, n, rows, cols, tw, th = TilePlanInfo().info(plan)
    assert TilePlan.from_json(js) == plan and n == rows * cols == plan.count and (tw, th) == (256, 256)
    assert "tiles of 256 x 256 px over 768 x 512 px" in summary


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda img: split(img, overlap=256), r"overlap \(256\) must be smaller than tile_height \(256\)"),
        (lambda img: split(img, tile_width=0), "tile_width must be >= 1"),
        (lambda img: split(img, mode="grid", rows=600), "rows 600 is too many tiles"),
        (lambda img: split(img * float("nan")), r"image contains NaN values \(image 0 of 1\)"),
        (lambda img: split(img[0, :, :, 0]), r"image must be an IMAGE of shape \[batch, height, width, channels\]"),
        (lambda img: split(img, mask=torch.ones(3, 8, 8)), "mask has 3 masks for 1 images"),
        (lambda img: TileMerge().merge(split(img)[0][:-1], split(img)[1], "cosine"), "got 11 tiles but the tile plan has 12 tiles"),
        (lambda img: TileMerge().merge(split(img)[0], "a plan", "cosine"), "plan must be a TILE_PLAN"),
        (lambda img: TileMerge().merge(split(img)[0][:, :255], split(img)[1], "cosine"), "not a whole pixel"),
    ],
)
def test_bad_input_gets_a_message_naming_it(call, message):
    with pytest.raises(ValueError, match=message):
        call(load_photo("kodim23"))


def test_nan_tiles_are_reported_by_tile():
    tiles, plan, _ = split(load_photo("kodim23"))
    tiles = tiles.clone()
    tiles[4, 10, 10, 1] = float("inf")
    with pytest.raises(ValueError, match=r"tiles contains Inf values \(tile 4 of 12\)"):
        TileMerge().merge(tiles, plan, "cosine")


def test_single_pixel_image():
    img = torch.rand(1, 1, 1, 3)
    tiles, plan, _ = split(img)
    assert plan.count == 1 and tiles.shape == (1, 1, 1, 3)
    out, _ = TileMerge().merge(tiles, plan, "multiband")
    assert torch.equal(out, img)


def test_progress_bar_advances_per_tile(monkeypatch):
    fake = FakeComfy()
    fake.install(monkeypatch)
    tiles, plan, _ = split(load_photo("kodim23"))
    assert [u[0] for u in fake.updates] == list(range(1, plan.count + 1))
    fake.updates.clear()
    TileMerge().merge(tiles, plan, "cosine")
    assert fake.updates[-1] == (plan.count, plan.count) and len(fake.updates) == plan.rows


def test_interrupt_stops_between_tiles(monkeypatch):
    fake = FakeComfy(interrupt_after=2)
    fake.install(monkeypatch)
    with pytest.raises(fake.Interrupted):
        split(load_photo("kodim23"))
    assert fake.checks == 3 and len(fake.updates) == 2  # stopped at the third tile
