"""``python -m client ...`` from the repository root (see ``client/cli.py``)."""

import sys

from .cli import main

sys.exit(main())
