"""Import the repository as the package ``tilestitch``, whatever its folder is called.

ComfyUI loads the pack as a package from ``custom_nodes/<folder>/__init__.py``;
tests, benchmarks and tools load it the same way under one fixed name.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "tilestitch"


def import_pack(name: str = PACKAGE):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def shared_dir() -> Path | None:
    """The shared material (real photos, weights, captured ``/object_info``).

    ``$TILESTITCH_SHARED``, else a ``shared/`` folder beside or inside the checkout.
    """
    import os

    env = os.environ.get("TILESTITCH_SHARED")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared", ROOT / "shared"]:
        if (cand / "data").is_dir() or (cand / "comfyui").is_dir():
            return cand
    return None
