"""Where the pack's own workflows live: one place for every tool, test and the client.

* ``example_workflows/<name>.json`` — UI graphs with a ``<name>.jpg``
  thumbnail each: the folder ComfyUI's front end lists under Templates;
* ``api_workflows/<name>.api.json`` — their API-format twins, for
  ``POST /prompt`` and ``python -m client`` (kept out of the template folder:
  the front end cannot open API files);
* ``assets/tilestitch_sample.jpg`` — the sample photo the demo runs on.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

PACK_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DIR = PACK_ROOT / "example_workflows"
API_DIR = PACK_ROOT / "api_workflows"
SAMPLE_PHOTO = PACK_ROOT / "assets" / "tilestitch_sample.jpg"


def ui_workflow(name: str) -> Path:
    return EXAMPLE_DIR / f"{name}.json"


def api_workflow(name: str) -> Path:
    return API_DIR / f"{name}.api.json"


def thumbnail(name: str) -> Path:
    return EXAMPLE_DIR / f"{name}.jpg"


def workflow_names() -> List[str]:
    """The shipped workflows, by name (sorted)."""
    return sorted(p.stem for p in EXAMPLE_DIR.glob("*.json"))
