"""Seam Merge and Frequency Merge nodes."""

import pytest
import torch

from tilestitch.imaging.resample import resize_image
from tilestitch.nodes.blenders import SeamMerge
from tilestitch.nodes.correct import FrequencyMerge
from tilestitch.nodes.tiles import TileSplit

from support import load_photo

WIDGETS = dict(mode="tile_size", tile_width=256, tile_height=256, overlap=64, rows=2, cols=2, max_megapixels=1.0, align=8)


@pytest.mark.parametrize("method", ["poisson", "multiband"])
@pytest.mark.parametrize("seam", ["centre", "optimal"])
def test_seam_merge_round_trips_scaled_tiles(method, seam):
    img = load_photo("kodim23")
    tiles, plan, masks = TileSplit().split(img, **WIDGETS)
    up = tiles.repeat_interleave(2, 1).repeat_interleave(2, 2)
    out, mask, report = SeamMerge().merge(up, plan, method, seam, 0, mask_tiles=masks)
    ref = img.repeat_interleave(2, 1).repeat_interleave(2, 2)
    assert out.shape == ref.shape and (out - ref).abs().max() <= 1e-5
    assert mask.shape == out.shape[:3]
    assert method in report and seam in report


def test_seam_merge_reports_seams_forced_through_the_protect_mask():
    img = load_photo("kodim23")
    tiles, plan, _ = TileSplit().split(img, **WIDGETS)
    protect = torch.zeros(1, 128, 192)
    protect[:, :, 90:102] = 1.0  # a full-height stripe at low resolution: horizontal seams must cross it
    _, _, report = SeamMerge().merge(tiles, plan, "poisson", "optimal", 16, protect_mask=protect)
    assert "had to cross protected pixels" in report
    _, _, report = SeamMerge().merge(tiles, plan, "poisson", "optimal", 16)
    assert "protected" not in report and "16 source px" in report


def test_frequency_merge_node():
    img = load_photo("kodim23")
    small = resize_image(img, 128, 192)  # the whole picture at 1/4 size, area-averaged
    for method in ("gaussian", "wavelet"):
        (out,) = FrequencyMerge().merge(img * 1.05, small, method, "sym4", 0, 1.0)
        assert out.shape == img.shape
        assert (out - img).abs().mean() < (img * 0.05).abs().mean() / 5  # a 5 % exposure drift, mostly gone
    with pytest.raises(ValueError, match="reference contains NaN"):
        FrequencyMerge().merge(img, img * float("nan"), "wavelet", "sym4", 0, 1.0)
