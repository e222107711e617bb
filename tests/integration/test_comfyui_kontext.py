"""The shipped FLUX workflows end to end in a real ComfyUI, queued by the headless client.

Tiny random-weight models stand in for the releases (ComfyUI's own Flux,
CLIP-L, T5 and autoencoder classes; see build_tiny_flux.py), so the checks
are about the graphs: every core loader and encoder runs, the text
encoders' states and the reference latent reach the model (whole, or
cropped per tile), the tiles are decoded, colour-corrected and merged, and
the full-resolution result keeps the original's size.
"""

import numpy as np
import pytest
from PIL import Image

from client_run import run_client, save_png, saved_paths
from support import load_photo

pytestmark = pytest.mark.comfyui

TINY = ["--set", "FLUX.1 Kontext.unet_name=tiny_flux.safetensors",
        "--set", "Text encoders.clip_name1=tiny_clip_l.safetensors",
        "--set", "Text encoders.clip_name2=tiny_t5xxl.safetensors",
        "--set", "FLUX VAE.vae_name=tiny_ae.safetensors"]


def run_flux(comfy, tmp_path, workflow, image, *more):
    """Queue a shipped FLUX workflow headless with the tiny models: ``image`` is ``"<Load Image title>=<path>"``,
    ``more`` further client arguments (``--set`` ...). Returns ``(the client's result, the model calls the run made)``;
    a failed run fails the test with the server's log."""
    server, client = comfy
    client._request("/tilestitch_test/flux_calls", method="DELETE")
    res = run_client(server, workflow, "--image", image, *TINY, *more, "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr + server.log_tail()
    return res, client.get_json("/tilestitch_test/flux_calls")


def photo_png(tmp_path, name="kodim23"):
    src = tmp_path / f"{name}.png"
    return src, save_png(src, load_photo(name)[0].numpy())


def test_fullres_edit_workflow_runs_and_merges_into_the_original(comfy, tmp_path):
    src, original = photo_png(tmp_path, "portrait")  # a 3072 x 2048 film scan, larger than the edit
    res, calls = run_flux(comfy, tmp_path, "flux_kontext_fullres_edit.json", f"Original photo (full resolution)={src}",
                          "--set", "Kontext edit.steps=2")
    # FluxKontextImageScale picks 832 x 1248 for this 2:3 portrait; the model sees that latent and the photo as its reference
    latent = [1, 16, 1248 // 8, 832 // 8] if original.shape[0] > original.shape[1] else [1, 16, 832 // 8, 1248 // 8]
    assert len(calls) == 2 and all(c["x"] == latent and c["ref_latents"] == [latent] for c in calls), calls
    assert all(c["context"][2] == 32 and c["finite"] for c in calls)  # T5's (tiny) states reached the model
    (full,) = saved_paths(res, "kontext_fullres")
    result = np.asarray(Image.open(full).convert("RGB"))
    assert result.shape == original.shape  # back at the original's 3072 x 2048, not the edit's size
    previews = [line for line in res.stdout.splitlines() if line.endswith(".png") and "kontext_fullres" not in line]
    assert len(previews) == 2, res.stdout  # the solar preview and the "what changed" overlay
    # a random model "edits" everything, so diff-merge takes (nearly) all of it; locality is tested in tests/unit
    print(f"Kontext full-res edit (tiny random model): {100 * np.any(result != original, axis=-1).mean():.1f} % of pixels merged")


def test_tiled_edit_workflow_crops_the_reference_per_tile(comfy, tmp_path):
    src, original = photo_png(tmp_path)
    res, calls = run_flux(comfy, tmp_path, "flux_kontext_tiled_edit.json", f"Photo={src}",
                          "--set", "Refine.steps=2", "--set", "Tiled denoise.tile_width=48", "--set", "Tiled denoise.tile_height=48",
                          "--set", "Tiled denoise.overlap=16", "--set", "Latent tiles for decoding.tile_width=48",
                          "--set", "Latent tiles for decoding.tile_height=48")
    # a 96 x 64 latent in 48-px tiles with overlap >= 16: 3 x 2 tiles, 2 per call, 2 steps
    assert len(calls) == 2 * 3, calls
    assert all(c["x"] == [2, 16, 48, 48] and c["ref_latents"] == [[2, 16, 48, 48]] and c["finite"] for c in calls), calls
    (out,) = saved_paths(res, "kontext_tiled")
    result = np.asarray(Image.open(out).convert("RGB"))
    assert result.shape == original.shape


def test_seam_pass_workflow_refines_tiles_then_redraws_only_the_seam_tiles(comfy, tmp_path):
    src, original = photo_png(tmp_path)  # 768 x 512
    res, calls = run_flux(comfy, tmp_path, "upscale_x4_refine_seam_pass.json", f"Photo={src}",
                          "--set", "Upscale model.model_name=realesr-animevideov3.pth",
                          "--set", "Split (256 px: 1024 px after x4).tile_width=128", "--set", "Split (256 px: 1024 px after x4).tile_height=128",
                          "--set", "Split (256 px: 1024 px after x4).overlap=16",
                          "--set", "Refine each tile.steps=1", "--set", "Redraw the seams.steps=1",
                          "--set", "Seam tiles.tile_width=256", "--set", "Seam tiles.tile_height=256", "--set", "Seam tiles.zone_width=48",
                          "--set", "Seam tiles.overlap=64")
    shapes = sorted({tuple(c["x"][1:]) for c in calls})
    # the refine sees the upscaled tiles (128 px or a little less, shrunk to fit, x4), the seam pass its 256 px seam tiles
    assert len(shapes) == 2 and (16, 32, 32) in shapes and min(shapes[1][1:]) >= 56, shapes
    assert all(c["finite"] for c in calls)
    (out,) = saved_paths(res, "upscale_x4_seam_pass")
    result = np.asarray(Image.open(out).convert("RGB"))
    assert result.shape == (4 * original.shape[0], 4 * original.shape[1], 3)


def test_global_edit_workflow_takes_the_edits_tone_and_keeps_the_originals_texture(comfy, tmp_path):
    import tifffile
    import torch

    from tilestitch.correct.bands import split_bands

    src, original = photo_png(tmp_path, "portrait")  # 3072 x 2048, edited at ~1 MP
    res, calls = run_flux(comfy, tmp_path, "flux_kontext_global_edit.json", f"Original photo (full resolution)={src}",
                          "--set", "Kontext edit.steps=1")
    assert calls and all(c["finite"] and c["ref_latents"] == [c["x"]] for c in calls)  # the whole photo, at ~1 MP
    assert calls[0]["x"][2] * calls[0]["x"][3] * 64 <= 1.1e6
    (tif,) = [p for p in saved_paths(res, "kontext_global") if p.endswith(".tif")]
    result = tifffile.imread(tif)
    assert result.shape == original.shape and result.dtype == np.uint16  # full resolution, 16-bit
    out = torch.from_numpy(result.astype(np.float32) / 65535)
    orig = torch.from_numpy(original.astype(np.float32) / 255)
    fine_out, fine_orig = split_bands(out, 2)[0], split_bands(orig, 2)[0]
    assert 0.9 < float(fine_out.square().mean() / fine_orig.square().mean()) < 1.1  # the original's texture
    assert float((fine_out - fine_orig).abs().mean()) < 0.1 * float(fine_orig.abs().mean())
    # a random model's "edit" is nothing like the photo: the low band came from it, not from the original
    assert float((split_bands(out, 5)[-1] - split_bands(orig, 5)[-1]).abs().mean()) > 0.02


def test_tile_loop_workflow_refines_tile_by_tile_with_a_prompt_per_tile(comfy, tmp_path):
    src, original = photo_png(tmp_path)  # 768 x 512
    res, calls = run_flux(comfy, tmp_path, "flux_tile_loop_refine.json", f"Photo={src}",
                          "--set", "Tile grid.tile_width=384", "--set", "Tile grid.tile_height=256", "--set", "Tile grid.overlap=64",
                          "--set", "Tile grid.shrink_tiles=false", "--set", "Refine the tile.steps=1",
                          "--set", "Tile loop: start.prompts=w1 w2\n\nw3 w4 w5")
    # 768 x 512 in 384 x 256 tiles with overlap >= 64: 3 x 3 tiles, one model call each (one tile a call, one step)
    assert len(calls) == 9 and all(c["x"] == [1, 16, 256 // 8, 384 // 8] and c["finite"] for c in calls), calls
    (out,) = saved_paths(res, "tile_loop_refine")
    assert np.asarray(Image.open(out).convert("RGB")).shape == original.shape


def test_seam_loop_workflow_redraws_each_seam_tile_and_nothing_outside_the_zones(comfy, tmp_path):
    import torch

    from tilestitch.nodes.seam_tiles import SeamTiles
    from tilestitch.nodes.tiles import TilePlanNode
    from tilestitch.tiling.seam_tiles import zone_weight

    src, original = photo_png(tmp_path)  # 768 x 512
    res, calls = run_flux(comfy, tmp_path, "flux_seam_loop_redraw.json", f"Merged image={src}",
                          "--set", "The grid it was merged with.tile_width=384", "--set", "The grid it was merged with.tile_height=256",
                          "--set", "The grid it was merged with.overlap=64", "--set", "The grid it was merged with.shrink_tiles=false",
                          "--set", "Seam tiles.tile_width=256", "--set", "Seam tiles.tile_height=256", "--set", "Seam tiles.zone_width=48",
                          "--set", "Redraw the seam.steps=1")
    image = torch.from_numpy(np.asarray(original, dtype=np.float32) / 255)[None]
    plan = TilePlanNode().plan(image, mode="tile_size", tile_width=384, tile_height=256, overlap=64, rows=2, cols=2,
                               max_megapixels=1.0, align=16, shrink_tiles=False)[0]
    sp = SeamTiles().split(image, plan, "bands", 48, 256, 256, 128)[1]
    # one sampler call per seam tile (one step), each on a 256 x 256 seam tile
    assert len(calls) == sp.count > 4 and all(c["x"] == [1, 16, 256 // 8, 256 // 8] and c["finite"] for c in calls), calls
    (out,) = saved_paths(res, "seam_loop_redraw")
    result = np.asarray(Image.open(out).convert("RGB"))
    zone = zone_weight(sp, 0, sp.height, 0, sp.width).numpy()
    assert result.shape == original.shape
    assert np.array_equal(result[zone == 0], np.asarray(original)[zone == 0])  # outside the zones: the input's codes
    assert float(np.abs(result.astype(np.float32) - original)[zone == 1].mean()) > 5  # the zones were redrawn


def test_kontext_tile_loop_edits_each_tile_with_its_own_line_and_the_tile_as_reference(comfy, tmp_path):
    src, original = photo_png(tmp_path)  # 768 x 512
    res, calls = run_flux(comfy, tmp_path, "flux_kontext_tile_loop_edit.json", f"Photo={src}",
                          "--set", "Tile grid.tile_width=384", "--set", "Tile grid.tile_height=256", "--set", "Tile grid.overlap=64",
                          "--set", "Tile grid.shrink_tiles=false", "--set", "Kontext edit of the tile.steps=1",
                          "--set", "Tile loop: start.prompts={base}; the clasp\n\n{base}; the stone")
    tile_latent = [1, 16, 256 // 8, 384 // 8]
    # 3 x 3 tiles, one call each; Kontext's reference is the tile being edited (its own latent), not the whole photo
    assert len(calls) == 9 and all(c["x"] == tile_latent and c["ref_latents"] == [tile_latent] and c["finite"] for c in calls), calls
    # serpentine order visits tiles 0, 1, 2, 5, 4, 3, 6, 7, 8: tiles 0 and 2 have their own lines, the rest the instruction
    text = {k: c["context_sum"] for k, c in zip([0, 1, 2, 5, 4, 3, 6, 7, 8], calls)}
    assert len({text[k] for k in (1, 3, 4, 5, 6, 7, 8)}) == 1
    assert len({text[0], text[1], text[2]}) == 3
    (out,) = saved_paths(res, "kontext_tile_loop")
    assert np.asarray(Image.open(out).convert("RGB")).shape == original.shape


def test_kontext_tiled_edit_seam_pass_edits_every_tile_then_redraws_only_the_seam_tiles(comfy, tmp_path):
    from tilestitch.nodes.seam_tiles import SeamTiles
    from tilestitch.nodes.tiles import TileSplit

    src, original = photo_png(tmp_path)  # 768 x 512
    res, calls = run_flux(comfy, tmp_path, "flux_kontext_tiled_edit_seam_pass.json", f"Photo={src}",
                          "--set", "Split into tiles.tile_width=384", "--set", "Split into tiles.tile_height=256",
                          "--set", "Split into tiles.overlap=64", "--set", "Split into tiles.shrink_tiles=false",
                          "--set", "Kontext edit of each tile.steps=1", "--set", "Redraw the seams.steps=1",
                          "--set", "Seam tiles.tile_width=256", "--set", "Seam tiles.tile_height=256", "--set", "Seam tiles.zone_width=48")
    image = np.asarray(original, dtype=np.float32)[None] / 255
    import torch

    plan = TileSplit().split(torch.from_numpy(image), mode="tile_size", tile_width=384, tile_height=256, overlap=64, rows=2, cols=2,
                             max_megapixels=1.0, align=16, shrink_tiles=False)[1]
    seam_plan = SeamTiles().split(torch.from_numpy(image), plan, "bands", 48, 256, 256, 64)[1]
    # the edit: the 9 tiles in one call, each with its own latent as reference; the seam pass: its seam tiles likewise
    assert calls[0]["x"] == [plan.count, 16, 256 // 8, 384 // 8] and calls[0]["ref_latents"] == [calls[0]["x"]]
    assert [c["x"] for c in calls[1:]] == [[seam_plan.count, 16, 32, 32]] and calls[1]["ref_latents"] == [calls[1]["x"]]
    assert all(c["finite"] for c in calls)
    (out,) = saved_paths(res, "kontext_tiled_seam_pass")
    assert np.asarray(Image.open(out).convert("RGB")).shape == original.shape
