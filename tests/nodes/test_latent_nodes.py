"""Latent split / merge and the tiled-denoise model patch, called directly (no ComfyUI process)."""


import sys
import types

import pytest
import torch

from tilestitch.nodes.latent import LatentMerge, LatentSplit, TiledDenoise, TiledDenoiseState

from fakes import FakeModel, install_patcher_extension

WIDGETS = dict(mode="tile_size", tile_width=32, tile_height=32, overlap=8, rows=2, cols=2, max_megapixels=1.0, align=2)


def test_latent_split_merge_round_trip_with_noise_mask_and_batch_index():
    x = torch.randn(2, 16, 48, 80)
    mask = torch.rand(2, 1, 48 * 8, 80 * 8)
    tiles, plan = LatentSplit().split({"samples": x, "noise_mask": mask, "batch_index": [5, 9]}, **WIDGETS)
    n = plan.count
    assert tiles["samples"].shape == (2 * n, 16, 32, 32)
    assert tiles["noise_mask"].shape == (2 * n, 1, 256, 256)
    assert tiles["batch_index"] == [5 * n + k for k in range(n)] + [9 * n + k for k in range(n)]
    for blend in ("cosine", "none", "multiband"):
        (out,) = LatentMerge().merge(tiles, plan, blend)
        assert (out["samples"] - x).abs().max() <= 1e-5
        assert out["noise_mask"].shape == (2, 1, 384, 640) and (out["noise_mask"] - mask).abs().max() <= 1e-5
        assert out["batch_index"] == [5, 9]


def test_latent_split_errors_name_the_input():
    with pytest.raises(ValueError, match="samples must be a LATENT"):
        LatentSplit().split(torch.zeros(1, 4, 8, 8), **WIDGETS)
    with pytest.raises(ValueError, match=r"samples has samples of shape \(1, 4, 2, 8, 8\)"):
        LatentSplit().split({"samples": torch.zeros(1, 4, 2, 8, 8)}, **WIDGETS)
    with pytest.raises(ValueError, match="NaN"):
        LatentSplit().split({"samples": torch.full((1, 4, 64, 64), float("nan"))}, **WIDGETS)


def local_model(x):
    """A deterministic local operator (3x3 box blur with a gain): its receptive field is 1 px."""
    k = torch.full((x.shape[1], 1, 3, 3), 1 / 9)
    return torch.nn.functional.conv2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), k, groups=x.shape[1]) * 0.9


def state(**kw):
    opts = dict(tile_height=32, tile_width=32, overlap=16, align=2, window="cosine", margin=4, tile_batch_size=3,
                shift=False, crop_references=True, guidance=None)
    return TiledDenoiseState(**{**opts, **kw})


def test_wrapper_calls_the_model_once_per_tile_batch_and_matches_the_whole_latent():
    x = torch.randn(2, 4, 64, 96)
    seen = []

    def executor(model, conds, x_in, timestep, model_options):
        seen.append((x_in.shape, timestep.shape, conds[0][0]["model_conds"]["c_concat"].cond.shape))
        return [local_model(x_in) for _ in conds]

    class Cond:
        def __init__(self, c):
            self.cond = c

        def _copy_with(self, c):
            return Cond(c)

    conds = [[{"model_conds": {"c_concat": Cond(torch.randn(2, 4, 64, 96))}}], [{"model_conds": {}}]]
    s = state()
    out = s(executor, None, conds, x, torch.full((2,), 0.7), {})
    whole = local_model(x)
    assert isinstance(out, list) and len(out) == 2
    for o in out:
        assert (o - whole).abs().max() <= 1e-5
    tiles = 3 * 5  # 64 / (32 - 16) -> 3 rows, 96 -> 5 cols
    assert s.calls == len(seen) == -(-tiles // 3)
    assert seen[0] == ((3 * 2, 4, 32, 32), (3 * 2,), (3 * 2, 4, 32, 32))


def test_wrapper_passes_small_latents_and_area_conditioning_goes_tile_by_tile():
    calls = []

    def executor(model, conds, x_in, timestep, model_options):
        calls.append(x_in.shape[0])
        return [x_in * 0.5 for _ in conds]

    s = state()
    x = torch.randn(1, 4, 32, 32)
    s(executor, None, [[{}]], x, torch.ones(1), {})
    assert calls == [1] and s.calls == 0  # one tile: the model sees the whole latent
    calls.clear()
    s(executor, None, [[{"area": (8, 8, 0, 0)}]], torch.randn(1, 4, 64, 64), torch.ones(1), {})
    assert calls == [1] * 9


@pytest.fixture
def fake_patcher_extension(monkeypatch):
    install_patcher_extension(monkeypatch)


PATCH = dict(tile_width=64, tile_height=64, overlap=16, tile_batch_size=2, blend="cosine", shift=False, reference_latents="crop", edge_margin=0)


def test_patch_returns_a_clone_and_leaves_the_model_alone(fake_patcher_extension):
    model = FakeModel()
    (patched,) = TiledDenoise().patch(model, **PATCH)
    assert patched is not model and model.wrappers == {}
    wrapper = patched.wrappers["calc_cond_batch"]["tilestitch_tiled_denoise"]
    assert isinstance(wrapper, TiledDenoiseState) and wrapper.align == 2 and wrapper.tile_batch_size == 2


@pytest.mark.parametrize("change, message", [
    (dict(tile_width=63), "multiples of the model's patch size 2"),
    (dict(overlap=64), r"overlap \(64\) must be smaller"),
    (dict(edge_margin=9), r"edge_margin \(9\) must be at most half the overlap"),
    (dict(skip_residual=0.5), "need a context from Global Context Encode with a VAE"),
])
def test_patch_rejects_bad_settings_clearly(fake_patcher_extension, change, message):
    with pytest.raises(ValueError, match=message):
        TiledDenoise().patch(FakeModel(), **{**PATCH, **change})


def test_latent_not_a_multiple_of_the_patch_is_reported():
    with pytest.raises(ValueError, match="not a multiple of the model's patch size 2"):
        state()(lambda *a: None, None, [[{}]], torch.randn(1, 4, 65, 64), torch.ones(1), {})


def test_tile_batch_size_zero_takes_what_comfyuis_estimate_fits(monkeypatch):
    """tile_batch_size 0: the most tiles per call that the model's own memory estimate fits in free memory."""
    mm = types.SimpleNamespace(get_free_memory=lambda device: 1000, throw_exception_if_processing_interrupted=lambda: None)
    comfy = types.ModuleType("comfy")
    comfy.model_management = mm
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.model_management", mm)
    shapes = []

    class Model:
        def memory_required(self, shape):
            shapes.append(tuple(shape))
            return 100 * shape[0]  # bytes per batch item

    x = torch.randn(1, 4, 96, 96)
    calls = []

    def executor(model, conds, x_in, timestep, model_options):
        calls.append(x_in.shape[0])
        return [x_in for _ in conds]

    s = state(tile_batch_size=0, margin=0)
    out = s(executor, Model(), [[{}], [{}]], x, torch.ones(1), {})
    # 750 bytes after the quarter kept back, 100 per tile and conditioning (2): 3 tiles per call
    assert s.chosen_batch == 3 and max(calls) == 3 and shapes[:3] == [(4, 4, 32, 32), (6, 4, 32, 32), (8, 4, 32, 32)]
    assert torch.allclose(out[0], x, atol=1e-6)


class Cond:
    """A COND object as ComfyUI's conds.CONDRegular: ``.cond`` and ``_copy_with``."""

    def __init__(self, c):
        self.cond = c

    def _copy_with(self, c):
        return Cond(c)


class TextModel:
    """A Flux-like model's ``extra_conds``: cross-attention and pooled vector from the prompt, guidance kept."""

    def extra_conds(self, cross_attn, pooled_output, guidance=3.5, **kwargs):
        return {"c_crossattn": Cond(cross_attn * 1.0), "y": Cond(pooled_output * 1.0), "guidance": Cond(torch.tensor([guidance]))}


def encoded(value: float, tokens: int = 4):
    return (torch.full((1, tokens, 8), value), {"pooled_output": torch.full((1, 8), value)})


@pytest.mark.parametrize("tile_batch_size", [1, 3])
def test_per_tile_text_reaches_each_tiles_model_call_and_the_rest_stays_the_positives(tile_batch_size):
    from tilestitch.tiling.cond_tiling import TileText

    x = torch.randn(2, 4, 48, 64)  # 2 x 3 tiles of 32 with overlap 16
    text = TileText(encoded(-1.0), [encoded(10.0), None, encoded(12.0), encoded(13.0)])  # tiles 4, 5: the base
    seen = {}

    def executor(model, conds, x_in, timestep, model_options):
        mc = conds[0][0]["model_conds"]
        rows = mc["c_crossattn"].cond[:, 0, 0].tolist()
        assert mc["y"].cond[:, 0].tolist() == rows and mc["guidance"].cond.tolist() == [2.5]  # guidance: the positive's
        assert conds[1][0]["model_conds"]["c_crossattn"].cond.shape[0] == 2  # the negative untouched (batch 2, not tiled)
        seen.setdefault(len(seen), rows)
        return [x_in * 0.5 for _ in conds]

    positive = [{"cross_attn": torch.zeros(1, 4, 8), "pooled_output": torch.zeros(1, 8), "guidance": 2.5,
                 "model_conds": {"c_crossattn": Cond(torch.zeros(2, 4, 8)), "y": Cond(torch.zeros(2, 8)), "guidance": Cond(torch.tensor([2.5]))}}]
    negative = [{"model_conds": {"c_crossattn": Cond(torch.zeros(2, 4, 8))}}]
    s = state(tile_text=text, tile_batch_size=tile_batch_size, margin=0)
    s(executor, TextModel(), [positive, negative], x, torch.full((2,), 0.7), {})
    rows = [r for call in seen.values() for r in call]
    want = [10.0, 10.0, -1.0, -1.0, 12.0, 12.0, 13.0, 13.0, -1.0, -1.0, -1.0, -1.0]  # tile-major: tile k's 2 images
    assert rows == want
    assert len(seen) == 6 // tile_batch_size


def test_per_tile_text_of_other_lengths_goes_tile_by_tile_and_too_many_lines_are_refused():
    from tilestitch.tiling.cond_tiling import TileText

    calls = []

    def executor(model, conds, x_in, timestep, model_options):
        calls.append(conds[0][0]["model_conds"]["c_crossattn"].cond.shape)
        return [x_in for _ in conds]

    positive = [{"cross_attn": torch.zeros(1, 4, 8), "pooled_output": torch.zeros(1, 8), "model_conds": {}}]
    x = torch.randn(1, 4, 48, 64)
    state(tile_text=TileText(encoded(0.0), [encoded(1.0, tokens=7)]), tile_batch_size=4)(executor, TextModel(), [positive], x, torch.ones(1), {})
    assert calls == [(1, 7, 8)] + [(1, 4, 8)] * 5  # 6 calls, one tile each: tile 0's 7 tokens, the base's 4
    with pytest.raises(ValueError, match="7 prompt lines, the latent has 6 tiles"):
        state(tile_text=TileText(encoded(0.0), [None] * 7))(executor, TextModel(), [positive], x, torch.ones(1), {})
    with pytest.raises(ValueError, match="positive has 2 entries"):
        state(tile_text=TileText(encoded(0.0), []))(executor, TextModel(), [positive * 2], x, torch.ones(1), {})


def test_tile_text_encode_encodes_each_distinct_prompt_once():
    from tilestitch.nodes.latent import TileTextEncode

    from fakes import FakeCLIP

    class Counting(FakeCLIP):
        n = 0

        def encode_from_tokens_scheduled(self, tokens):
            Counting.n += 1
            return super().encode_from_tokens_scheduled(tokens)

    (text,) = TileTextEncode().encode(Counting(), "a b", "x\n\n{base} c\nx")
    assert Counting.n == 3  # "a b", "x", "a b c"
    assert [text.for_tile(k)[0].shape[1] for k in range(6)] == [1, 2, 3, 1, 2, 2]
    assert not text.same_shapes


def test_low_band_latent_is_frequency_guidances_target_and_must_match_the_sampled_latent(fake_patcher_extension):
    g = torch.Generator().manual_seed(1)
    clean = torch.randn(1, 4, 128, 192, generator=g)
    (patched,) = TiledDenoise().patch(FakeModel(), **{**PATCH, "frequency_guidance": 1.0}, low_band_latent={"samples": clean})
    state = patched.wrappers["calc_cond_batch"]["tilestitch_tiled_denoise"]
    assert state.guidance.latent is None and state.guidance.low_band_latent.shape == (1, 4, 13, 19)  # 64 px tiles: 10 px cells

    def drifting(model, conds, x_in, timestep, model_options):
        return [x_in * 1.1 + 0.5 for _ in conds]  # every tile's prediction drifts

    out = state(drifting, None, [[{}]], clean, torch.ones(1), {})[0]
    plain = clean * 1.1 + 0.5
    pooled = torch.nn.functional.avg_pool2d
    assert float(pooled(out - clean, 16).abs().mean()) < 0.1 * float(pooled(plain - clean, 16).abs().mean())
    with pytest.raises(ValueError, match="low_band_latent is 192 x 128 latent px, the latent being sampled 96 x 64"):
        state(drifting, None, [[{}]], torch.randn(1, 4, 64, 96), torch.ones(1), {})
    with pytest.raises(ValueError, match="frequency_guidance is 0"):
        TiledDenoise().patch(FakeModel(), **PATCH, low_band_latent={"samples": clean})
    with pytest.raises(ValueError, match="frequency_guidance needs low_band_latent"):
        TiledDenoise().patch(FakeModel(), **{**PATCH, "frequency_guidance": 0.5})
