"""The pack inside a real ComfyUI: nodes are listed, the shipped upscale workflow runs headless."""

import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tilestitch
from tilestitch.graph import pack_object_info
from tilestitch.graph.shipped import api_workflow

from comfy_server import COMFY_PYTHON
from support import load_photo, weights_path

pytestmark = pytest.mark.comfyui


def test_object_info_lists_every_pack_node_as_defined_offline(comfy):
    server, client = comfy
    info = client.object_info()
    offline = pack_object_info(tilestitch.NODE_CLASS_MAPPINGS, tilestitch.NODE_DISPLAY_NAME_MAPPINGS)
    missing = sorted(set(offline) - set(info))
    assert not missing, f"not loaded by ComfyUI: {missing}\n{server.log_tail()}"
    def without_file_lists(inputs):
        """File pickers (``image_upload``) and model-folder combos list the server's folders: compare all but the list."""
        return {
            section: {k: ([] if opts.get("image_upload") or k.endswith("_folder") else typ, opts) for k, (typ, opts) in (items or {}).items()}
            for section, items in inputs.items() if section != "hidden"
        } | {"hidden": inputs.get("hidden")}

    for name, d in offline.items():
        for key in ("input", "input_order", "output", "output_is_list", "output_name", "display_name", "category", "output_tooltips"):
            if key == "input":
                assert without_file_lists(info[name][key]) == without_file_lists(d[key]), (name, key)
            else:
                assert info[name][key] == d[key], (name, key)



def png_bytes(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(1.0 / max(mse, 1e-12))


def test_shipped_upscale_workflow_runs_and_matches_the_untiled_model(comfy, tmp_path):
    server, client = comfy
    photo = load_photo("parrots", max_side=1024)[0].numpy()  # 1024 x 683 film scan
    src = png_bytes(photo)
    name = client.upload_image(src, "parrots_1024.png")
    prompt = json.loads(api_workflow("upscale_x4_tiled").read_text())
    prompt["1"]["inputs"]["image"] = name
    prompt["2"]["inputs"]["model_name"] = "realesr-animevideov3.pth"
    entry = client.wait(client.queue(prompt), timeout=600)
    files = client.output_files(entry)
    assert len(files) == 1 and files[0].filename.startswith("upscale_x4")
    out = np.asarray(Image.open(io.BytesIO(client.download(files[0]))).convert("RGB"), dtype=np.float32) / 255.0
    h, w = photo.shape[:2]
    assert out.shape == (4 * h, 4 * w, 3)

    (tmp_path / "in.png").write_bytes(src)
    ref_path = tmp_path / "ref.npy"
    subprocess.run([str(COMFY_PYTHON), str(Path(__file__).with_name("upscale_whole.py")),
                    str(weights_path("sr/realesr-animevideov3.pth")), str(tmp_path / "in.png"), str(ref_path)], check=True)
    ref = np.rint(np.load(ref_path) * 255) / 255.0

    # the split node's plan (same widgets) tells where the seams are, at x4
    from tilestitch.tiling import plan_tiles
    split = prompt["3"]["inputs"]
    plan = plan_tiles(h, w, mode=split["mode"], tile_height=split["tile_height"], tile_width=split["tile_width"],
                      overlap=split["overlap"], align=split["align"])
    assert plan.count == 6
    band = np.zeros(out.shape[:2], dtype=bool)
    for s in plan.seams:
        lo, hi = 4 * (s.position - 8), 4 * (s.position + 8)
        if s.axis == 1:
            band[4 * s.span[0] : 4 * s.span[1], lo:hi] = True
        else:
            band[lo:hi, 4 * s.span[0] : 4 * s.span[1]] = True
    overall, at_seams = psnr(out, ref), psnr(out[band], ref[band])
    print(f"tiled vs untiled x4: {overall:.1f} dB overall, {at_seams:.1f} dB in the seam bands")
    # measured 51.1 dB for both (8-bit rounding of two float pipelines); a visible seam costs > 10 dB
    assert overall >= 45.0
    assert at_seams >= 45.0
