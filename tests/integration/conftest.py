"""A real ComfyUI server for the integration tests (skipped, with the reason, when none is found)."""

import pytest

from comfy_server import COMFY, COMFY_PYTHON, WHY_NOT, ComfyServer
from support import weights_path

from tilestitch.client import ComfyClient


@pytest.fixture(scope="session")
def comfy():
    """``(server, client)`` for one ComfyUI process shared by all integration tests."""
    if COMFY is None:
        pytest.skip(WHY_NOT)
    models = {"upscale_models/realesr-animevideov3.pth": weights_path("sr/realesr-animevideov3.pth")}
    with ComfyServer(COMFY, COMFY_PYTHON, models) as server:
        yield server, ComfyClient(server.url, timeout=120)
