"""The compact description of a shipped workflow: nodes by class and widget name, links by slot name, a column each.

``workflow_specs.py`` lists the workflows in these terms; ``build_workflows.py``
lays the nodes out (columns left to right, nodes top to bottom, each as large
as what it shows needs) and writes the UI file and its API twin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple


@dataclass
class N:
    """A node of a spec: ``widgets`` by input name (defaults fill the rest), placed in column ``col``.

    ``width`` / ``height``: at least this large (the builder never makes a node
    smaller than its slots, widgets and previews need).
    """

    id: int
    cls: str
    widgets: Dict[str, Any] = field(default_factory=dict)
    title: Optional[str] = None
    col: int = 0
    width: int = 320
    height: int = 0
    models: List[Dict[str, str]] = field(default_factory=list)
    color: Optional[str] = None


@dataclass
class Note:
    """A Markdown note, below the nodes of column ``col``."""

    text: str
    col: int = 0
    width: int = 480
    height: int = 220


@dataclass
class Spec:
    name: str
    description: str
    nodes: List[N]
    links: List[Tuple[int, str, int, str]]  # (from id, output name, to id, input name)
    notes: List[Note] = field(default_factory=list)
