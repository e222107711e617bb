"""Tiled denoising inside a real ComfyUI: a tiny random-weight FLUX (ComfyUI's Flux class) sampled with KSampler.

The test-only node pack records every FLUX transformer call, so the tests
count model evaluations per sampling step and check the shapes each one saw.
"""


import pytest
import torch
from safetensors.torch import load

pytestmark = pytest.mark.comfyui

STEPS, TILE, OVERLAP, BATCH = 2, 64, 16, 3
LATENT_SIDE = 128  # a 1024 x 1024 image's latent: 3 x 3 tiles of 64 with overlap >= 16


def prompt(reference=None, reference_side=1024, tiled=True):
    g = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "tiny_flux.safetensors", "weight_dtype": "default"}},
        "2": {"class_type": "TileStitchTiledDenoise", "inputs": {
            "model": ["1", 0], "tile_width": TILE, "tile_height": TILE, "overlap": OVERLAP, "tile_batch_size": BATCH,
            "blend": "cosine", "shift": True, "reference_latents": reference or "crop", "edge_margin": 0}},
        "3": {"class_type": "TileStitchTestConditioning", "inputs": {"seed": 0, "tokens": 8, "width": 32, "pooled_width": 16}},
        "4": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
        "5": {"class_type": "KSampler", "inputs": {
            "model": ["2", 0] if tiled else ["1", 0], "seed": 7, "steps": STEPS, "cfg": 1.0, "sampler_name": "euler",
            "scheduler": "simple", "positive": ["3", 0], "negative": ["3", 0], "latent_image": ["4", 0], "denoise": 1.0}},
        "6": {"class_type": "SaveLatent", "inputs": {"samples": ["5", 0], "filename_prefix": "tiny_flux"}},
    }
    if reference is not None:
        g["7"] = {"class_type": "EmptySD3LatentImage", "inputs": {"width": reference_side, "height": reference_side, "batch_size": 1}}
        g["8"] = {"class_type": "ReferenceLatent", "inputs": {"conditioning": ["3", 0], "latent": ["7", 0]}}
        g["5"]["inputs"]["positive"] = ["8", 0]
    return g


def run(client, graph):
    client._request("/tilestitch_test/flux_calls", method="DELETE")
    entry = client.wait(client.queue(graph), timeout=600)
    files = [f for f in client.output_files(entry) if f.filename.endswith(".latent")]
    assert len(files) == 1
    latent = load(client.download(files[0]))["latent_tensor"]
    return client.get_json("/tilestitch_test/flux_calls"), latent


def check_calls(calls, latent):
    tiles = 9
    assert len(calls) == STEPS * -(-tiles // BATCH), calls  # one evaluation per tile batch per step
    assert all(c["x"] == [BATCH, 16, TILE, TILE] for c in calls)
    assert all(c["context"][0] == BATCH for c in calls)  # cross-attention repeated to the tile batch
    assert all(c["finite"] for c in calls)
    assert latent.shape == (1, 16, LATENT_SIDE, LATENT_SIDE) and bool(torch.isfinite(latent).all())


def test_tiled_denoise_with_ksampler_calls_flux_once_per_tile_batch(comfy):
    _, client = comfy
    calls, latent = run(client, prompt())
    check_calls(calls, latent)
    assert all(c["ref_latents"] is None for c in calls)
    whole_calls, whole = run(client, prompt(tiled=False))  # the unpatched model: one call per step on the whole latent
    assert [c["x"] for c in whole_calls] == [[1, 16, LATENT_SIDE, LATENT_SIDE]] * STEPS
    assert whole.shape == latent.shape and not torch.equal(whole, latent)


def test_kontext_reference_latent_is_cropped_per_tile_or_passed_whole(comfy):
    _, client = comfy
    calls, latent = run(client, prompt(reference="crop"))
    check_calls(calls, latent)
    assert all(c["ref_latents"] == [[BATCH, 16, TILE, TILE]] for c in calls)
    calls, latent = run(client, prompt(reference="whole"))
    check_calls(calls, latent)
    assert all(c["ref_latents"] == [[BATCH, 16, LATENT_SIDE, LATENT_SIDE]] for c in calls)
    calls, latent = run(client, prompt(reference="crop", reference_side=512))  # another size: always whole
    check_calls(calls, latent)
    assert all(c["ref_latents"] == [[BATCH, 16, 64, 64]] and c["x"] == [BATCH, 16, TILE, TILE] for c in calls)


def test_tiled_denoise_with_tile_text_gives_each_tile_its_own_text_states(comfy):
    """Tile Text Encode + Tiled Denoise with the tiny FLUX and its real (tiny) CLIP-L / T5: every tile's transformer call
    sees the states of its own line; tiles without a line see the base prompt's, as an untiled-text run does."""
    _, client = comfy
    base = "a sharp photograph"
    lines = ["{base}, a red stone", "", "{base}, the golden clasp of a bracelet", "", "{base}, a red stone"]
    g = prompt()
    g["9"] = {"class_type": "DualCLIPLoader", "inputs": {"clip_name1": "tiny_clip_l.safetensors", "clip_name2": "tiny_t5xxl.safetensors",
                                                          "type": "flux", "device": "default"}}
    g["10"] = {"class_type": "CLIPTextEncode", "inputs": {"clip": ["9", 0], "text": base}}
    g["5"]["inputs"]["positive"] = ["10", 0]
    g["5"]["inputs"]["negative"] = ["10", 0]
    plain_calls, _ = run(client, g)  # the same prompt, no tile text: every tile sees the base's states
    base_rows = {r for c in plain_calls for r in c["context_rows"]}
    assert len(base_rows) == 1
    g["11"] = {"class_type": "TileStitchTileTextEncode", "inputs": {"clip": ["9", 0], "base_prompt": base, "prompts": "\n".join(lines)}}
    g["2"]["inputs"]["tile_conditioning"] = ["11", 0]
    calls, latent = run(client, g)
    assert all(c["finite"] for c in calls) and bool(torch.isfinite(latent).all())
    per_step = len(calls) // STEPS
    rows = [r for c in calls[:per_step] for r in c["context_rows"]]  # tiles in plan order, row by row
    assert len(rows) == 9
    assert rows == [r for c in calls[per_step:] for r in c["context_rows"]]  # the same at the second step
    (b,) = base_rows
    assert rows[1] == rows[3] == b and rows[5:] == [b] * 4  # no line / an empty line: the base prompt
    assert rows[0] == rows[4] != b and len({rows[0], rows[2], b}) == 3  # each line its own states
