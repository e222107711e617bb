"""The compact description of a shipped workflow: nodes by class and widget name, links by slot name.

``workflow_specs.py`` lists the workflows in these terms; ``build_workflows.py``
turns them into the UI file and its API twin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple


@dataclass
class N:
    """A node of a spec: ``widgets`` by input name (defaults fill the rest)."""

    id: int
    cls: str
    widgets: Dict[str, Any] = field(default_factory=dict)
    title: Optional[str] = None
    pos: Tuple[int, int] = (0, 0)
    size: Tuple[int, int] = (320, 120)
    models: List[Dict[str, str]] = field(default_factory=list)
    color: Optional[str] = None


@dataclass
class Spec:
    name: str
    description: str
    nodes: List[N]
    links: List[Tuple[int, str, int, str]]  # (from id, output name, to id, input name)
    notes: List[Tuple[str, Tuple[int, int], Tuple[int, int]]] = field(default_factory=list)
