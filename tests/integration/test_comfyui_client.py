"""The headless client (``python -m client``) against a real ComfyUI: a shipped UI-format workflow end to end, and a failure."""

import subprocess

import numpy as np
import pytest
from PIL import Image

from client_run import run_client, save_png, saved_paths
from comfy_server import COMFY_PYTHON
from support import ROOT, load_photo, weights_path

pytestmark = pytest.mark.comfyui

WORKFLOW = "upscale_x4_color_poisson.json"


def run_cli(server, *args):
    return run_client(server, WORKFLOW, *args)


def test_client_runs_the_colour_corrected_poisson_upscale_workflow(comfy, tmp_path):
    server, _ = comfy
    photo = load_photo("kodim23")[0].numpy()  # 768 x 512
    src = tmp_path / "kodim23.png"
    save_png(src, photo)
    out = tmp_path / "out"
    res = run_cli(server, "--image", f"Original photo={src}", "--set", "Upscale model.model_name=realesr-animevideov3.pth",
                  "--set", "Split into tiles.tile_width=256", "--set", "Split into tiles.tile_height=256", "--out", str(out))
    assert res.returncode == 0, res.stderr + server.log_tail()
    saved = saved_paths(res, "upscale_x4_poisson")
    assert len(saved) == 1
    result = np.asarray(Image.open(saved[0]).convert("RGB"), dtype=np.float32) / 255
    assert result.shape == (2048, 3072, 3)
    assert "running Poisson seams" in res.stderr or "queued" in res.stderr

    ref_path = tmp_path / "ref.npy"
    subprocess.run([str(COMFY_PYTHON), str(ROOT / "tests" / "integration" / "upscale_whole.py"),
                    str(weights_path("sr/realesr-animevideov3.pth")), str(src), str(ref_path)], check=True)
    ref = np.load(ref_path)
    psnr = 10 * np.log10(1 / np.mean((result - ref) ** 2))
    # the seams, located by the same planner the split node used, scored on the result against the untiled run
    import torch

    from tilestitch.qa.seam_report import seam_report
    from tilestitch.tiling import plan_tiles

    plan = plan_tiles(512, 768, mode="tile_size", tile_width=256, tile_height=256, overlap=64, align=8)
    report = seam_report(torch.from_numpy(result), plan, reference=torch.from_numpy(ref.astype(np.float32)))
    print(f"colour-corrected Poisson x4 vs untiled: {psnr:.1f} dB; {report['summary']}")
    assert report["visible_count"] == 0, report["summary"]
    # joint_gain pulls the model's colours towards the original's, so the result is close to, not equal to, the untiled run
    assert psnr >= 35.0


def test_client_exits_non_zero_with_the_node_error(comfy, tmp_path):
    server, _ = comfy
    src = tmp_path / "small.png"
    save_png(src, np.zeros((64, 96, 3)))
    res = run_cli(server, "--image", f"Original photo={src}", "--set", "Upscale model.model_name=realesr-animevideov3.pth",
                  "--set", "Split into tiles.overlap=600", "--out", str(tmp_path))
    assert res.returncode == 1
    assert "overlap" in res.stderr and "TileStitchSplit" in res.stderr
    bad = run_cli(server, "--set", "No such node.seed=1")
    assert bad.returncode == 2 and "no node titled 'No such node'" in bad.stderr
