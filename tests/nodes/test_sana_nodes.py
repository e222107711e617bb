"""SANA nodes called directly (no ComfyUI process): latents carry their image size, errors name the input."""

import sys
import types

import pytest
import torch

from tilestitch.nodes.sana import SANA_KEY, SanaLoader, SanaTextEncode, SanaTiledSampler, SanaVAEDecode, SanaVAEEncode
from tilestitch.sana import load_sana

from tiny_sana import LATENT_CHANNELS, build_tiny_sana

pytest.importorskip("transformers")
TILING = dict(tiling="stream", tile_size=64, overlap=32, tile_batch_size=2)
SAMPLER = dict(seed=0, steps=2, cfg=2.0, denoise=0.5, flow_shift=0.0, tile_size=16, overlap=4, tile_batch_size=2,
               blend="cosine", shift_tiles=True)


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    root = tmp_path_factory.mktemp("diffusers")
    build_tiny_sana(root / "Sana_tiny_diffusers")
    return root


@pytest.fixture(scope="module")
def sana(roots):
    return load_sana(roots / "Sana_tiny_diffusers")


@pytest.fixture
def folder_paths(roots, monkeypatch):
    fake = types.SimpleNamespace(get_folder_paths=lambda kind: [str(roots)] if kind == "diffusers" else [])
    monkeypatch.setitem(sys.modules, "folder_paths", fake)
    return fake


def test_loader_lists_sana_folders_and_explains_a_missing_one(folder_paths):
    assert SanaLoader.INPUT_TYPES()["required"]["model_folder"][0] == ["Sana_tiny_diffusers"]
    assert SanaLoader.VALIDATE_INPUTS("Sana_tiny_diffusers") is True
    msg = SanaLoader.VALIDATE_INPUTS("Sana_1600M_1024px_BF16_diffusers")
    assert "not found" in msg and "Sana_tiny_diffusers" in msg and "models/diffusers" in msg
    (models,) = SanaLoader().load("Sana_tiny_diffusers", "float32", "cpu")
    assert models.latent_channels == LATENT_CHANNELS


def test_encode_sample_decode_keeps_the_image_size(sana):
    img = torch.rand(1, 90, 70, 3, generator=torch.Generator().manual_seed(0))
    (latent,) = SanaVAEEncode().encode(sana, img, **TILING)
    assert latent["samples"].shape == (1, LATENT_CHANNELS, 45, 35) and latent[SANA_KEY] == {"height": 90, "width": 70}
    (cond,) = SanaTextEncode().encode(sana, "w1 w2", "w3", False, 8)
    (refined,) = SanaTiledSampler().sample(sana, cond, latent, **SAMPLER)
    assert refined[SANA_KEY] == latent[SANA_KEY] and refined["samples"].shape == latent["samples"].shape
    assert not torch.equal(refined["samples"], latent["samples"])
    (out,) = SanaVAEDecode().decode(sana, refined, **TILING)
    assert out.shape == (1, 90, 70, 3)


def test_errors_name_the_input(sana):
    (cond,) = SanaTextEncode().encode(sana, "w1", "", False, 4)
    flux_latent = {"samples": torch.zeros(1, 16, 8, 8)}
    with pytest.raises(ValueError, match="not a SANA latent.*SANA VAE Encode"):
        SanaTiledSampler().sample(sana, cond, flux_latent, **SAMPLER)
    good = {"samples": torch.zeros(1, LATENT_CHANNELS, 8, 8)}
    with pytest.raises(ValueError, match="conditioning must come from SANA Text Encode"):
        SanaTiledSampler().sample(sana, [[torch.zeros(1, 4, 8), {}]], good, **SAMPLER)
    with pytest.raises(ValueError, match="overlap"):
        SanaTiledSampler().sample(sana, cond, good, **{**SAMPLER, "overlap": 16})
    with pytest.raises(ValueError, match="Load SANA"):
        SanaVAEDecode().decode("not a model", good, **TILING)
    nan = {"samples": torch.full((1, LATENT_CHANNELS, 8, 8), float("nan"))}
    with pytest.raises(ValueError, match="samples"):
        SanaVAEDecode().decode(sana, nan, **TILING)
