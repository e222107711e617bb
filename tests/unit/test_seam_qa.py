"""Solar curve and seam report: the curve's shape, and a 1/255 step it makes detectable."""

import json
import math

import pytest
import torch

from tilestitch.blenders import blend
from tilestitch.qa.seam_report import seam_heatmap, seam_report
from tilestitch.qa.solar import solar_curve, solarize
from tilestitch.nodes.routes import plan_preview
from tilestitch.tiling import IMAGE, extract_tiles, plan_by_tile_size

from support import load_photo


@pytest.mark.parametrize("shape", ["sine", "triangle"])
@pytest.mark.parametrize("cycles", [0, 1, 8, 20])
def test_curve_fixes_black_and_white_and_is_periodic(shape, cycles):
    m = 2 * cycles + 1
    x = torch.linspace(0, 1, 4001, dtype=torch.float64)
    y = solar_curve(x, shape, cycles)
    assert float(y[0]) == pytest.approx(0.0, abs=1e-12) and float(y[-1]) == pytest.approx(1.0, abs=1e-12)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    period = 2.0 / m
    inside = x[x <= 1 - period]
    assert torch.allclose(solar_curve(inside + period, shape, cycles), solar_curve(inside, shape, cycles), atol=1e-9)
    rising = int(((y[:-1] < 0.5) & (y[1:] >= 0.5)).sum())  # goes up through mid-grey cycles + 1 times
    falling = int(((y[:-1] >= 0.5) & (y[1:] < 0.5)).sum())
    assert (rising, falling) == (cycles + 1, cycles)


def test_sine_formula_and_triangle_slope():
    x = torch.tensor([0.1, 0.37, 0.5], dtype=torch.float64)
    assert torch.allclose(solar_curve(x, "sine", 3), 0.5 - 0.5 * torch.cos(math.pi * 7 * x))
    a, b = torch.tensor([0.01], dtype=torch.float64), torch.tensor([0.02], dtype=torch.float64)
    assert float((solar_curve(b, "triangle", 3) - solar_curve(a, "triangle", 3)) / (b - a)) == pytest.approx(7.0)
    with pytest.raises(ValueError, match="shape must be one of"):
        solar_curve(x, "square", 3)


def test_solarize_keeps_alpha_and_grey_has_no_colour():
    img = torch.rand(2, 16, 24, 4)
    preview, curve = solarize(img, "sine", 4, keep_colour=False, rows_per_chunk=5)
    assert preview.shape == img.shape and curve.shape == (2, 16, 24)
    assert torch.equal(preview[..., 3], img[..., 3])
    rgb = preview[..., :3]
    assert float((rgb - rgb.mean(-1, keepdim=True)).abs().max()) < 2e-3  # neutral grey
    coloured, _ = solarize(img, "sine", 4, keep_colour=True)
    assert float((coloured[..., :3] - coloured[..., :3].mean(-1, keepdim=True)).abs().max()) > 0.05


def gradient(h=512, w=768):
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    return (0.25 + 0.35 * xx + 0.15 * yy)[..., None].expand(h, w, 3).contiguous()


def test_a_1_255_step_on_a_gradient_breaks_the_solar_contours_and_the_report_finds_it():
    img = gradient()
    plan = plan_by_tile_size(512, 768, 256, 256, 48, 8)
    seam = plan.seams[0]
    stepped = img.clone()
    stepped[:, seam.position :] += 1 / 255  # one tile a code value brighter: invisible as it is
    plain = seam_report(stepped, plan, reference=img)
    assert plain["visible_count"] == 0  # raw: z about 1.9 at most, below the threshold 3
    for name, im in (("untiled", img), ("stepped", stepped)):
        preview, _ = solarize(im[None], "sine", 8)
        rep = seam_report(preview[0], plan, delta_e_threshold=1000)  # judged by the step alone
        if name == "untiled":
            assert rep["visible_count"] == 0 and max(abs(s["segment_z"]) for s in rep["seams"]) < 0.5
        else:
            flagged = [s for s in rep["seams"] if s["visible"]]
            # the step runs down the whole image: the seam above and below the tile row boundary both carry it
            assert {(s["axis"], s["position"]) for s in flagged} == {(1, seam.position)}
            assert min(abs(s["segment_z"]) for s in flagged) > 10
            assert rep["worst"][0] in [s["index"] for s in flagged]


def test_report_on_a_photo_flags_a_hard_cut_between_disagreeing_tiles_but_not_the_cosine_merge():
    photo = load_photo("kodim23")  # [1, 512, 768, 3]
    plan = plan_by_tile_size(512, 768, 256, 256, 64, 8)
    tiles = extract_tiles(photo, plan, IMAGE)
    gains = 1 + 0.04 * torch.randn(plan.count, 1, 1, 3, generator=torch.Generator().manual_seed(3))
    tiles = (tiles * gains).clamp(0, 1)
    hard = seam_report(blend(tiles, plan, "none", layout=IMAGE)[0], plan, reference=photo[0])
    soft = seam_report(blend(tiles, plan, "cosine", layout=IMAGE)[0], plan, reference=photo[0], delta_e_threshold=10)
    assert hard["visible_count"] >= len(plan.seams) // 2
    assert soft["visible_count"] == 0
    json.dumps(hard)  # JSON-ready
    assert "VISIBLE" in hard["summary"]
    heat = seam_heatmap(photo[0], plan, hard)
    assert heat.shape == (512, 768, 3)
    s = plan.seams[hard["worst"][0]]
    px = heat[(s.span[0] + s.span[1]) // 2, s.position] if s.axis == 1 else heat[s.position, (s.span[0] + s.span[1]) // 2]
    assert float(px[0]) > 0.9 and float(px[2]) < 0.2  # the worst seam is painted red/orange


def test_plan_preview_route_answers_the_node_planner():
    out = plan_preview({"height": "512", "width": "768", "mode": "tile_size", "tile_width": "256", "tile_height": "256", "overlap": "48", "align": "8"})
    plan = plan_by_tile_size(512, 768, 256, 256, 48, 8)
    assert out["xs"] == list(plan.cols_axis.starts) and out["ys"] == list(plan.rows_axis.starts)
    assert len(out["seams"]) == len(plan.seams) and out["summary"].startswith("3 x 4 = 12 tiles")
    with pytest.raises(ValueError, match="overlap"):
        plan_preview({"height": "512", "width": "768", "tile_width": "64", "tile_height": "64", "overlap": "64"})
    with pytest.raises(ValueError, match="height and width are required"):
        plan_preview({"width": "5"})


@pytest.mark.parametrize("name", ["water", "bokeh", "scales", "fabric", "kodim04"])
def test_no_false_alarm_without_a_reference_on_untouched_merges(name):
    """Every blend of an unprocessed split is the photo itself: without a reference no seam may be called visible."""
    from tilestitch.blenders import BLENDERS

    img = load_photo(name, max_side=2048)
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 512, 512, 64, 8)
    tiles = extract_tiles(img, plan, IMAGE)
    for method in BLENDERS:
        rep = seam_report(blend(tiles, plan, method, layout=IMAGE)[0], plan)
        assert rep["visible_count"] == 0, (method, [s for s in rep["seams"] if s["visible"]][:2])
        assert rep["possible_count"] <= max(1, 0.2 * rep["seam_count"]), method
        assert "No reference connected" in rep["summary"]


def test_without_a_reference_hard_cuts_between_drifting_tiles_still_flag():
    img = load_photo("child", max_side=2048)  # smooth teal backdrop
    plan = plan_by_tile_size(img.shape[1], img.shape[2], 512, 512, 64, 8)
    g = torch.Generator().manual_seed(1)
    tiles = extract_tiles(img, plan, IMAGE)
    drift = (tiles * (1 + 0.06 * (2 * torch.rand(tiles.shape[0], 1, 1, 3, generator=g) - 1))).clamp(0, 1)
    rep = seam_report(blend(drift, plan, "none", layout=IMAGE)[0], plan)
    flagged = rep["visible_count"] + rep["possible_count"]
    assert rep["visible_count"] >= 3 and flagged >= 0.3 * rep["seam_count"], (rep["visible_count"], rep["possible_count"])
    with_original = seam_report(blend(drift, plan, "none", layout=IMAGE)[0], plan, reference=img[0])
    assert with_original["visible_count"] >= 0.6 * rep["seam_count"]  # the original tells drift from the photo (some neighbours drew alike gains)
    clean = seam_report(img[0], plan)
    assert clean["visible_count"] == 0
