"""Low-resolution segmentation refined by tiled full-resolution segmentations."""

import numpy as np
import pytest
import torch

from tilestitch.masks.refine import refine_mask
from tilestitch.imaging.resample import bilinear_rows
from tilestitch.tiling import MASK, compose, extract_tiles, plan_by_tile_size


def star(height, width):
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    cy, cx = height / 2, width / 2
    r, ang = np.hypot(yy - cy, xx - cx), np.arctan2(yy - cy, xx - cx)
    return torch.from_numpy((r < 0.3 * height + 0.04 * height * np.sin(23 * ang)).astype(np.float32))[None]


def iou(a, b):
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum() / (a | b).sum())


def test_bilinear_rows_equal_interpolate_of_the_whole_map():
    low = torch.rand(2, 37, 53)
    full = torch.nn.functional.interpolate(low[:, None], size=(300, 420), mode="bilinear", align_corners=False)[:, 0]
    strips = torch.cat([bilinear_rows(low, 300, 420, y, min(300, y + 71)) for y in range(0, 300, 71)], dim=1)
    assert (strips - full).abs().max() < 1e-5


def test_refined_mask_beats_both_inputs_and_drops_tile_false_positives():
    truth = star(1536, 2048)
    small = torch.nn.functional.interpolate(truth[:, None], size=(96, 128), mode="area")[:, 0]
    coarse = (small > 0.5).float()  # blocky outline, 16 px blocks
    plan = plan_by_tile_size(1536, 2048, 512, 512, 64, 8)
    tiles = extract_tiles(truth, plan, MASK).clone()
    tiles[0, 50:150, 50:150] = 1.0  # a tile model's hallucination far from any outline
    tiles_only = compose(tiles, plan, "cosine", layout=MASK)
    coarse_up = torch.nn.functional.interpolate(coarse[:, None], size=(1536, 2048), mode="bilinear")[:, 0]
    out = refine_mask(coarse, tiles, plan, band=32)
    assert out.shape == truth.shape and 0 <= out.min() and out.max() <= 1
    assert iou(out, truth) > 0.999
    assert iou(out, truth) > iou(coarse_up, truth) + 0.005
    assert float(out[0, 50:150, 50:150].max()) == 0.0 and float(tiles_only[0, 50:150, 50:150].max()) > 0.5


def test_refine_mask_rejects_mismatched_inputs():
    plan = plan_by_tile_size(256, 256, 128, 128, 16)
    tiles = torch.zeros(plan.count, 128, 128)
    with pytest.raises(ValueError, match="aspect"):
        refine_mask(torch.zeros(1, 32, 64), tiles, plan)
    with pytest.raises(ValueError, match="masks for a plan"):
        refine_mask(torch.zeros(3, 32, 32), tiles, plan)
