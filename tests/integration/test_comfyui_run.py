"""``python -m client run`` from a clean state: it starts ComfyUI itself, runs the shipped demo, and stops it.

The ComfyUI checkout is the one the other integration tests use (``$COMFYUI_PATH``
or ``~/ComfyUI``), without this pack in its ``custom_nodes/``: the client adds
the pack for the run. ``--base-directory`` points ComfyUI at an empty temporary
folder, so the run starts from nothing (no sample photo in the input folder,
no outputs) and leaves the checkout untouched.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from comfy_server import COMFY, COMFY_PYTHON, WHY_NOT
from support import ROOT, SHARED

from tilestitch.graph.shipped import SAMPLE_PHOTO
from tilestitch.media import read_rgb_alpha

pytestmark = pytest.mark.comfyui


def run(base, *args):
    env = {**os.environ, "COMFYUI_PATH": str(COMFY), "COMFYUI_PYTHON": str(COMFY_PYTHON)}
    return subprocess.run([sys.executable, "-m", "client", "run", "tilestitch_demo", *args,
                           "--comfyui-args", f"--base-directory {base} --disable-api-nodes"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)


def test_run_starts_comfyui_processes_a_folder_and_skips_a_broken_file(tmp_path):
    if COMFY is None:
        pytest.skip(WHY_NOT)
    base = tmp_path / "base"
    for d in ("custom_nodes", "input", "output", "temp", "user", "models"):
        (base / d).mkdir(parents=True)
    photos = tmp_path / "photos"
    photos.mkdir()
    kodak = SHARED / "data" / "images" / "kodak_768x512" if SHARED else None
    if kodak is None or not (kodak / "kodim23.png").is_file():
        pytest.skip("shared photos not found")
    for name in ("kodim04.png", "kodim23.png"):
        (photos / name).write_bytes((kodak / name).read_bytes())
    (photos / "broken.jpg").write_bytes(b"this is not a JPEG")
    out = tmp_path / "results"

    res = run(base, "--image", str(photos), "--out", str(out))
    assert res.returncode == 1, res.stderr  # one file failed
    assert "[1/3] broken.jpg: FAILED, skipped" in res.stderr and "2 of 3 done, 1 failed" in res.stderr, res.stderr
    assert "Seam report (against the original):" in res.stderr and "0 visible" in res.stderr, res.stderr
    assert "running Poisson seams" in res.stderr  # progress per node over the WebSocket
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.tif"))
    assert [w.split("/")[-1].split("_demo")[0] for w in written] == ["kodim04", "kodim23"], written
    for rel, name in zip(written, ("kodim04.png", "kodim23.png")):
        pixels = tifffile.imread(out / rel)
        source, _, _ = read_rgb_alpha(str(photos / name))
        assert pixels.dtype == np.uint16 and pixels.shape == (2 * source.shape[0], 2 * source.shape[1], 3)

    # the demo without --image runs on the sample photo the pack put in the (empty) input folder
    assert (base / "input" / SAMPLE_PHOTO.name).is_file()
    res = run(base, "--out", str(out))
    assert res.returncode == 0, res.stderr
    demo = [p for p in out.rglob("demo_*.tif")]
    assert len(demo) == 1
    sample, _, _ = read_rgb_alpha(str(SAMPLE_PHOTO))
    assert tifffile.imread(demo[0]).shape[:2] == (2 * sample.shape[0], 2 * sample.shape[1])
    assert len(list(out.rglob("*.tif"))) == 3  # nothing overwritten
