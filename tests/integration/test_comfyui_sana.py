"""The shipped SANA workflow in a real ComfyUI, queued by the headless client with a tiny random-weight SANA folder.

The tiny model's pictures are noise-like, so the checks are about the
pipeline: the graph loads the folder from models/diffusers/, refines at x2
tile by tile, and the frequency merge keeps the upscaled original's colours;
a missing folder fails validation with a message that says where to put it.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from client_run import run_client, save_png, saved_paths
from support import load_photo

pytestmark = pytest.mark.comfyui

WORKFLOW = "sana_tiled_refine.json"
SMALL = ["--set", "Tiled refine (1024 px tiles).steps=3", "--set", "Prompt (applies to every tile).max_tokens=16"]


def run_cli(server, *args):
    return run_client(server, WORKFLOW, *args)


def low_pass(img: np.ndarray, factor: int = 16) -> torch.Tensor:
    t = torch.from_numpy(img).permute(2, 0, 1)[None]
    return F.avg_pool2d(t, factor)


def test_client_runs_the_sana_tiled_refine_workflow(comfy, tmp_path):
    server, _ = comfy
    photo = load_photo("kodim23")[0].numpy()[::4, ::4]  # 192 x 128
    src = tmp_path / "kodim23_small.png"
    pixels = save_png(src, photo)
    out = tmp_path / "out"
    res = run_cli(server, "--image", f"Original photo={src}", "--set", "SANA 1.6B 1024px (diffusers).model_folder=Sana_tiny_diffusers",
                  "--set", "Tiled refine (1024 px tiles).tile_size=24", *SMALL, "--out", str(out))
    assert res.returncode == 0, res.stderr + server.log_tail()
    saved = saved_paths(res, "sana_refine")
    assert len(saved) == 1, res.stdout
    result = np.asarray(Image.open(saved[0]).convert("RGB"), dtype=np.float32) / 255
    assert result.shape == (256, 384, 3)
    previews = [line for line in res.stdout.splitlines() if line.endswith(".png") and "sana_refine" not in line]
    assert previews, res.stdout  # the solar-curve preview came back too
    upscaled = np.asarray(Image.fromarray(pixels).resize((384, 256), Image.LANCZOS), np.float32) / 255
    colour_error = float((low_pass(result) - low_pass(upscaled)).abs().mean())
    detail = float(np.abs(result - upscaled).mean())
    print(f"SANA refine (tiny random model): low-pass colour error {colour_error:.4f}, detail change {detail:.4f}")
    assert colour_error < 0.02  # the original's colours are kept ...
    assert detail > 0.01  # ... while the model re-drew the detail


def test_a_missing_sana_folder_fails_with_where_to_put_it(comfy, tmp_path):
    server, _ = comfy
    src = tmp_path / "small.png"
    save_png(src, np.zeros((64, 96, 3)))
    res = run_cli(server, "--image", f"Original photo={src}", *SMALL, "--out", str(tmp_path))
    assert res.returncode == 1
    assert "Sana_1600M_1024px_BF16_diffusers" in res.stderr and "models/diffusers" in res.stderr, res.stderr
    assert "Sana_tiny_diffusers" in res.stderr  # lists what it did find
