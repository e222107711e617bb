"""Global Context Encode and Tile Color Correct nodes."""

import json
import re

import pytest
import torch

from tilestitch.nodes.correct import GlobalContextEncode, TileColorCorrect
from tilestitch.nodes.tiles import TileMerge, TileSplit

from support import load_photo

from fakes import FakeVAE

WIDGETS = dict(mode="tile_size", tile_width=256, tile_height=256, overlap=64, rows=2, cols=2, max_megapixels=1.0, align=8)


def test_context_node_outputs_and_vae():
    img = load_photo("kodim23")
    vae = FakeVAE()
    ctx, ref, summary = GlobalContextEncode().encode(img, 256, vae=vae)
    assert ref.shape == (1, 171, 256, 3) and vae.seen == (1, 171, 256, 3)
    info = json.loads(summary)
    assert info["source_size"] == [768, 512] and info["latent_shape"] == [1, 16, 21, 32]


def test_color_correct_node_reduces_drift_and_reports_it():
    img = load_photo("kodim23")
    tiles, plan, _ = TileSplit().split(img, **WIDGETS)
    g = torch.Generator().manual_seed(0)
    drift = tiles * (1 + 0.1 * (torch.rand(tiles.shape[0], 1, 1, 3, generator=g) - 0.5))
    ctx, _, _ = GlobalContextEncode().encode(img, 256)
    fixed, report = TileColorCorrect().correct(drift, plan, ctx, "joint_gain", 1.0)
    before, _ = TileMerge().merge(drift, plan, "cosine")
    after, _ = TileMerge().merge(fixed, plan, "cosine")
    assert (after - img).abs().mean() < (before - img).abs().mean() / 2
    m = re.search(r"of low frequencies\) ([\d.]+) -> ([\d.]+), worst tile ([\d.]+) -> ([\d.]+)", report)
    assert report.startswith("joint_gain") and m, report
    before_mean, after_mean, before_worst, after_worst = map(float, m.groups())
    assert after_mean < before_mean / 4 and after_worst < before_worst / 4


def test_color_correct_node_rejects_a_wrong_context():
    img = load_photo("kodim23")
    tiles, plan, _ = TileSplit().split(img, **WIDGETS)
    with pytest.raises(ValueError, match="context must be a GLOBAL_CONTEXT"):
        TileColorCorrect().correct(tiles, plan, img, "joint_gain", 1.0)
    ctx, _, _ = GlobalContextEncode().encode(img[:, :256], 256)
    with pytest.raises(ValueError, match="global context was built from a 768 x 256 image"):
        TileColorCorrect().correct(tiles, plan, ctx, "joint_gain", 1.0)


def test_color_correct_takes_a_latent_plan_of_decoded_tiles():
    """Latent Tile Split's plan is in latent pixels (1/8); the decoded tiles and the context are at full size."""
    from tilestitch.tiling import extract_tiles, plan_tiles

    img = load_photo("kodim23")  # 768 x 512
    ctx, _, _ = GlobalContextEncode().encode(img, 256)
    latent_plan = plan_tiles(64, 96, mode="tile_size", tile_width=32, tile_height=32, overlap=8, align=1)
    pixel_plan = latent_plan.scaled(8, 8)
    tiles = extract_tiles(img * torch.tensor([1.1, 0.95, 1.0]), pixel_plan).clamp(0, 1)
    by_latent, _ = TileColorCorrect().correct(tiles, latent_plan, ctx, "joint_gain", 1.0)
    by_pixels, _ = TileColorCorrect().correct(tiles, pixel_plan, ctx, "joint_gain", 1.0)
    assert torch.equal(by_latent, by_pixels)
    odd = plan_tiles(60, 96, mode="tile_size", tile_width=32, tile_height=32, overlap=8, align=1)  # not 1/8 of the image
    with pytest.raises(ValueError, match="global context was built from a 768 x 512 image"):
        TileColorCorrect().correct(extract_tiles(torch.rand(1, 480, 768, 3), odd.scaled(8, 8)), odd, ctx, "joint_gain", 1.0)
