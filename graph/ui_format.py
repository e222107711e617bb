"""Read UI-format workflows (what the ComfyUI editor saves) and turn them into API prompts.

UI format: ``{"nodes": [...], "links": [[id, from_node, from_slot, to_node, to_slot, type], ...]}``;
each node has ``id``, ``type``, ``mode`` (0 active, 2 muted, 4 bypassed),
``inputs`` (``name``, ``type``, ``link``, optional ``widget``), ``outputs`` and
``widgets_values`` in the order given by ``object_info.widget_layout``.

API format (``POST /prompt``): ``{"<id>": {"class_type": ..., "inputs": {name: value or [from_id, slot]}}}``.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

from .object_info import widget_layout

VIRTUAL_NODES = ("Note", "MarkdownNote", "Reroute", "PrimitiveNode")
ACTIVE, MUTED, BYPASSED = 0, 2, 4


def links_by_id(workflow: Mapping[str, Any]) -> Dict[int, Tuple[int, int, int, int, str]]:
    out = {}
    for link in workflow.get("links", []):
        if isinstance(link, dict):  # newer serialisation
            out[link["id"]] = (link["origin_id"], link["origin_slot"], link["target_id"], link["target_slot"], link.get("type", "*"))
        else:
            out[link[0]] = (link[1], link[2], link[3], link[4], link[5] if len(link) > 5 else "*")
    return out


def widget_values(node: Mapping[str, Any], definition: Mapping[str, Any]) -> Dict[str, Any]:
    """``{input_name: value}`` for a node's widgets."""
    values = node.get("widgets_values", [])
    if isinstance(values, dict):
        return dict(values)
    return {name: v for (name, role), v in zip(widget_layout(definition), values) if role == "value"}


def ui_to_api(workflow: Mapping[str, Any], object_info: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Convert a UI-format workflow to an API prompt, as the editor's "Export (API)" does.

    Muted nodes are dropped; bypassed nodes pass their first input of each
    output's type through; Reroute nodes are followed; notes are skipped.
    """
    nodes = {n["id"]: n for n in workflow["nodes"]}
    links = links_by_id(workflow)

    def source(link_id, seen=()):
        """Follow a link back through reroutes and bypassed nodes to a real output."""
        if link_id is None or link_id not in links:
            return None
        origin, slot, _, _, typ = links[link_id]
        node = nodes.get(origin)
        if node is None or node.get("mode", ACTIVE) == MUTED or origin in seen:
            return None
        if node["type"] == "Reroute":
            inp = (node.get("inputs") or [{}])[0]
            return source(inp.get("link"), seen + (origin,))
        if node.get("mode", ACTIVE) == BYPASSED:
            out_type = node["outputs"][slot]["type"] if slot < len(node.get("outputs", [])) else typ
            for inp in node.get("inputs", []):
                if inp.get("type") == out_type and inp.get("link") is not None:
                    return source(inp["link"], seen + (origin,))
            return None
        if node["type"] in VIRTUAL_NODES:
            return None
        return [str(origin), slot]

    prompt: Dict[str, Dict[str, Any]] = {}
    for node in workflow["nodes"]:
        if node["type"] in VIRTUAL_NODES or node.get("mode", ACTIVE) in (MUTED, BYPASSED):
            continue
        definition = object_info.get(node["type"])
        if definition is None:
            raise ValueError(f"node {node['id']} is of type {node['type']!r}, which this ComfyUI does not know (is a custom node pack missing?)")
        inputs: Dict[str, Any] = dict(widget_values(node, definition))
        for inp in node.get("inputs", []):
            if inp.get("link") is None:
                continue
            src = source(inp["link"])
            if src is not None:
                inputs[inp["name"]] = src
            elif inp.get("widget") is None:
                inputs.pop(inp["name"], None)
        entry = {"class_type": node["type"], "inputs": inputs}
        if node.get("title"):
            entry["_meta"] = {"title": node["title"]}
        prompt[str(node["id"])] = entry
    return prompt
