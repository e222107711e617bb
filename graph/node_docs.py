"""Help pages of the pack's nodes, written from the nodes' own text.

ComfyUI's front end shows a custom node's help from
``/extensions/<pack>/docs/<NodeClass>.md`` (``WEB_DIRECTORY`` is ``js/``, so
the files live in ``js/docs/``). Each page is rendered from the node's
``/object_info`` entry — its DESCRIPTION, every input's tooltip, type,
default and range, every output's tooltip — so the help panel, the tooltips
and the README cannot tell different stories: ``tools/build_docs.py`` writes
the pages and a test checks they are up to date.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping

from .object_info import combo_options

DOCS_FOLDER = "docs"  # inside WEB_DIRECTORY


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def describe_input(typ: Any, opts: Mapping[str, Any]) -> str:
    """Type, default and allowed values of one input, as a short phrase."""
    choices = combo_options(typ, opts)
    if choices is not None:
        shown = ", ".join(f"`{c}`" for c in choices[:12]) + (" …" if len(choices) > 12 else "")
        text = f"one of {shown}" if choices else "a choice (none available)"
        if "default" in opts:
            text += f"; default `{opts['default']}`"
        return text
    text = f"`{typ}`"
    if typ in ("INT", "FLOAT"):
        bounds = []
        if "min" in opts:
            bounds.append(f"≥ {_number(opts['min'])}")
        if "max" in opts:
            bounds.append(f"≤ {_number(opts['max'])}")
        if opts.get("step") not in (None, 1) and typ == "INT":
            bounds.append(f"step {_number(opts['step'])}")
        if bounds:
            text += " " + ", ".join(bounds)
    if "default" in opts and typ in ("INT", "FLOAT", "BOOLEAN", "STRING"):
        default = opts["default"]
        if typ == "STRING" and not default:
            default = "(empty)"
        text += f"; default `{_number(default)}`"
    if opts.get("forceInput") or typ not in ("INT", "FLOAT", "BOOLEAN", "STRING"):
        text += " (socket)"
    return text


def render_node_doc(definition: Mapping[str, Any]) -> str:
    """The Markdown help page of one ``/object_info`` entry."""
    lines: List[str] = [f"# {definition.get('display_name') or definition['name']}", ""]
    description = (definition.get("description") or "").strip()
    if description:
        lines += [description, ""]
    lines += [f"Menu: **{definition.get('category', '')}** · class `{definition['name']}`", ""]
    for section, heading in (("required", "Inputs"), ("optional", "Optional inputs")):
        spec = definition.get("input", {}).get(section) or {}
        if not spec:
            continue
        lines += [f"## {heading}", "", "| input | value | what it does |", "|---|---|---|"]
        for name, entry in spec.items():
            typ = entry[0]
            opts = entry[1] if len(entry) > 1 and isinstance(entry[1], dict) else {}
            lines.append(f"| `{name}` | {_cell(describe_input(typ, opts))} | {_cell(opts.get('tooltip', ''))} |")
        lines.append("")
    outputs = definition.get("output") or []
    if outputs:
        names = definition.get("output_name") or outputs
        tips = definition.get("output_tooltips") or [""] * len(outputs)
        is_list = definition.get("output_is_list") or [False] * len(outputs)
        lines += ["## Outputs", "", "| output | type | what it holds |", "|---|---|---|"]
        for name, typ, tip, many in zip(names, outputs, tips, is_list):
            kind = f"`{typ}`" + (" (list)" if many else "")
            lines.append(f"| `{name}` | {kind} | {_cell(tip)} |")
        lines.append("")
    if definition.get("output_node"):
        lines += ["This is an output node: ComfyUI runs it even when nothing is connected to it.", ""]
    return "\n".join(lines)


def first_sentence(text: str) -> str:
    """The description up to its first full stop followed by a space (or all of it)."""
    text = " ".join((text or "").split())
    end = re.search(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)\. ", text)  # not after e.g. / i.e. / etc.
    return text if end is None else text[: end.start() + 1]


NODE_TABLE_BEGIN = "<!-- node table: written by tools/build_docs.py from the nodes' descriptions -->"
NODE_TABLE_END = "<!-- end of node table -->"


def render_node_table(object_info: Mapping[str, Mapping[str, Any]]) -> str:
    """The README's node table: menu family, display name, the description's first sentence (in menu order)."""
    rows = ["| menu | node | what it does |", "|---|---|---|"]
    for name, d in sorted(object_info.items(), key=lambda kv: (kv[1].get("category", ""), kv[1].get("display_name") or kv[0])):
        family = d.get("category", "").split("/", 1)[-1]
        rows.append(f"| {family} | **{d.get('display_name') or name}** | {_cell(first_sentence(d.get('description', '')))} |")
    return "\n".join([NODE_TABLE_BEGIN, *rows, NODE_TABLE_END])


def replace_node_table(readme: str, table: str) -> str:
    """``readme`` with the text between the node-table markers replaced by ``table`` (ValueError without markers)."""
    start, end = readme.find(NODE_TABLE_BEGIN), readme.find(NODE_TABLE_END)
    if start < 0 or end < start:
        raise ValueError("README.md has no node-table markers")
    return readme[:start] + table + readme[end + len(NODE_TABLE_END):]


def render_all(object_info: Mapping[str, Mapping[str, Any]]) -> Dict[str, str]:
    """``{file name: page}`` for every node of ``object_info``."""
    return {f"{name}.md": render_node_doc(d) for name, d in sorted(object_info.items())}
