"""Build the shipped example workflows (UI format + API twin) from compact specs.

    python tools/build_workflows.py          # rewrite example_workflows/*.json and api_workflows/*.api.json
    python tools/build_workflows.py --check  # exit 1 if the files differ from the specs

Each spec lists nodes (class, widget values, title, position) and links by
output / input *name*; widget order, slot types and ids come from the node
definitions (the captured core ``/object_info`` plus this pack's nodes), so
the UI file and its API twin cannot disagree. The tests run ``--check``.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_pack import ROOT, import_pack, shared_dir  # noqa: E402
from workflow_model import Spec  # noqa: E402
from workflow_specs import SPECS  # noqa: E402

pack = import_pack()
from tilestitch.graph import load_object_info, merged_object_info, pack_object_info, ui_to_api, widget_layout  # noqa: E402
from tilestitch.graph.object_info import input_spec, is_widget  # noqa: E402
from tilestitch.graph.shipped import api_workflow, ui_workflow  # noqa: E402



def core_object_info_path() -> Path:
    shared = shared_dir()
    p = shared / "comfyui" / "object_info-v0.3.64.json" if shared else None
    if p is None or not p.is_file():
        raise SystemExit("object_info-v0.3.64.json not found: set TILESTITCH_SHARED to the shared/ folder")
    return p


def all_object_info() -> Dict[str, Any]:
    return merged_object_info(
        load_object_info(str(core_object_info_path())),
        pack_object_info(pack.NODE_CLASS_MAPPINGS, pack.NODE_DISPLAY_NAME_MAPPINGS),
    )


def _default(typ, opts):
    if "default" in opts:
        return opts["default"]
    if isinstance(typ, list):
        return typ[0] if typ else ""
    if typ == "COMBO":
        return (opts.get("options") or [""])[0]
    return {"INT": 0, "FLOAT": 0.0, "STRING": "", "BOOLEAN": False}.get(typ, None)


def build(spec: Spec, info: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The UI-format workflow and its API twin."""
    boxes = layout(spec, info)
    nodes_ui = []
    by_id = {n.id: n for n in spec.nodes}
    slots_in: Dict[int, List[dict]] = {}
    slots_out: Dict[int, List[dict]] = {}
    for n in spec.nodes:
        d = info[n.cls]
        inputs = []
        for section in ("required", "optional"):
            for name in d.get("input_order", {}).get(section, []):
                _, typ, opts = input_spec(d, name)
                if is_widget(typ, opts):
                    continue
                slot = {"name": name, "type": typ, "link": None}
                if section == "optional":
                    slot["shape"] = 7
                inputs.append(slot)
        slots_in[n.id] = inputs
        slots_out[n.id] = [{"name": nm, "type": t, "links": []} for nm, t in zip(d["output_name"], d["output"])]
    links = []
    for i, (src, out_name, dst, in_name) in enumerate(spec.links, start=1):
        outs = slots_out[src]
        o = next(k for k, s in enumerate(outs) if s["name"] == out_name)
        ins = slots_in[dst]
        t = next((k for k, s in enumerate(ins) if s["name"] == in_name), None)
        if t is None:
            raise ValueError(f"{spec.name}: node {dst} ({by_id[dst].cls}) has no input slot {in_name!r}")
        ins[t]["link"] = i
        outs[o]["links"].append(i)
        links.append([i, src, o, dst, t, outs[o]["type"]])
    order = _topological_order(spec)
    for n in spec.nodes:
        d = info[n.cls]
        values = []
        for name, role in widget_layout(d):
            if role == "control":  # the front end's "control after generate" for seeds
                values.append("fixed")
            elif role == "upload":  # the upload button's slot
                values.append("image")
            else:
                _, typ, opts = input_spec(d, name)
                values.append(n.widgets.get(name, _default(typ, opts)))
        unknown = set(n.widgets) - {name for name, _ in widget_layout(d)}
        if unknown:
            raise ValueError(f"{spec.name}: node {n.id} ({n.cls}) has no widgets {sorted(unknown)}")
        props = {"Node name for S&R": n.cls}
        props["cnr_id"] = "comfy-core" if not n.cls.startswith("TileStitch") else "comfyui-tilestitch"
        if n.models:
            props["models"] = n.models
        node = {
            "id": n.id, "type": n.cls, "pos": list(boxes[n.id][0]), "size": list(boxes[n.id][1]), "flags": {},
            "order": order[n.id], "mode": 0, "inputs": slots_in[n.id], "outputs": slots_out[n.id],
            "properties": props, "widgets_values": values,
        }
        if n.title:
            node["title"] = n.title
        if n.color:
            node["color"], node["bgcolor"] = n.color, n.color
        nodes_ui.append(node)
    next_id = max(n.id for n in spec.nodes) + 1
    for k, note in enumerate(spec.notes):
        pos, size = boxes[("note", k)]
        nodes_ui.append({
            "id": next_id + k, "type": "MarkdownNote", "pos": list(pos), "size": list(size), "flags": {},
            "order": len(spec.nodes) + k, "mode": 0, "inputs": [], "outputs": [], "title": "Read me",
            "properties": {}, "widgets_values": [note.text], "color": "#432", "bgcolor": "#653",
        })
    ui = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://github.com/tilestitch/workflows/{spec.name}")), "revision": 0,
        "last_node_id": next_id + len(spec.notes) - 1, "last_link_id": len(links),
        "nodes": nodes_ui, "links": links, "groups": [], "config": {},
        "extra": {"ds": {"scale": VIEW_SCALE, "offset": list(VIEW_OFFSET)}, "tilestitch": {"description": spec.description}},
        "version": 0.4,
    }
    api = ui_to_api(ui, info)
    for n in spec.nodes:  # titles make nodes addressable by the headless client
        api[str(n.id)]["_meta"] = {"title": n.title or info[n.cls].get("display_name") or n.cls}
    return ui, api


TITLE_HEIGHT = 30  # the title bar sits above a node's pos
SLOT_HEIGHT, WIDGET_HEIGHT = 20, 24
OVERLAY_NODES = ("TileStitchSplit", "TileStitchSplitList", "TileStitchLatentSplit")
OVERLAY_HEIGHT = 240  # js/tilestitch.js: PREVIEW_HEIGHT, the tile grid over the photo
IMAGE_NODES = ("LoadImage", "PreviewImage", "SaveImage", "TileStitchLoadImage16")
IMAGE_HEIGHT = 240  # room for the image preview these nodes draw
REPORT_NODES = ("TileStitchSeamReport",)
REPORT_LINES = 6  # js/tilestitch.js draws the summary (a count line + worst_count seams, default 5) above the grid
REPORT_LINE_HEIGHT = 14
TOP_MARGIN = 60  # screen px: the first title bar below the front end's menu bar at the saved view (ds offset and scale)
GAP = 10


def min_size(cls: str, d: Dict[str, Any]) -> Tuple[int, int]:
    """What the front end needs to show node ``cls`` without overflow: slots, widgets, and the overlay or image it draws."""
    widgets = len(widget_layout(d))
    inputs = sum(1 for section in ("required", "optional") for name in d.get("input_order", {}).get(section, [])
                 if not is_widget(*input_spec(d, name)[1:]))
    height = max(inputs, len(d["output"])) * SLOT_HEIGHT + widgets * WIDGET_HEIGHT + 12
    if cls in OVERLAY_NODES:
        height += OVERLAY_HEIGHT
    if cls in IMAGE_NODES:
        height += IMAGE_HEIGHT
    if cls in REPORT_NODES:  # after a run: the summary lines, then the seam grid coloured by verdict
        height += REPORT_LINES * REPORT_LINE_HEIGHT + 16 + OVERLAY_HEIGHT + 32  # + the widgets' own margins
        return 420, height
    return 240, height


def layout(spec: Spec, info: Dict[str, Any]) -> Dict[Any, Tuple[Tuple[int, int], Tuple[int, int]]]:
    """``{node id (or ("note", k)): (pos, size)}``: columns left to right, each as wide as its widest node, nodes
    stacked top to bottom in spec order, each as large as ``min_size`` says; notes below their column."""
    columns: Dict[int, List[Tuple[Any, int, int]]] = {}
    for n in spec.nodes:
        w, h = min_size(n.cls, info[n.cls])
        columns.setdefault(n.col, []).append((n.id, max(n.width, w), max(n.height, h)))
    for k, note in enumerate(spec.notes):
        columns.setdefault(note.col, []).append((("note", k), note.width, note.height))
    boxes, x = {}, 0
    for col in sorted(columns):
        width = max(w for _, w, _ in columns[col])
        y = TITLE_HEIGHT
        for key, _, h in columns[col]:
            boxes[key] = ((x, y), (width, h))
            y += h + TITLE_HEIGHT + 2 * GAP
        x += width + 4 * GAP
    return boxes


def check_layout(spec: Spec, info: Dict[str, Any]) -> List[str]:
    """Problems a person would see when the workflow opens: nodes too small for what they show, nodes on top of each
    other, a title under the menu bar (checked on the laid-out boxes)."""
    problems, rects = [], []
    boxes = layout(spec, info)
    for n in spec.nodes:
        (x, y), (w, h) = boxes[n.id]
        need = min_size(n.cls, info[n.cls])
        if w < need[0] or h < need[1]:
            problems.append(f"{spec.name}: node {n.id} ({n.title or n.cls}) is {w} x {h}, needs {need[0]} x {need[1]}")
        rects.append((n.title or n.cls, x, y - TITLE_HEIGHT, x + w, y + h))
    for k, _ in enumerate(spec.notes):
        (x, y), (w, h) = boxes[("note", k)]
        rects.append(("Read me", x, y - TITLE_HEIGHT, x + w, y + h))
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            if a[1] < b[3] + GAP and b[1] < a[3] + GAP and a[2] < b[4] + GAP and b[2] < a[4] + GAP:
                problems.append(f"{spec.name}: {a[0]!r} and {b[0]!r} overlap")
    top = min(r[2] for r in rects)
    if (top + VIEW_OFFSET[1]) * VIEW_SCALE < TOP_MARGIN:
        problems.append(f"{spec.name}: the top title bar is at {(top + VIEW_OFFSET[1]) * VIEW_SCALE:.0f} px, under the menu bar")
    return problems


VIEW_OFFSET = (20, 90)  # the saved canvas view: nodes start below the front end's menu bar
VIEW_SCALE = 0.75


def _topological_order(spec: Spec) -> Dict[int, int]:
    deps = {n.id: {src for src, _, dst, _ in spec.links if dst == n.id} for n in spec.nodes}
    order, done = {}, set()
    while len(done) < len(deps):
        ready = sorted(i for i, d in deps.items() if i not in done and d <= done)
        if not ready:
            raise ValueError(f"{spec.name}: the graph has a cycle")
        for i in ready:
            order[i] = len(order)
            done.add(i)
    return order


def dump(obj) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def outputs_for(spec: Spec, info) -> Dict[Path, str]:
    ui, api = build(spec, info)
    return {ui_workflow(spec.name): dump(ui), api_workflow(spec.name): dump(api)}


def main(argv=None) -> int:

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if any file is out of date")
    args = ap.parse_args(argv)
    info = all_object_info()
    problems = [p for spec in SPECS for p in check_layout(spec, info)]
    if problems:
        print("layout problems:", *problems, sep="\n  ")
        return 1
    stale = []
    for spec in SPECS:
        for path, text in outputs_for(spec, info).items():
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if current != text:
                stale.append(path)
                if not args.check:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print("out of date (run python tools/build_workflows.py):", *[str(p.relative_to(ROOT)) for p in stale], sep="\n  ")
        return 1
    print(("checked" if args.check else "wrote") + f" {sum(len(outputs_for(s, info)) for s in SPECS)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
