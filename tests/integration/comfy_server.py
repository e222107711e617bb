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
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, Optional, Tuple

from import_pack import ROOT

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ComfyServer:
    """A ComfyUI subprocess; ``models`` maps ``folder/file`` to a file to link there, ``extra_nodes`` names more custom-node folders."""

    def __init__(self, comfy: Path, python: Path, models: Dict[str, Path], extra_nodes: Dict[str, Path] = None, boot_timeout: float = 180.0):
        self.comfy, self.python, self.models = comfy, python, models
        self.extra_nodes = dict(extra_nodes or {})
        self.boot_timeout = boot_timeout
        self.base = Path(tempfile.mkdtemp(prefix="tilestitch-comfy-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.base / "server.log"
        self.proc: Optional[subprocess.Popen] = None

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
        cmd = [str(self.python), "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(self.port),
               "--base-directory", str(self.base), "--disable-api-nodes", "--preview-method", "none"]
        self.log = open(self.log_path, "w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1"}
        self.proc = subprocess.Popen(cmd, cwd=self.comfy, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + self.boot_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                urllib.request.urlopen(self.url + "/object_info/TileStitchSplit", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.5)
        self.__exit__(None, None, None)
        raise RuntimeError(f"ComfyUI did not answer within {self.boot_timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def output_dir(self) -> Path:
        return self.base / "output"

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.base, ignore_errors=True)


COMFY, COMFY_PYTHON, WHY_NOT = find_comfyui()
