"""Frequency bands at full resolution (``correct/bands.py``) and their nodes: exact split / join, band merge, detail energy."""

import numpy as np
import pytest
import torch

from tilestitch.correct.bands import band_merge, detail_energy, join_bands, split_bands
from tilestitch.media import read_image
from tilestitch.nodes.correct import BandMerge, DetailEnergy, FrequencyBand, FrequencyBandReplace, FrequencyJoin, FrequencySplit

from support import load_photo, photo_path


def area(x, h, w):
    return torch.nn.functional.interpolate(x.permute(2, 0, 1)[None], size=(h, w), mode="area")[0].permute(1, 2, 0)


@pytest.mark.parametrize("bands", [1, 3, 6])
def test_split_then_join_gives_the_photo_back(bands):
    img = load_photo("portrait")[0]  # a 3072 x 2048 film scan
    parts = split_bands(img, bands)
    assert len(parts) == bands + 1 and all(p.shape == img.shape and p.dtype == torch.float32 for p in parts)
    assert float((join_bands(parts) - img).abs().max()) <= 1e-6
    # the finest band is detail: zero mean, far smaller than the picture
    assert abs(float(parts[0].mean())) < 1e-4 and float(parts[0].abs().mean()) < 0.05


def test_no_band_of_a_16_bit_photo_is_quantised():
    src = torch.from_numpy(np.ascontiguousarray(read_image(str(photo_path("beach")))[..., :3], dtype=np.float32))  # 16-bit PNG
    parts = split_bands(src, 3)
    low = parts[-1].flatten()[:: 97]
    assert len(torch.unique(torch.round(low * 65535))) > 1000  # not snapped to 8-bit codes
    off_grid = (low * 255 - torch.round(low * 255)).abs()
    assert float(off_grid.mean()) > 0.1
    assert float((join_bands(parts) - src).abs().max()) <= 1e-6


def test_band_merge_with_every_weight_on_the_original_returns_it_exactly():
    img = load_photo("kodim23")[0]
    edit = area(img, 128, 192) * 0.5
    assert torch.equal(band_merge(img, edit, [0, 0, 0, 0]), img.float())


def test_a_relight_at_1_mp_takes_the_edits_tone_and_keeps_the_originals_texture():
    img = load_photo("portrait")[0]
    relit = (area(img, 768, 512) * torch.tensor([1.12, 1.0, 0.88]) + 0.03).clamp(0, 1)  # a warm relight at 1/16 of the pixels
    out = band_merge(img, relit, [0, 0, 0, 0, 0, 1])
    up = torch.nn.functional.interpolate(relit.permute(2, 0, 1)[None], size=img.shape[:2], mode="bilinear")[0].permute(1, 2, 0)

    def low(x):
        return split_bands(x, 5)[-1]

    def fine(x):
        return split_bands(x, 2)[0]

    assert float((low(out) - low(up)).abs().mean()) < 0.05 * float((low(img) - low(up)).abs().mean())  # the edit's tone
    energy_ratio = float(fine(out).square().mean() / fine(img).square().mean())
    assert 0.97 < energy_ratio < 1.03  # the original's detail, at its own strength
    upscaled_ratio = float(fine(up).square().mean() / fine(img).square().mean())
    assert upscaled_ratio < 0.5  # what a plain upscale of the edit would have kept of it


@pytest.mark.parametrize("weights", [[1, 0, 0], [0, 1, 0.5], [0.3, 0.7, 1.0]])
def test_band_merge_of_a_same_size_edit_is_the_weighted_sum_of_both_pictures_bands(weights):
    img = load_photo("kodim23")[0]
    retouched = img.clone()
    retouched[200:260, 300:380] = retouched[200:260, 300:380].mean((0, 1))  # a blemish smoothed away
    retouched = (retouched * 1.05).clamp(0, 1)
    out = band_merge(img, retouched, weights)
    a, b = split_bands(img, len(weights) - 1), split_bands(retouched, len(weights) - 1)
    expected = join_bands([w * e + (1 - w) * o for w, o, e in zip(weights, a, b)])
    assert float((out - expected).abs().max()) < 1e-5


def test_detail_energy_is_high_on_texture_and_low_on_smooth_areas():
    rng = torch.Generator().manual_seed(0)
    img = torch.linspace(0.2, 0.8, 256)[None, :, None].repeat(128, 1, 3).contiguous()
    img[:, 128:] += 0.08 * (torch.rand(128, 128, 3, generator=rng) - 0.5)
    e = detail_energy(img)
    assert e.shape == (128, 256) and float(e.min()) >= 0 and float(e.max()) <= 1
    assert float(e[:, 150:].mean()) > 10 * float(e[:, :100].mean())


def test_the_band_nodes_split_process_one_band_and_join():
    img = load_photo("kodim23")
    (bands,) = FrequencySplit().split(img, 3)
    (fine,) = FrequencyBand().get(bands, 0, 0.5)
    assert abs(float(fine.mean()) - 0.5) < 1e-3
    (same,) = FrequencyJoin().join(FrequencyBandReplace().replace(bands, fine, 0, 0.5)[0])
    assert float((same - img).abs().max()) <= 1e-6
    (flat,) = FrequencyJoin().join(FrequencyBandReplace().replace(bands, torch.full_like(fine, 0.5), 0, 0.5)[0])
    assert float((split_bands(flat[0], 3)[0]).abs().mean()) < 0.5 * float(split_bands(img[0], 3)[0].abs().mean())
    with pytest.raises(ValueError, match="index"):
        FrequencyBand().get(bands, 7, 0.0)


def test_band_merge_node_checks_its_weights_and_the_aspect():
    img = load_photo("kodim23")
    with pytest.raises(ValueError, match="edit_weights"):
        BandMerge().merge(img, img, "0, x")
    with pytest.raises(ValueError, match="edit_weights"):
        BandMerge().merge(img, img, "0, 2")
    with pytest.raises(ValueError, match="aspect"):
        BandMerge().merge(img, img[:, :, :400], "0, 1")
    (out,) = BandMerge().merge(img, img * 0.9, "0, 0, 0, 1")
    assert out.shape == img.shape
    (mask,) = DetailEnergy().energy(img, 2, 4.0)
    assert mask.shape == img.shape[:3]


def test_band_merge_inside_a_mask_only_keeps_the_original_exactly_outside_it():
    img = load_photo("kodim23")[0]
    retouched = (img * 0.9).clamp(0, 1)
    mask = torch.zeros(img.shape[:2])
    mask[100:300, 200:500] = 1.0
    mask[300:320, 200:500] = 0.5
    full = band_merge(img, retouched, [1, 0, 0])
    out = band_merge(img, retouched, [1, 0, 0], mask)
    assert torch.equal(out[mask == 0], img[mask == 0])
    assert torch.equal(out[mask == 1], full[mask == 1])
    (node_out,) = BandMerge().merge(img[None], retouched[None], "1, 0, 0", mask[None, ::2, ::2].contiguous())
    assert torch.equal(node_out[0][:90], img[:90])  # far from the (resized) mask: the original
