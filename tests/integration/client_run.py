"""Running the headless client (``python -m client``) on a shipped workflow, as a user would, for the integration tests."""

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from support import ROOT

from tilestitch.graph.shipped import API_DIR, EXAMPLE_DIR


def run_client(server, workflow: str, *args: str) -> subprocess.CompletedProcess:
    """``python -m client <shipped workflow file> --server <server> args...`` from the checkout (text output, 15 min limit).

    ``workflow``: a file name in example_workflows/ (UI) or api_workflows/ (``*.api.json``).
    """
    folder = API_DIR if workflow.endswith(".api.json") else EXAMPLE_DIR
    return subprocess.run([sys.executable, "-m", "client", str(folder / workflow), "--server", server.url, *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)


def saved_paths(res: subprocess.CompletedProcess, contains: str):
    """The downloaded output paths the client printed whose path contains ``contains``."""
    return [line for line in res.stdout.splitlines() if contains in line]


def save_png(path: Path, image: np.ndarray) -> np.ndarray:
    """Write a float ``[H, W, 3]`` 0..1 image as an 8-bit PNG; return the 8-bit pixels written."""
    pixels = np.rint(image * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return pixels
