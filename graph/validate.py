"""Check workflows against node definitions without running them.

Both checks return a list of human-readable problems (empty when fine):
unknown node classes, missing required inputs, links between mismatched
types or to missing slots, widget values of the wrong type, out of range or
not among a combo's options. Combos that list files (model files, input
images) and model folders, whose options depend on the installation, accept any
file or folder name.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping

from .object_info import combo_options, input_spec, is_widget, widget_layout
from .ui_format import VIRTUAL_NODES, links_by_id, widget_values


def types_match(out_type: str, in_type) -> bool:
    if isinstance(in_type, list):  # a combo fed by a link (e.g. from a primitive)
        return out_type in ("COMBO", "*") or out_type == in_type
    if out_type == "*" or in_type == "*":
        return True
    outs, ins = set(str(out_type).split(",")), set(str(in_type).split(","))
    return bool(outs & ins)


def is_file_combo(name: str, options: list) -> bool:
    """A combo listing files of the installation (``*_name`` loaders, ``image`` of LoadImage, or no options)."""
    return not options or name.endswith("_name") or name in ("image", "video", "audio", "file")


def is_folder_combo(name: str) -> bool:
    """A combo listing model folders of the installation (diffusers-format folders)."""
    return name.endswith("_folder") or name == "model_path"


def check_value(where: str, typ, opts: Mapping[str, Any], value, name: str = "") -> List[str]:
    """Problems with one widget value of input ``name``."""
    options = combo_options(typ, opts)
    if options is not None:
        if value in options:
            return []
        if is_folder_combo(name):
            if isinstance(value, str) and value.strip() and ".." not in value.split("/"):
                return []
            return [f"{where}: expected a folder name, got {value!r}"]
        if is_file_combo(name, options):
            if isinstance(value, str) and "." in value.rsplit("/", 1)[-1]:
                return []
            return [f"{where}: expected a file name, got {value!r}"]
        shown = options if len(options) <= 8 else options[:8] + ["..."]
        return [f"{where}: {value!r} is not one of {shown}"]
    if typ == "INT":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            return [f"{where}: expected an integer, got {value!r}"]
    elif typ == "FLOAT":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return [f"{where}: expected a number, got {value!r}"]
    elif typ == "BOOLEAN":
        return [] if isinstance(value, bool) else [f"{where}: expected true/false, got {value!r}"]
    elif typ == "STRING":
        return [] if isinstance(value, str) else [f"{where}: expected text, got {value!r}"]
    else:
        return []
    lo, hi = opts.get("min"), opts.get("max")
    if lo is not None and value < lo:
        return [f"{where}: {value} is below the minimum {lo}"]
    if hi is not None and value > hi:
        return [f"{where}: {value} is above the maximum {hi}"]
    return []


def _required_inputs(definition) -> List[str]:
    return list(definition.get("input", {}).get("required", {}))


def validate_api(prompt: Mapping[str, Any], object_info: Mapping[str, Any]) -> List[str]:
    """Problems in an API-format prompt."""
    problems: List[str] = []
    for node_id, node in prompt.items():
        cls = node.get("class_type")
        definition = object_info.get(cls)
        if definition is None:
            problems.append(f"node {node_id}: unknown class {cls!r}")
            continue
        inputs = node.get("inputs", {})
        for name in _required_inputs(definition):
            if name not in inputs:
                problems.append(f"node {node_id} ({cls}): required input {name!r} is missing")
        for name, value in inputs.items():
            spec = input_spec(definition, name)
            where = f"node {node_id} ({cls}).{name}"
            if spec is None:
                problems.append(f"{where}: {cls} has no such input")
                continue
            _, typ, opts = spec
            if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
                src = prompt.get(value[0])
                if src is None:
                    problems.append(f"{where}: linked to missing node {value[0]}")
                    continue
                src_def = object_info.get(src.get("class_type"), {})
                outs = src_def.get("output", [])
                if not isinstance(value[1], int) or not 0 <= value[1] < len(outs):
                    problems.append(f"{where}: linked to missing output {value[1]} of node {value[0]}")
                elif not types_match(outs[value[1]], typ):
                    problems.append(f"{where}: expects {typ}, linked to {outs[value[1]]}")
            elif is_widget(typ, opts):
                problems += check_value(where, typ, opts, value, name)
            else:
                problems.append(f"{where}: expects a link to a {typ} output, got a value {value!r}")
    return problems


def validate_ui(workflow: Mapping[str, Any], object_info: Mapping[str, Any]) -> List[str]:
    """Problems in a UI-format workflow (what the editor loads by drag-and-drop)."""
    problems: List[str] = []
    nodes = {n["id"]: n for n in workflow.get("nodes", [])}
    links = links_by_id(workflow)
    for link_id, (origin, oslot, target, tslot, typ) in links.items():
        src, dst = nodes.get(origin), nodes.get(target)
        if src is None or dst is None:
            problems.append(f"link {link_id}: connects missing node {origin if src is None else target}")
            continue
        outs, ins = src.get("outputs", []), dst.get("inputs", [])
        if not oslot < len(outs) or not tslot < len(ins):
            problems.append(f"link {link_id}: slot out of range ({origin}:{oslot} -> {target}:{tslot})")
            continue
        if ins[tslot].get("link") != link_id or link_id not in (outs[oslot].get("links") or []):
            problems.append(f"link {link_id}: the nodes' own slot lists do not record it")
        if src["type"] not in VIRTUAL_NODES and dst["type"] not in VIRTUAL_NODES:
            out_type = outs[oslot].get("type")
            if not types_match(out_type, ins[tslot].get("type")):
                problems.append(f"link {link_id}: {src['type']} output {out_type} -> {dst['type']}.{ins[tslot]['name']} ({ins[tslot].get('type')})")
    for node in workflow.get("nodes", []):
        cls = node["type"]
        if cls in VIRTUAL_NODES:
            continue
        definition = object_info.get(cls)
        where_node = f"node {node['id']} ({cls})"
        if definition is None:
            problems.append(f"{where_node}: unknown class")
            continue
        outs = definition.get("output", [])
        for i, out in enumerate(node.get("outputs", [])):
            if i >= len(outs) or not types_match(out.get("type"), outs[i]):
                problems.append(f"{where_node}: output {i} is {out.get('type')}, the class says {outs[i] if i < len(outs) else 'nothing'}")
        linked = {inp["name"] for inp in node.get("inputs", []) if inp.get("link") is not None}
        for inp in node.get("inputs", []):
            spec = input_spec(definition, inp["name"])
            if spec is None:
                problems.append(f"{where_node}: has input {inp['name']!r}, the class does not")
            elif inp.get("widget") is None and not types_match(inp.get("type"), spec[1]):
                problems.append(f"{where_node}.{inp['name']}: slot type {inp.get('type')}, the class says {spec[1]}")
        values = widget_values(node, definition)
        for name in _required_inputs(definition):
            _, typ, opts = input_spec(definition, name)
            if name not in linked and not (is_widget(typ, opts) and name in values):
                problems.append(f"{where_node}: required input {name!r} is neither linked nor set")
        for name, value in values.items():
            if name in linked:
                continue
            _, typ, opts = input_spec(definition, name)
            problems += check_value(f"{where_node}.{name}", typ, opts, value, name)
        expected = len(widget_layout(definition))
        got = node.get("widgets_values", [])
        if isinstance(got, list) and len(got) != expected:
            problems.append(f"{where_node}: {len(got)} widget values, the class has {expected} widget slots")
    return problems


def merged_object_info(*infos: Mapping[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for info in infos:
        out.update(info)
    return out
