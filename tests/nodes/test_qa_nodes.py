"""Solar preview and seam report nodes called directly."""

import json

import pytest
import torch

from tilestitch.nodes.qa import SeamReport, SolarPreview
from tilestitch.nodes.tiles import TileMerge, TileSplit

from support import load_photo


def test_solar_preview_outputs_image_and_channel():
    img = load_photo("kodim23")
    preview, channel = SolarPreview().preview(img, "triangle", 5, True)
    assert preview.shape == img.shape and channel.shape == img.shape[:3]
    assert 0 <= float(channel.min()) and float(channel.max()) <= 1
    with pytest.raises(ValueError, match="image contains NaN"):
        SolarPreview().preview(torch.full((1, 4, 4, 3), float("nan")), "sine", 2, False)


def test_seam_report_node_on_an_upscaled_merge_with_reference_of_another_size():
    img = load_photo("kodim23")
    tiles, plan, _ = TileSplit().split(img, "tile_size", 256, 256, 48, 2, 2, 1.0, 8)
    gains = torch.linspace(0.9, 1.1, tiles.shape[0]).view(-1, 1, 1, 1)
    up = (tiles * gains).repeat_interleave(2, 1).repeat_interleave(2, 2)
    merged, _ = TileMerge().merge(up, plan, "none")
    out = SeamReport().report(merged, plan, 3.0, 2.0, 3, reference=img)
    heatmap, js, summary, visible = out["result"]
    assert heatmap.shape == (1, 1024, 1536, 3)
    report = json.loads(js)
    assert report["seam_count"] == len(plan.seams) and visible == report["visible_count"] > 0
    assert summary.count("seam ") == 3
    ui = out["ui"]["tilestitch_seams"][0]
    assert ui["plan"]["xs"] == list(plan.cols_axis.starts) and len(ui["seams"]) == len(plan.seams)
    # what the browser colours the seams by (js/tilestitch.js reads each seam's verdict)
    assert [s["verdict"] for s in ui["seams"]] == [s["verdict"] for s in report["seams"]]
    assert {s["verdict"] for s in ui["seams"]} <= {"visible", "possible", "clean"}
    assert out["ui"]["text"] == [summary]


def test_seam_report_rejects_grey_images():
    _, plan, _ = TileSplit().split(load_photo("kodim23"), "tile_size", 256, 256, 48, 2, 2, 1.0, 8)
    with pytest.raises(ValueError, match="3 or 4 channels"):
        SeamReport().report(torch.rand(1, 512, 768, 1), plan, 3.0, 2.0, 3)
