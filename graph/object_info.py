"""Node definitions in the form ComfyUI's ``GET /object_info`` serves them.

The pack's own definitions are built from its node classes the way the
server builds them, so a workflow can be checked offline against the core
nodes (a captured ``/object_info``) plus this pack's nodes.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping

WIDGET_TYPES = ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO")


def node_definition(name: str, cls: Any, display_name: str | None = None, module: str = "custom_nodes.tilestitch") -> Dict[str, Any]:
    """One node class as an ``/object_info`` entry (V1 node API)."""
    inputs = cls.INPUT_TYPES()
    return json.loads(json.dumps({
        "input": inputs,
        "input_order": {section: list(spec) for section, spec in inputs.items()},
        "output": list(cls.RETURN_TYPES),
        "output_is_list": list(getattr(cls, "OUTPUT_IS_LIST", [False] * len(cls.RETURN_TYPES))),
        "output_name": list(getattr(cls, "RETURN_NAMES", cls.RETURN_TYPES)),
        "name": name,
        "display_name": display_name or name,
        "description": getattr(cls, "DESCRIPTION", ""),
        "python_module": module,
        "category": getattr(cls, "CATEGORY", "sd"),
        "output_node": bool(getattr(cls, "OUTPUT_NODE", False)),
        **({"output_tooltips": list(cls.OUTPUT_TOOLTIPS)} if hasattr(cls, "OUTPUT_TOOLTIPS") else {}),
    }))


def pack_object_info(class_mappings: Mapping[str, Any], display_names: Mapping[str, str]) -> Dict[str, Dict[str, Any]]:
    return {name: node_definition(name, cls, display_names.get(name)) for name, cls in class_mappings.items()}


def load_object_info(path: str) -> Dict[str, Dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def input_spec(definition: Mapping[str, Any], name: str):
    """``(section, type_or_options, options)`` of an input, or None."""
    for section in ("required", "optional", "hidden"):
        spec = definition.get("input", {}).get(section, {})
        if name in spec:
            entry = spec[name]
            if isinstance(entry, str):  # hidden inputs are bare strings
                return section, entry, {}
            typ = entry[0]
            opts = entry[1] if len(entry) > 1 and isinstance(entry[1], dict) else {}
            return section, typ, opts
    return None


def combo_options(typ, opts) -> list | None:
    """The allowed values of a combo input (legacy list form or ``COMBO`` with ``options``)."""
    if isinstance(typ, list):
        return typ
    if typ == "COMBO":
        return list(opts.get("options", []))
    return None


def is_widget(typ, opts) -> bool:
    if opts.get("forceInput"):
        return False
    return isinstance(typ, list) or typ in WIDGET_TYPES


def widget_layout(definition: Mapping[str, Any]) -> list:
    """The slots of ``widgets_values`` in a UI-format node: ``[(input_name, role)]``.

    Widgets follow input order (required, then optional); ``role`` is
    ``"value"`` for the input's own value. The front end adds a slot after a
    seed-like INT (role ``"control"``: fixed / increment / randomize ...) and
    after an upload combo (role ``"upload"``).
    """
    layout = []
    order = definition.get("input_order") or {s: list(v) for s, v in definition.get("input", {}).items()}
    for section in ("required", "optional"):
        for name in order.get(section, []):
            spec = input_spec(definition, name)
            if spec is None:
                continue
            _, typ, opts = spec
            if not is_widget(typ, opts):
                continue
            layout.append((name, "value"))
            if typ == "INT" and (opts.get("control_after_generate") or name in ("seed", "noise_seed")):
                layout.append((name, "control"))
            if any(opts.get(k) for k in ("image_upload", "video_upload", "audio_upload", "animated_image_upload")):
                layout.append((name, "upload"))
    return layout
