"""15k-px nodes inside a real ComfyUI: 16-bit load -> split/merge -> 16-bit save is bit-exact with its
ICC profile; Tile Size From Memory feeds Streaming Tiled Upscale with the real Real-ESRGAN model."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

from tilestitch.media import ImageMeta, read_image_meta, write_image

from comfy_server import COMFY_PYTHON
from support import load_photo, srgb_icc_profile, weights_path

pytestmark = pytest.mark.comfyui


def node(cls, **inputs):
    return {"class_type": cls, "inputs": inputs}


SPLIT = dict(mode="tile_size", tile_width=160, tile_height=160, overlap=32, rows=2, cols=2, max_megapixels=1.0, align=8)


def test_16_bit_graph_is_bit_exact_and_keeps_the_profile(comfy, tmp_path):
    server, client = comfy
    codes = (np.arange(300 * 420 * 3, dtype=np.int64) * 40503 % 65536).astype(np.uint16).reshape(300, 420, 3)
    icc = srgb_icc_profile()
    src = tmp_path / "ring16.png"
    write_image(str(src), (codes / 65535.0).astype(np.float32), ImageMeta(icc_profile=icc, dpi=(300.0, 300.0)), "png16")
    name = client.upload_image(src.read_bytes(), "ring16.png")
    prompt = {
        "1": node("TileStitchLoadImage16", image=name),
        "2": node("TileStitchSplit", image=["1", 0], **SPLIT),
        "3": node("TileStitchMerge", tiles=["2", 0], plan=["2", 1], blend="cosine"),
        "4": node("TileStitchSaveImage16", images=["3", 0], filename_prefix="ts16/ring", format="png16", compression=1, meta=["1", 2]),
        "5": node("TileStitchSaveImage16", images=["3", 0], filename_prefix="ts16/ring", format="tiff16", compression=1, meta=["1", 2]),
    }
    entry = client.wait(client.queue(prompt), timeout=300)
    files = sorted(client.output_files(entry), key=lambda f: Path(f.filename).suffix)
    assert [Path(f.filename).suffix for f in files] == [".png", ".tif"]
    for f in files:
        path = tmp_path / f.filename
        path.write_bytes(client.download(f))
        back, meta = read_image_meta(str(path))
        assert np.array_equal(np.rint(back.astype(np.float64) * 65535).astype(np.uint16), codes), f.filename
        assert meta.icc_profile == icc and meta.bit_depth == 16
        if f.filename.endswith(".png"):
            assert "TileStitchSaveImage16" in meta.text["prompt"]  # ComfyUI's prompt embedded like Save Image


def test_tile_size_from_memory_drives_the_streaming_upscale(comfy, tmp_path):
    server, client = comfy
    photo = load_photo("kodim23")[0].numpy()[:192, :256]  # 256 x 192 crop of a Kodak photo
    src = tmp_path / "in.png"
    write_image(str(src), photo, ImageMeta(), "png8")
    name = client.upload_image(src.read_bytes(), "kodim23_crop.png")
    prompt = {
        "1": node("TileStitchLoadImage16", image=name),
        "2": node("UpscaleModelLoader", model_name="realesr-animevideov3.pth"),
        "3": node("TileStitchTileSizeFromMemory", upscale_model=["2", 0], device="cpu", safety_margin=0.25, max_tile=128,
                  min_tile=64, align=8, max_batch=4, probe_size=64, image=["1", 0], overlap=16),
        "4": node("TileStitchTiledUpscaleStream", image=["1", 0], upscale_model=["2", 0], mode="tile_size",
                  tile_width=["3", 0], tile_height=["3", 0], overlap=16, rows=2, cols=2, max_megapixels=1.0, align=8,
                  batch_size=["3", 1], blend="cosine", output_dtype="float32", device="cpu"),
        "5": node("TileStitchSaveImage16", images=["4", 0], filename_prefix="ts16/x4", format="tiff_float32", compression=1),
        "6": node("TileStitchPlanInfo", plan=["4", 1]),
    }
    entry = client.wait(client.queue(prompt), timeout=600)
    (f,) = client.output_files(entry)
    out_path = tmp_path / f.filename
    out_path.write_bytes(client.download(f))
    out, meta = read_image_meta(str(out_path))
    assert out.shape == (768, 1024, 3) and meta.sample_format == "float"
    plan_info = entry["outputs"].get("6")
    assert plan_info is None or plan_info  # PlanInfo is not an output node; the graph ran through it
    ref_path = tmp_path / "ref.npy"
    subprocess.run([str(COMFY_PYTHON), str(Path(__file__).with_name("upscale_whole.py")),
                    str(weights_path("sr/realesr-animevideov3.pth")), str(src), str(ref_path)], check=True)
    ref = np.load(ref_path)
    mse = float(np.mean((out.astype(np.float64) - ref) ** 2))
    psnr = 10 * np.log10(1.0 / max(mse, 1e-12))
    print(f"streamed x4 (128 px tiles) vs untiled: {psnr:.1f} dB")
    assert psnr > 40.0  # a visible seam or a misplaced tile costs far more


def test_client_runs_the_shipped_16_bit_streaming_workflow(comfy, tmp_path):
    """example_workflows/upscale_16bit_streaming.json (UI format) through `python -m client`: 16 bits and the profile survive."""
    import sys

    from support import ROOT

    server, _ = comfy
    photo = load_photo("kodim23")[0].numpy()[:96, :128]
    icc = srgb_icc_profile()
    src = tmp_path / "crop16.tif"
    write_image(str(src), photo, ImageMeta(icc_profile=icc, text={"artist": "TileStitch test"}), "tiff16")
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "client", str(ROOT / "example_workflows" / "upscale_16bit_streaming.json"),
                          "--server", server.url, "--image", f"Original photo (16-bit)={src}",
                          "--set", "Upscale model.model_name=realesr-animevideov3.pth",
                          "--set", "Tiled upscale (streaming).tile_width=64", "--set", "Tiled upscale (streaming).tile_height=64",
                          "--set", "Tiled upscale (streaming).device=cpu", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr + server.log_tail()
    (saved,) = [line for line in res.stdout.splitlines() if line.endswith(".tif")]
    result, meta = read_image_meta(saved)
    assert result.shape == (384, 512, 3) and meta.bit_depth == 16 and meta.icc_profile == icc
    assert meta.text.get("artist") == "TileStitch test"
    assert len(np.unique(result[..., 1])) > 256  # more levels than 8 bits hold
