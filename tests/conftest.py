"""Test set-up shared by every test folder.

The repository root is a ComfyUI custom-node package whose folder name is
whatever the user cloned it as, so tests import it under one fixed name,
``tilestitch``, registered here before any test module is imported.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from import_pack import import_pack  # noqa: E402

import_pack()
