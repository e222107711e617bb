"""What a careless user or an attacker tried (issue: hardening): each case a clear error, Cancel stops every loop."""

import math

import pytest
import torch

from tilestitch.correct.global_context import build_context
from tilestitch.nodes.blenders import SeamMerge
from tilestitch.nodes.correct import FrequencyMerge, GlobalContextEncode, TileColorCorrect
from tilestitch.nodes.diffmerge import DiffMerge
from tilestitch.nodes.masks import MaskRefineMerge
from tilestitch.nodes.qa import SeamReport
from tilestitch.nodes.seam_tiles import SeamTiles, SeamTilesMerge
from tilestitch.nodes.routes import MAX_TILES, check_query, plan_preview
from tilestitch.nodes.tiles import TileMerge, TileSplit, TileSplitAroundMask
from tilestitch.tiling import MASK, extract_tiles

from fakes import FakeComfy
from support import load_photo

WIDGETS = dict(mode="tile_size", tile_width=128, tile_height=128, overlap=32, rows=2, cols=2, max_megapixels=1.0, align=8)


@pytest.mark.parametrize("query, message", [
    (dict(height="1000000000", width="1000000000"), "height must be between 1 and 65536"),
    (dict(height="15000", width="15000", tile_width="8", tile_height="8", overlap="0", align="1"), f"more than {MAX_TILES} tiles"),
    (dict(height="15000", width="15000", tile_width="1024", tile_height="1024", overlap="1023", align="1"), f"more than {MAX_TILES} tiles"),
    (dict(height="15000", width="15000", mode="megapixels", max_megapixels="0.01", overlap="99"), f"more than {MAX_TILES} tiles"),
    (dict(height="100", width="100", mode="grid", rows="100000"), "rows must be between 1 and 256"),
    (dict(height="100", width="100", max_megapixels="nan", mode="megapixels"), "max_megapixels must be between"),
    (dict(height="100", width="1e400"), "width must be an integer"),
    (dict(height="100", width="9" * 5000), "width is not a number"),
    (dict(height="100", width="100", mode="../../etc"), "mode must be one of"),
    (dict(height="100", width="100", evil="1"), "unknown query field"),
    (dict(width="100"), "height and width are required"),
])
def test_plan_route_refuses_out_of_range_queries_before_any_work(query, message):
    with pytest.raises(ValueError, match=message):
        check_query(query)
    with pytest.raises(ValueError, match=message):
        plan_preview(query)


def test_plan_route_still_plans_what_a_user_asks_for():
    out = plan_preview(dict(height="15000", width="15000", tile_width="1024", tile_height="1024", overlap="128", align="8"))
    assert len(out["ys"]) * len(out["xs"]) == 289 and out["seams"]


def test_split_around_mask_errors_and_an_honest_report():
    img = load_photo("kodim23")
    with pytest.raises(ValueError, match="mask must be a MASK .* no empty side"):
        TileSplitAroundMask().split(img, torch.zeros(1, 0, 0), 256, 256, 32, 8, 0.5, 1)
    with pytest.raises(ValueError, match="mask contains NaN"):
        TileSplitAroundMask().split(img, torch.full((1, 64, 64), float("nan")), 256, 256, 32, 8, 0.5, 1)
    mask = torch.ones(1, 512, 768)  # everything is "object": the bands hold exactly their own area of it
    *_, report = TileSplitAroundMask().split(img, mask, 256, 256, 32, 8, 0.5, 0)
    shares = [float(s) for s in __import__("re").findall(r"mask under blend bands ([\d.]+)%", report)]
    assert shares and all(0 <= s <= 100 for s in shares), report


def test_colour_correct_names_a_grey_tile_against_a_colour_context():
    img = load_photo("kodim23")
    tiles, plan, _ = TileSplit().split(img, **WIDGETS)
    (ctx, *_rest) = GlobalContextEncode().encode(img, 256)
    with pytest.raises(ValueError, match=r"tiles have 1 channel\(s\) \(grey\) but the context was built from a 3-channel"):
        TileColorCorrect().correct(tiles[..., :1].contiguous(), plan, ctx, "joint_gain", 1.0)


def test_global_context_names_something_that_is_not_a_vae():
    with pytest.raises(ValueError, match="vae must be a VAE"):
        GlobalContextEncode().encode(torch.rand(1, 64, 64, 3), 64, vae="ae.safetensors")


def test_frequency_merge_refuses_a_reference_of_another_picture():
    img = torch.rand(1, 256, 384, 3)
    with pytest.raises(ValueError, match="reference is 300 x 100 px, the image 384 x 256 px: not the same picture's aspect"):
        FrequencyMerge().merge(img, torch.rand(1, 100, 300, 3), "gaussian", "sym4", 0, 1.0)
    with pytest.raises(ValueError, match="reference is 1 x 1 px: too small"):
        FrequencyMerge().merge(img, torch.rand(1, 1, 1, 3), "wavelet", "sym4", 0, 1.0)


def test_seam_report_on_an_image_of_another_size_says_what_to_connect():
    img = load_photo("kodim23")
    tiles, plan, _ = TileSplit().split(img, **WIDGETS)
    with pytest.raises(ValueError, match="connect the image made from this plan's tiles") as e:
        SeamReport().report(img[:, :500, :700], plan, 3.0, 2.0, 5)
    assert "align" not in str(e.value)


def test_mask_refine_names_empty_and_nan_coarse_masks():
    tiles = torch.rand(4, 64, 64)
    _, plan, _ = TileSplit().split(torch.rand(1, 100, 100, 3), **{**WIDGETS, "tile_width": 64, "tile_height": 64, "overlap": 28})
    with pytest.raises(ValueError, match="coarse_mask must be a MASK"):
        MaskRefineMerge().merge(torch.zeros(1, 0, 0), tiles, plan, 8, 0.05, 0.95)
    with pytest.raises(ValueError, match="coarse_mask contains NaN"):
        MaskRefineMerge().merge(torch.full((1, 10, 10), float("nan")), tiles, plan, 8, 0.05, 0.95)


# -- Cancel ---------------------------------------------------------------------------
def loops():
    """Each node whose work is a loop (tiles, bands, seams, strips, channels, regions), ready to run."""
    img = load_photo("kodim23")
    tiles, plan, masks = TileSplit().split(img, **WIDGETS)
    mask_tiles = extract_tiles(torch.rand(1, 512, 768), plan, MASK)
    edit = torch.nn.functional.interpolate(img.permute(0, 3, 1, 2), size=(256, 384), mode="area").permute(0, 2, 3, 1).clone()
    edit[:, 40:120, 60:160] = torch.tensor([0.9, 0.2, 0.1])
    edit[:, 150:220, 250:330] = torch.tensor([0.1, 0.8, 0.2])
    ctx = build_context(img, 256)
    return {
        "tile merge poisson": lambda: TileMerge().merge(tiles, plan, "poisson", mask_tiles),
        "tile merge multiband": lambda: TileMerge().merge(tiles, plan, "multiband"),
        "seam merge optimal": lambda: SeamMerge().merge(tiles, plan, "poisson", "optimal", 0),
        "frequency merge wavelet": lambda: FrequencyMerge().merge(img, img[:, ::4, ::4], "wavelet", "sym4", 0, 1.0),
        "mask refine": lambda: MaskRefineMerge().merge(torch.rand(1, 64, 96), mask_tiles, plan, 16, 0.05, 0.95),
        "colour correct": lambda: TileColorCorrect().correct(tiles, plan, ctx, "reinhard_lab", 1.0),
        "seam report": lambda: SeamReport().report(img, plan, 3.0, 2.0, 5),
        "diff merge regions": lambda: DiffMerge().merge(img, edit, 4.0, "translation", "feather", 8.0, True, 1, 0.0),
        "seam tiles merge": lambda: SeamTilesMerge().merge(img, *SeamTiles().split(img, plan, "bands", 32, 128, 128, 32)[:2]),
    }


@pytest.mark.parametrize("name", list(loops()))
def test_cancel_stops_every_loop(name, monkeypatch):
    run = loops()[name]
    fake = FakeComfy()
    fake.install(monkeypatch)
    run()
    steps = fake.checks
    assert steps >= 2, f"{name}: {steps} progress step(s); a loop must report (and check Cancel) as it goes"
    cancel = FakeComfy(interrupt_after=math.ceil(steps / 2))
    cancel.install(monkeypatch)
    with pytest.raises(cancel.Interrupted):
        run()
    assert cancel.checks == math.ceil(steps / 2) + 1  # stopped at the first check after Cancel


@pytest.mark.parametrize("layout", ["contiguous", "channels-first view", "strided slice", "broadcast"])
def test_the_nan_scan_reads_any_layout_in_few_pieces(layout):
    """check_finite walks a view in pieces of about FINITE_CHUNK values (it once walked a channels-first view pixel by pixel: 20 s)."""
    from tilestitch.nodes.common import FINITE_CHUNK, _chunks, check_finite

    base = torch.rand(2, 700, 900, 3)
    t = {"contiguous": base, "channels-first view": base.movedim(-1, 1).contiguous().movedim(1, -1),
         "strided slice": torch.rand(2, 700, 1800, 3)[:, :, ::2], "broadcast": base[:1].expand(5, -1, -1, -1)}[layout]
    pieces = list(_chunks(t))
    distinct = t[:1].numel() if layout == "broadcast" else t.numel()
    assert sum(p.numel() for p in pieces) == distinct
    assert len(pieces) <= 2 * (distinct // FINITE_CHUNK + 1) + 2 * t.shape[0]
    check_finite(t, "image")
    bad = t.clone() if layout != "broadcast" else t
    if layout != "broadcast":
        bad = bad.movedim(-1, 1).contiguous().movedim(1, -1) if layout == "channels-first view" else bad
        bad[1, 650, 880, 2] = float("nan")
        with pytest.raises(ValueError, match=r"image contains NaN values \(image 1 of 2\)"):
            check_finite(bad, "image")
