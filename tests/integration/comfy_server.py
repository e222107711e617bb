"""Boot a real ComfyUI on loopback with this pack in ``custom_nodes/``.

Where ComfyUI is: ``$COMFYUI_PATH``, else ``~/ComfyUI``; its Python:
``$COMFYUI_PYTHON``, else ``<ComfyUI>/.venv/bin/python``. The server gets a
temporary base directory (models, input, output, user, custom_nodes), so
the checkout is never modified. ``find_comfyui`` says why not when it
cannot run, so tests skip with that reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, Optional, Tuple

from import_pack import ROOT, import_pack

import_pack()
from tilestitch.client import ComfyError  # noqa: E402
from tilestitch.client.server import LocalComfyUI  # noqa: E402

PACK_IMPORTS = ("cv2", "numba", "pywt", "scipy", "diffusers", "safetensors", "spandrel")


def find_comfyui() -> Tuple[Optional[Path], Optional[Path], str]:
    """``(comfyui_dir, python, reason)``: the paths, or Nones and why not."""
    path = Path(os.environ.get("COMFYUI_PATH", Path.home() / "ComfyUI"))
    if not (path / "main.py").is_file():
        return None, None, f"no ComfyUI checkout at {path} (set COMFYUI_PATH)"
    py = Path(os.environ.get("COMFYUI_PYTHON", path / ".venv" / "bin" / "python"))
    if not py.is_file():
        return None, None, f"no Python for ComfyUI at {py} (set COMFYUI_PYTHON)"
    probe = subprocess.run([str(py), "-c", "import " + ", ".join(PACK_IMPORTS)], capture_output=True, text=True)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return None, None, f"ComfyUI's Python lacks the pack's requirements ({last}); run: {py} -m pip install -r requirements.txt"
    return path, py, ""


class ComfyServer:
    """A ComfyUI subprocess on a temporary base directory; ``models`` maps ``folder/file`` to a file to link there,
    ``extra_nodes`` names more custom-node folders. Started by the client's own launcher (``client/server.py``)."""

    def __init__(self, comfy: Path, python: Path, models: Dict[str, Path], extra_nodes: Dict[str, Path] = None, boot_timeout: float = 180.0):
        self.comfy, self.python, self.models = comfy, python, models
        self.extra_nodes = dict(extra_nodes or {})
        self.boot_timeout = boot_timeout
        self.base = Path(tempfile.mkdtemp(prefix="tilestitch-comfy-"))
        self.log_path = self.base / "server.log"
        self.launcher: Optional[LocalComfyUI] = None
        self.url = ""

    @property
    def proc(self):
        return self.launcher.proc if self.launcher else None

    def __enter__(self) -> "ComfyServer":
        for d in ("custom_nodes", "input", "output", "temp", "user", "models"):
            (self.base / d).mkdir()
        (self.base / "custom_nodes" / "comfyui-tilestitch").symlink_to(ROOT, target_is_directory=True)
        for name, src in self.extra_nodes.items():
            (self.base / "custom_nodes" / name).symlink_to(src, target_is_directory=True)
        for rel, src in self.models.items():
            dst = self.base / "models" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(src)
        self.launcher = LocalComfyUI(
            self.comfy, self.python, ["--cpu", "--base-directory", str(self.base), "--disable-api-nodes", "--preview-method", "none"],
            boot_timeout=self.boot_timeout, log_path=self.log_path, env={"HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1"})
        try:
            self.url = self.launcher.__enter__()
        except ComfyError as e:
            shutil.rmtree(self.base, ignore_errors=True)
            raise RuntimeError(str(e)) from None
        return self

    def log_tail(self, n: int = 60) -> str:
        return self.launcher.log_tail(n) if self.launcher else ""

    def output_dir(self) -> Path:
        return self.base / "output"

    def __exit__(self, *exc) -> None:
        if self.launcher is not None:
            self.launcher.__exit__(*exc)
        shutil.rmtree(self.base, ignore_errors=True)


COMFY, COMFY_PYTHON, WHY_NOT = find_comfyui()
