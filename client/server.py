"""Find a ComfyUI checkout and run it headless on a free loopback port for the length of one job (standard library only).

Where ComfyUI is, first match wins: ``--comfyui``, ``$COMFYUI_PATH``, the
ComfyUI this pack sits in (``<ComfyUI>/custom_nodes/<pack>``), ``~/ComfyUI``.
Its Python: ``--python``, ``$COMFYUI_PYTHON``, a ``.venv`` / ``venv`` inside
the checkout, the portable build's ``python_embeded``, else the Python
running this client. When that ComfyUI does not have the pack in its
``custom_nodes/``, the pack is added for this run only (an extra-paths file
naming a temporary folder that links to it); nothing in the checkout changes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Sequence

from .api import ComfyClient, ComfyError

PACK_ROOT = Path(__file__).resolve().parents[1]
PACK_NODE = "TileStitchSplit"  # a node of this pack: its definition says the pack loaded
LOG_TAIL_LINES = 40


def is_comfyui(path: Path) -> bool:
    return (path / "main.py").is_file() and (path / "comfy").is_dir()


def _enclosing_comfyui(path: Path) -> Optional[Path]:
    """The ComfyUI whose ``custom_nodes/`` holds ``path`` (logical path: links are not resolved)."""
    for parent in path.parents:
        if parent.name == "custom_nodes" and is_comfyui(parent.parent):
            return parent.parent
    return None


def _pack_locations() -> List[Path]:
    """Where the pack is, as the user reached it (a link in ``custom_nodes/`` keeps its name here)."""
    places = [Path(os.path.abspath(__file__)).parents[1]]
    pwd = os.environ.get("PWD")
    if pwd and Path(pwd).is_dir() and os.path.samefile(pwd, os.getcwd()):
        places += [Path(pwd), *Path(pwd).parents]
    return places


def find_comfyui(explicit: Optional[str] = None) -> Path:
    """The ComfyUI checkout to run, or ComfyError saying where it looked."""
    tried: List[str] = []
    candidates = []
    if explicit:
        candidates.append(("--comfyui", Path(explicit).expanduser()))
    elif os.environ.get("COMFYUI_PATH"):
        candidates.append(("$COMFYUI_PATH", Path(os.environ["COMFYUI_PATH"]).expanduser()))
    else:
        for place in _pack_locations():
            around = _enclosing_comfyui(place / "x")
            if around is not None:
                candidates.append(("the ComfyUI around the pack", around))
                break
        candidates.append(("~/ComfyUI", Path.home() / "ComfyUI"))
    for why, path in candidates:
        if is_comfyui(path):
            return path.absolute()
        tried.append(f"{path} ({why})")
    raise ComfyError("no ComfyUI found (a folder with main.py and comfy/); looked at: " + "; ".join(tried)
                     + ". Put the pack in ComfyUI/custom_nodes/, or pass --comfyui DIR, or --server URL for a running one")


def find_python(comfy: Path, explicit: Optional[str] = None) -> Path:
    """The Python that runs ``comfy`` (see the module's docstring for the order)."""
    if explicit:
        return Path(explicit)
    if os.environ.get("COMFYUI_PYTHON"):
        return Path(os.environ["COMFYUI_PYTHON"])
    for rel in (".venv/bin/python", "venv/bin/python", ".venv/Scripts/python.exe", "venv/Scripts/python.exe",
                "../python_embeded/python.exe"):
        cand = comfy / rel
        if cand.is_file():
            return cand
    return Path(sys.executable)


ACCELERATOR_PROBE = (
    "import sys, torch; b = torch.backends; "
    "sys.exit(0 if torch.cuda.is_available() or (hasattr(b, 'mps') and b.mps.is_available()) "
    "or (hasattr(torch, 'xpu') and torch.xpu.is_available()) else 3)"
)


def has_accelerator(python: Path) -> bool:
    """Whether torch in ``python`` sees a GPU (CUDA / ROCm, Apple MPS, Intel XPU); ComfyUI needs ``--cpu`` without one."""
    try:
        return subprocess.run([str(python), "-c", ACCELERATOR_PROBE], capture_output=True, timeout=120).returncode != 3
    except (OSError, subprocess.TimeoutExpired):
        return True  # cannot tell: let ComfyUI decide


def custom_nodes_folder(comfy: Path, args: Sequence[str] = ()) -> Path:
    """The ``custom_nodes/`` ComfyUI will read: the checkout's, or that of ``--base-directory`` among ``args``."""
    base = None
    for k, arg in enumerate(args):
        if arg == "--base-directory" and k + 1 < len(args):
            base = args[k + 1]
        elif arg.startswith("--base-directory="):
            base = arg.split("=", 1)[1]
    return Path(base).expanduser() / "custom_nodes" if base else comfy / "custom_nodes"


def pack_installed(comfy: Path, args: Sequence[str] = ()) -> bool:
    """Whether one of the custom node folders ComfyUI will read is this pack (a copy at another place does not count)."""
    nodes = custom_nodes_folder(comfy, args)
    try:
        return any(entry.resolve() == PACK_ROOT for entry in nodes.iterdir())
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LocalComfyUI:
    """``with LocalComfyUI(comfy, python) as url:`` — ComfyUI running headless on loopback; stopped on exit.

    ``extra_args`` go to ComfyUI's ``main.py`` (e.g. ``--cpu``,
    ``--base-directory DIR``). ``boot_timeout``: seconds to wait for the
    pack's nodes to answer. A server that exits or never loads the pack
    raises ComfyError with the end of its log.
    """

    def __init__(self, comfy: Path, python: Path, extra_args: Sequence[str] = (), boot_timeout: float = 600.0,
                 log_path: Optional[Path] = None, env: Optional[dict] = None):
        self.comfy, self.python = Path(comfy), Path(python)
        self.extra_args = list(extra_args)
        self.boot_timeout = boot_timeout
        self.env = env
        self.work = Path(tempfile.mkdtemp(prefix="tilestitch-run-"))
        self.log_path = Path(log_path) if log_path else self.work / "comfyui.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Optional[subprocess.Popen] = None
        self._log = None

    def _pack_paths_args(self) -> List[str]:
        """``--extra-model-paths-config`` adding the pack for this run, when the checkout lacks it."""
        if pack_installed(self.comfy, self.extra_args):
            return []
        nodes = self.work / "custom_nodes"
        nodes.mkdir()
        try:
            (nodes / PACK_ROOT.name).symlink_to(PACK_ROOT, target_is_directory=True)
        except OSError as e:
            raise ComfyError(f"{self.comfy} does not have the pack in custom_nodes/ and a link to it cannot be made "
                             f"({e}); put the pack in {self.comfy / 'custom_nodes'}") from None
        config = self.work / "tilestitch_paths.yaml"
        config.write_text(f"tilestitch_run:\n  custom_nodes: {nodes.as_posix()}\n", encoding="utf-8")
        return ["--extra-model-paths-config", str(config)]

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> str:
        cmd = [str(self.python), "main.py", "--listen", "127.0.0.1", "--port", str(self.port),
               "--disable-auto-launch", *self._pack_paths_args(), *self.extra_args]
        self._log = open(self.log_path, "w", encoding="utf-8")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(self.env or {})}
        try:
            self.proc = subprocess.Popen(cmd, cwd=self.comfy, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        except OSError as e:
            self.__exit__(None, None, None)
            raise ComfyError(f"cannot start {self.python}: {e}") from None
        client = ComfyClient(self.url, timeout=5.0)
        deadline = time.monotonic() + self.boot_timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise ComfyError(f"ComfyUI exited with status {self.proc.returncode} while starting:\n{self.log_tail()}")
                try:
                    found = client.get_json(f"/object_info/{PACK_NODE}")
                except ComfyError:  # not listening yet
                    time.sleep(0.5)
                    continue
                if found:
                    return self.url
                raise ComfyError(f"ComfyUI started without the TileStitch nodes (an import error?):\n{self.log_tail()}")
            raise ComfyError(f"ComfyUI did not start within {self.boot_timeout:.0f} s (log: {self.log_path}):\n{self.log_tail()}")
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.work, ignore_errors=True)  # removes the link to the pack, never what it points to
