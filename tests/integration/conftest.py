"""A real ComfyUI server for the integration tests (skipped, with the reason, when none is found)."""

import subprocess
from pathlib import Path

import pytest

from comfy_server import COMFY, COMFY_PYTHON, WHY_NOT, ComfyServer
from support import weights_path
from tiny_sana import build_tiny_sana

from tilestitch.client import ComfyClient

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def comfy(tmp_path_factory):
    """``(server, client)`` for one ComfyUI process shared by all integration tests.

    Models: the Real-ESRGAN compact x4 from ../shared, a tiny random-weight
    FLUX Kontext set built with ComfyUI's own classes (``tiny_flux``,
    ``tiny_clip_l``, ``tiny_t5xxl``, ``tiny_ae``; see build_tiny_flux.py) and a
    tiny random-weight SANA diffusers folder (``diffusers/Sana_tiny_diffusers``). The
    test-only node pack ``comfy_test_nodes`` is loaded beside this one.
    """
    if COMFY is None:
        pytest.skip(WHY_NOT)
    tiny = tmp_path_factory.mktemp("models")
    subprocess.run([str(COMFY_PYTHON), str(HERE / "build_tiny_flux.py"), str(tiny)], cwd=COMFY, check=True, capture_output=True)
    sana = build_tiny_sana(tmp_path_factory.mktemp("diffusers") / "Sana_tiny_diffusers")
    models = {
        "diffusers/Sana_tiny_diffusers": sana,
        "upscale_models/realesr-animevideov3.pth": weights_path("sr/realesr-animevideov3.pth"),
        "diffusion_models/tiny_flux.safetensors": tiny / "tiny_flux.safetensors",
        "text_encoders/tiny_clip_l.safetensors": tiny / "tiny_clip_l.safetensors",
        "text_encoders/tiny_t5xxl.safetensors": tiny / "tiny_t5xxl.safetensors",
        "vae/tiny_ae.safetensors": tiny / "tiny_ae.safetensors",
    }
    with ComfyServer(COMFY, COMFY_PYTHON, models, extra_nodes={"tilestitch_test_nodes": HERE / "comfy_test_nodes"}) as server:
        yield server, ComfyClient(server.url, timeout=120)
