"""Loading the pack's numba kernel files (compiled on first use, cached on disk).

A kernel file imports nothing of the pack and is loaded under one fixed
module name, ``tilestitch_jit_<file stem>``, whatever the pack's folder is
called (ComfyUI imports the pack under its folder name, and numba's disk
cache refers to the module by name). Its tables and constants come in as
arguments, from the module that defines the formulas.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_kernels(path: Path) -> ModuleType:
    """The kernel file at ``path`` as a module (loaded once per process)."""
    name = f"tilestitch_jit_{Path(path).stem}"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module
