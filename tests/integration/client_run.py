"""Running the headless client (``python -m client``) on a shipped workflow, as a user would, for the integration tests."""

import io
import subprocess
import sys
import time
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


def png_bytes(pixels: np.ndarray) -> bytes:
    """8-bit ``[H, W, C]`` pixels as PNG file bytes (for ``ComfyClient.upload_image``)."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def tiff_result(server, client, prompt: dict, timeout: float = 600) -> np.ndarray:
    """Queue ``prompt`` (API format, with one TIFF-saving node), wait, and read the one TIFF it saved."""
    import tifffile

    entry = client.wait(client.queue(prompt), timeout=timeout)
    files = [f for f in client.output_files(entry) if f.filename.endswith(".tif")]
    assert len(files) == 1, server.log_tail()
    return tifffile.imread(io.BytesIO(client.download(files[0])))


def cancel_while_running(client, prompt_id: str, after: float = 2.5) -> None:
    """Wait until ``prompt_id`` runs, let it work ``after`` s, press Cancel: the prompt must end interrupted within 5 s."""
    import pytest

    from tilestitch.client.api import ComfyError

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(item[1] == prompt_id for item in client.get_json("/queue").get("queue_running", [])):
            break
        time.sleep(0.1)
    time.sleep(after)
    t0 = time.monotonic()
    client.interrupt()
    with pytest.raises(ComfyError, match="interrupted"):
        client.wait(prompt_id, timeout=120)
    assert time.monotonic() - t0 < 5, f"Cancel took {time.monotonic() - t0:.1f} s"
