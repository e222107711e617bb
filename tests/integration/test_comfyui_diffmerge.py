"""Diff Merge in real ComfyUI equals ``diffmerge.diff_merge`` called on the same files (node path = pure path)."""

import io

import numpy as np
import pytest
from PIL import Image

from tilestitch.diffmerge import diff_merge
from tilestitch.diffmerge.detect import DetectOptions
from tilestitch.diffmerge.synthetic import synthetic_edit
from tilestitch.nodes.diffmerge import DiffMerge

from client_run import tiff_result
from support import photo_path

pytestmark = pytest.mark.comfyui


def comfy_load(data: bytes) -> np.ndarray:
    """What ComfyUI's LoadImage gives for a file: PIL, EXIF rotation, RGB, ``code / 255`` in float32."""
    from PIL import ImageOps

    im = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    return np.array(im).astype(np.float32) / 255.0


def widget_defaults(node) -> dict:
    return {k: opts["default"] for k, (_, opts) in node.INPUT_TYPES()["required"].items() if "default" in opts}


@pytest.mark.parametrize("blend", ["feather", "poisson"])
def test_diff_merge_node_in_comfyui_equals_the_pure_call_on_the_same_files(comfy, blend):
    server, client = comfy
    original_bytes = photo_path("scales").read_bytes()  # a 15 MP JPEG, uploaded as the user has it
    original = comfy_load(original_bytes)
    edit = synthetic_edit(original, (880, 1176)).edited
    buf = io.BytesIO()
    Image.fromarray(np.rint(np.clip(edit, 0, 1) * 255).astype(np.uint8)).save(buf, format="PNG")
    edit_bytes = buf.getvalue()
    o_name = client.upload_image(original_bytes, "dm_original.jpg")
    e_name = client.upload_image(edit_bytes, "dm_edit.png")
    widgets = widget_defaults(DiffMerge) | {"blend": blend}
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": o_name}},
        "2": {"class_type": "LoadImage", "inputs": {"image": e_name}},
        "3": {"class_type": "TileStitchDiffMerge", "inputs": {"original": ["1", 0], "edited": ["2", 0], **widgets}},
        "4": {"class_type": "TileStitchSaveImage16", "inputs": {"images": ["3", 0], "filename_prefix": f"dm_{blend}",
                                                              "format": "tiff_float32", "compression": 0}},
    }
    via_comfyui = tiff_result(server, client, prompt)

    pure = diff_merge(original, comfy_load(edit_bytes), registration=widgets["registration"], blend=blend,
                      feather=widgets["feather"], colour_match=widgets["colour_match"],
                      detect=DetectOptions(threshold=widgets["threshold"], dilate=widgets["dilate"], min_area=widgets["min_area"],
                                          sensitivity=DiffMerge.INPUT_TYPES()["optional"]["sensitivity"][1]["default"]))
    assert pure.info["regions"] >= 1
    assert via_comfyui.shape == pure.image.shape
    assert np.array_equal(via_comfyui, pure.image), f"{float(np.abs(via_comfyui - pure.image).max()):.6f} max difference"
