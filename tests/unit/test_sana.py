"""SANA through diffusers: folder checks, the flow schedule, tiled sampling and DC-AE tiling.

The exactness tests use an oracle transformer that knows the clean latent T
(``v = (x - T) / s``, the velocity a perfect rectified-flow model predicts):
then every x0 prediction is T's crop, a partition-of-unity blend of crops is
T, and the sampler must land on T however the latent is tiled. The tiny
random-weight SANA folder (tests/tiny_sana.py) checks the real diffusers
classes load and run through the same code.
"""

import json
import math
import shutil
import types

import pytest
import torch

from tilestitch.sana import (
    SanaPrompt, decode_latent, encode_image, encode_prompt, find_sana_folders, flow_sigmas, load_sana, missing_parts,
    sample_tiled,
)
from tilestitch.sana.models import SanaModels
from tilestitch.sana.sampler import TIMESTEPS, euler_step, velocity_predictor

from tiny_sana import LATENT_CHANNELS, VAE_FACTOR, build_tiny_sana

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return build_tiny_sana(tmp_path_factory.mktemp("diffusers") / "Sana_tiny_diffusers")


@pytest.fixture(scope="module")
def tiny(tiny_folder):
    return load_sana(tiny_folder)


# -- oracle models -----------------------------------------------------------------------------------------------


def oracle_models(target, transformer):
    pipe = types.SimpleNamespace(transformer=transformer, vae=types.SimpleNamespace(
        config=types.SimpleNamespace(latent_channels=target.shape[1], scaling_factor=1.0), spatial_compression_ratio=8))
    return SanaModels(pipe, "oracle", torch.float32, torch.device("cpu"), torch.device("cpu"), 3.0)


def prompt(width=8, tokens=5):
    g = torch.Generator().manual_seed(1)
    return SanaPrompt(torch.randn(1, tokens, width, generator=g), torch.ones(1, tokens, dtype=torch.long),
                      torch.randn(1, tokens - 2, width, generator=g), torch.ones(1, tokens - 2, dtype=torch.long))


class WindowOracle(torch.nn.Module):
    """Exact velocity towards ``target`` for the tiles of a known plan; positions come from the tiled predictor."""

    def __init__(self, target):
        super().__init__()
        self.target = target
        self.config = types.SimpleNamespace(timestep_scale=1.0, patch_size=1, out_channels=target.shape[1])
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.windows = None  # list of (y, x) for the tiles of the current call
        self.sigmas = []

    def forward(self, x, encoder_hidden_states, timestep, encoder_attention_mask=None, return_dict=False):
        sigma = float(timestep[0]) / TIMESTEPS
        self.sigmas.append(sigma)
        th, tw = x.shape[-2:]
        crop = torch.cat([self.target[:, :, y : y + th, xx : xx + tw] for (y, xx) in self.windows])  # tile-major, batch 1
        return ((x - crop) / sigma,)


def test_flow_schedule_is_sana_shifted_and_refine_starts_part_way():
    s = flow_sigmas(10, 1.0, 3.0)
    assert len(s) == 11 and s[0] == 1.0 and s[-1] == 0.0 and bool((s[1:] < s[:-1]).all())
    raw = 1 - 1 / 10
    assert math.isclose(float(s[1]), 3 * raw / (1 + 2 * raw), rel_tol=1e-12)
    r = flow_sigmas(10, 0.5, 3.0)  # the last 10 of 20 steps: starts at shifted 0.5 = 0.75
    assert len(r) == 11 and math.isclose(float(r[0]), 0.75, rel_tol=1e-12) and r[-1] == 0.0
    assert torch.equal(r, flow_sigmas(20, 1.0, 3.0)[10:])
    for bad in (dict(steps=0), dict(steps=4, denoise=0.0), dict(steps=4, denoise=1.5), dict(steps=4, shift=0.0)):
        with pytest.raises(ValueError):
            flow_sigmas(**{"denoise": 1.0, "shift": 3.0, **bad})


def test_euler_step_stays_on_the_straight_path_with_an_exact_x0():
    g = torch.Generator().manual_seed(0)
    x0, n = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)
    s, s2 = 0.8, 0.3
    x = (1 - s) * x0 + s * n
    assert torch.allclose(euler_step(x.clone(), x0, s, s2), (1 - s2) * x0 + s2 * n, atol=1e-6)
    assert torch.equal(euler_step(x.clone(), x0, s, 0.0), x0)


def _tiled_oracle_run(target, tile, overlap, move_tiles, monkeypatch, window="cosine", batch=2):
    """Sample with a transformer that returns the exact velocity for each tile's window of ``target``."""
    import tilestitch.sana.sampler as sampler

    oracle = WindowOracle(target)
    real = sampler.tiled_predict

    def spy(predict, x, plan, **kw):
        def located(xt, tiles):
            oracle.windows = [(t.y, t.x) for t in tiles]
            return predict(xt, tiles)
        return real(located, x, plan, **kw)

    monkeypatch.setattr(sampler, "tiled_predict", spy)
    models = oracle_models(target, oracle)
    start = torch.randn(target.shape, generator=torch.Generator().manual_seed(5))
    out = sample_tiled(models, start, prompt(), seed=3, steps=4, cfg=1.0, denoise=1.0, tile=tile, overlap=overlap,
                       tile_batch_size=batch, window=window, move_tiles=move_tiles)
    return out, oracle


@pytest.mark.parametrize("move_tiles", [False, True])
@pytest.mark.parametrize("window", ["cosine", "gaussian", "uniform"])
def test_tiled_sampling_with_an_exact_model_returns_the_clean_latent(monkeypatch, move_tiles, window):
    target = torch.randn(1, 4, 40, 56, generator=torch.Generator().manual_seed(2))
    out, oracle = _tiled_oracle_run(target, tile=16, overlap=6, move_tiles=move_tiles, monkeypatch=monkeypatch, window=window)
    assert out.shape == target.shape
    assert (out - target).abs().max() < 1e-5
    # SANA's timestep convention: sigma * 1000 reaches the model, first step at sigma 1
    assert math.isclose(oracle.sigmas[0], 1.0, rel_tol=1e-6) and len(set(round(s, 6) for s in oracle.sigmas)) == 4


def test_tiled_sampling_notices_a_wrong_blend(monkeypatch):
    """The oracle check can fail: predictions that lose a tile's weight do not return the latent."""
    import tilestitch.tiling.denoise as denoise

    target = torch.randn(1, 4, 40, 56, generator=torch.Generator().manual_seed(2))
    real = denoise.compose
    monkeypatch.setattr(denoise, "compose", lambda t, plan, window, **kw: real(t, plan, "none", **kw) * 0.9)
    out, _ = _tiled_oracle_run(target, tile=16, overlap=6, move_tiles=False, monkeypatch=monkeypatch)
    assert (out - target).abs().max() > 1e-2


def test_guidance_combines_negative_and_positive_velocities():
    class ByPrompt(torch.nn.Module):
        config = types.SimpleNamespace(timestep_scale=1.0, patch_size=1, out_channels=4)

        def forward(self, x, encoder_hidden_states, timestep, encoder_attention_mask=None, return_dict=False):
            m = encoder_attention_mask[..., None].to(x)  # a masked mean: a model ignores padding tokens
            tag = ((encoder_hidden_states * m).sum(dim=(1, 2)) / (m.sum(dim=(1, 2)) * encoder_hidden_states.shape[-1]))
            return (torch.ones_like(x) * tag.view(-1, 1, 1, 1),)

    p = prompt()
    x = torch.randn(3, 4, 6, 6, generator=torch.Generator().manual_seed(0))
    models = oracle_models(x, ByPrompt())
    neg, pos = float(p.negative_embeds.mean()), float(p.embeds.mean())
    for cfg in (1.0, 4.5):
        x0 = velocity_predictor(models, p, cfg)(x, 0.6)
        v = pos if cfg == 1.0 else neg + cfg * (pos - neg)
        assert torch.allclose(x0, x - 0.6 * v, atol=1e-5)


def test_prompt_pair_pads_the_shorter_prompt_with_masked_tokens():
    p = prompt(tokens=5)
    e, m = p.pair(2, "cpu", torch.float32)
    assert e.shape == (4, 5, 8) and m.shape == (4, 5)
    assert m[:2, 3:].sum() == 0 and m[:2, :3].all() and m[2:].all()  # negative first, its padding masked


# -- the tiny real SANA ------------------------------------------------------------------------------------------


def test_folder_checks_name_what_is_missing(tiny_folder, tmp_path):
    assert missing_parts(tiny_folder) == []
    broken = tmp_path / "diffusers" / "Sana_broken"
    shutil.copytree(tiny_folder, broken)
    shutil.rmtree(broken / "text_encoder")
    for f in (broken / "transformer").glob("*.safetensors"):
        f.unlink()
    assert missing_parts(broken) == ["transformer/ weights (*.safetensors)", "text_encoder/"]
    with pytest.raises(FileNotFoundError, match="text_encoder/.*models/diffusers"):
        load_sana(broken)
    other = tmp_path / "diffusers" / "nested" / "Flux_diffusers"
    other.mkdir(parents=True)
    (other / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    shutil.copytree(tiny_folder, tmp_path / "diffusers" / "nested" / "Sana_copy")
    assert find_sana_folders([tmp_path / "diffusers", tmp_path / "absent"]) == ["Sana_broken", "nested/Sana_copy"]


def test_tiny_sana_loads_from_local_files_with_the_release_schedule(tiny):
    assert tiny.flow_shift == 3.0 and tiny.latent_channels == LATENT_CHANNELS and tiny.vae_factor == VAE_FACTOR
    assert tiny.dtype == torch.float32 and tiny.patch_size == 1


def test_prompt_encoding_gives_gemma_states_and_masks(tiny):
    p = encode_prompt(tiny, "w1 w2 w3", "w4", instruction=False, max_tokens=16)
    assert p.embeds.shape == (1, 16, 8) and p.mask.shape == (1, 16)
    assert int(p.mask.sum()) == 3  # w1 w2 w3 (the tiny tokenizer adds no special tokens)
    assert not torch.equal(p.embeds, p.negative_embeds) and bool(torch.isfinite(p.embeds).all())
    chi = encode_prompt(tiny, "w1 w2 w3", "w4", instruction=True, max_tokens=16)
    assert chi.embeds.shape[1] == 16  # the instruction is dropped again, SANA keeps the prompt's tokens
    with pytest.raises(ValueError):
        encode_prompt(tiny, "w1", max_tokens=1)


@pytest.mark.parametrize("tiling", ["off", "dc_ae", "stream"])
def test_dc_ae_round_trip_keeps_size_and_pads_odd_sizes(tiny, tiling):
    img = torch.rand(2, 70, 94, 3, generator=torch.Generator().manual_seed(0))
    z = encode_image(tiny, img, tiling=tiling, tile=32, overlap=8)
    assert z.shape == (2, LATENT_CHANNELS, 35, 47) and z.device.type == "cpu" and bool(torch.isfinite(z).all())
    out = decode_latent(tiny, z, tiling=tiling, tile=32, overlap=8, size=(70, 94))
    assert out.shape == (2, 70, 94, 3) and float(out.min()) >= 0 and float(out.max()) <= 1
    assert not tiny.vae.use_tiling  # native tiling switched back off


def test_streamed_and_native_tiling_equal_one_call_when_one_tile_covers_the_image(tiny):
    img = torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(1))
    whole = encode_image(tiny, img, tiling="off")
    for tiling in ("dc_ae", "stream"):
        assert torch.equal(encode_image(tiny, img, tiling=tiling, tile=64, overlap=16), whole)
        assert torch.equal(decode_latent(tiny, whole, tiling=tiling, tile=64, overlap=16), decode_latent(tiny, whole, tiling="off"))


def test_bad_tiling_arguments_are_refused(tiny):
    img = torch.rand(1, 64, 64, 3)
    with pytest.raises(ValueError, match="multiples"):
        encode_image(tiny, img, tiling="stream", tile=33, overlap=8)
    with pytest.raises(ValueError, match="smaller than the tile"):
        encode_image(tiny, img, tiling="dc_ae", tile=32, overlap=32)
    with pytest.raises(ValueError, match="tiling must be"):
        encode_image(tiny, img, tiling="magic")
    with pytest.raises(ValueError, match="RGB"):
        encode_image(tiny, torch.rand(1, 64, 64, 4))
    with pytest.raises(ValueError, match="SANA latent"):
        decode_latent(tiny, torch.zeros(1, 16, 8, 8))


def test_tiny_sana_refines_tile_by_tile(tiny):
    img = torch.rand(1, 96, 128, 3, generator=torch.Generator().manual_seed(2))
    z = encode_image(tiny, img, tiling="off")
    p = encode_prompt(tiny, "w5 w6", "", instruction=False, max_tokens=8)
    calls = []
    tr = tiny.transformer
    hook = tr.register_forward_pre_hook(lambda m, args, kwargs: calls.append(tuple(args[0].shape)), with_kwargs=True)
    try:
        seen = []
        out = sample_tiled(tiny, z, p, seed=1, steps=3, cfg=3.0, denoise=0.4, tile=24, overlap=8, tile_batch_size=2,
                           progress=lambda d, t: seen.append((d, t)))
    finally:
        hook.remove()
    assert out.shape == z.shape and bool(torch.isfinite(out).all()) and not torch.equal(out, z)
    # 48 x 64 latent, 24 px tiles, overlap >= 8: 3 x 4 tiles, 2 per call (x2 for guidance), 3 steps
    assert calls == [(4, LATENT_CHANNELS, 24, 24)] * (6 * 3)
    assert seen[-1] == (36, 36)
    again = sample_tiled(tiny, z, p, seed=1, steps=3, cfg=3.0, denoise=0.4, tile=24, overlap=8, tile_batch_size=3)
    assert torch.allclose(again, out, atol=1e-5)  # the tile batch does not change the result
    with pytest.raises(ValueError, match="SANA latent"):
        sample_tiled(tiny, torch.zeros(1, 16, 8, 8), p)
    # frequency guidance: the refined latent keeps the input's low band (seen at one tile's resolution) far closer
    guided = sample_tiled(tiny, z, p, seed=1, steps=3, cfg=3.0, denoise=0.4, tile=24, overlap=8, tile_batch_size=2,
                          frequency_guidance=1.0)

    def low(v):
        return torch.nn.functional.adaptive_avg_pool2d(v.float(), (18, 24))

    assert float((low(guided) - low(z)).abs().mean()) < 0.5 * float((low(out) - low(z)).abs().mean())


def test_tile_batch_size_zero_probes_the_transformer_and_keeps_the_result(tmp_path):
    from tilestitch.sana import load_sana, sample_tiled
    from tilestitch.sana.prompt import encode_prompt
    from tilestitch.tiling.sizing import cpu_peak_supported

    from tiny_sana import LATENT_CHANNELS, build_tiny_sana

    ok, why = cpu_peak_supported()
    if not ok:
        pytest.skip(why)
    models = load_sana(build_tiny_sana(tmp_path / "Sana_tiny_diffusers"))
    prompt = encode_prompt(models, "w1 w2", "", instruction=False, max_tokens=8)
    latent = torch.randn(1, LATENT_CHANNELS, 40, 40, generator=torch.Generator().manual_seed(0))
    kw = dict(seed=1, steps=2, cfg=2.0, denoise=0.5, tile=16, overlap=4)
    one = sample_tiled(models, latent, prompt, tile_batch_size=1, **kw)
    auto = sample_tiled(models, latent, prompt, tile_batch_size=0, free_bytes=lambda: 8 << 30, **kw)
    torch.testing.assert_close(auto, one, atol=1e-5, rtol=0)  # the batch changes the calls, not the result
