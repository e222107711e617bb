"""Every shipped workflow names real nodes, real inputs and valid values (offline, against /object_info)."""

import copy
import json
import subprocess
import sys

import pytest

import tilestitch
from tilestitch.graph import load_object_info, merged_object_info, pack_object_info, ui_to_api, validate_api, validate_ui
from tilestitch.graph.object_info import combo_options, input_spec

from tilestitch.graph.shipped import API_DIR, EXAMPLE_DIR, api_workflow, thumbnail, ui_workflow, workflow_names

from support import ROOT, SHARED

WORKFLOWS = [ui_workflow(name) for name in workflow_names()]
CORE = SHARED / "comfyui" / "object_info-v0.3.64.json" if SHARED else None


@pytest.fixture(scope="module")
def object_info():
    if CORE is None or not CORE.is_file():
        pytest.skip("captured /object_info not found: set TILESTITCH_SHARED to the shared/ folder")
    core = load_object_info(str(CORE))
    assert len(core) == 478
    return merged_object_info(core, pack_object_info(tilestitch.NODE_CLASS_MAPPINGS, tilestitch.NODE_DISPLAY_NAME_MAPPINGS))


def strip_meta(api):
    return {k: {kk: vv for kk, vv in v.items() if kk != "_meta"} for k, v in api.items()}


def test_there_are_workflows():
    assert WORKFLOWS, "no workflows shipped"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_ui_workflow_is_valid(path, object_info):
    assert validate_ui(json.loads(path.read_text()), object_info) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_api_twin_is_valid_and_agrees_with_the_ui_file(path, object_info):
    twin = api_workflow(path.stem)
    assert twin.is_file(), f"{path.name} has no API-format twin {twin.name}"
    api = json.loads(twin.read_text())
    assert validate_api(api, object_info) == []
    assert strip_meta(ui_to_api(json.loads(path.read_text()), object_info)) == strip_meta(api)


def test_template_folder_holds_ui_graphs_with_thumbnails_and_nothing_else():
    """The front end lists every .json in example_workflows/ as a template: each must be a UI graph with its .jpg."""
    for path in EXAMPLE_DIR.glob("*.json"):
        data = json.loads(path.read_text())
        assert "nodes" in data and "links" in data and data.get("version"), f"{path.name} is not a UI workflow"
        assert thumbnail(path.stem).is_file(), f"{path.name} has no thumbnail {path.stem}.jpg"
    assert not list(EXAMPLE_DIR.glob("*.api.json"))
    for path in API_DIR.glob("*.json"):
        assert path.name.endswith(".api.json") and ui_workflow(path.name[: -len(".api.json")]).is_file(), path.name
    from PIL import Image

    for name in workflow_names():
        with Image.open(thumbnail(name)) as im:
            assert im.format == "JPEG" and im.width >= 640, name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_no_two_nodes_overlap_and_nothing_sits_under_the_menu_bar(path):
    """Boxes from the saved positions and sizes, title bars included (the front end draws them above pos)."""
    ui = json.loads(path.read_text())
    title, gap = 30, 10
    rects = [(n.get("title", n["type"]), n["pos"][0], n["pos"][1] - title, n["pos"][0] + n["size"][0], n["pos"][1] + n["size"][1])
             for n in ui["nodes"]]
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            assert not (a[1] < b[3] + gap and b[1] < a[3] + gap and a[2] < b[4] + gap and b[2] < a[4] + gap), (a[0], b[0])
    ds = ui["extra"]["ds"]
    top = min(r[2] for r in rects)
    assert (top + ds["offset"][1]) * ds["scale"] >= 60, "the first title bar would sit under the front end's menu bar"
    for n in ui["nodes"]:
        if n["type"] in ("TileStitchSplit", "TileStitchSplitList", "TileStitchLatentSplit"):
            assert n["size"][1] >= 480 and n["size"][0] >= 320, f"{n.get('title')}: no room for the tile-grid overlay"


def test_workflow_files_are_built_from_their_specs():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "build_workflows.py"), "--check"], capture_output=True, text=True)
    if "object_info-v0.3.64.json not found" in r.stdout + r.stderr:
        pytest.skip("captured /object_info not found")
    assert r.returncode == 0, r.stdout + r.stderr


def test_pack_node_defaults_are_valid_values(object_info):
    from tilestitch.graph.validate import check_value

    for name in tilestitch.NODE_CLASS_MAPPINGS:
        d = object_info[name]
        for section in ("required", "optional"):
            for inp in d["input"].get(section, {}):
                _, typ, opts = input_spec(d, inp)
                if "default" in opts:
                    assert check_value(f"{name}.{inp}", typ, opts, opts["default"], inp) == []
                if combo_options(typ, opts) is not None and "default" in opts:
                    assert opts["default"] in combo_options(typ, opts)


def test_the_checker_catches_broken_workflows(object_info):
    ui = json.loads(next(p for p in WORKFLOWS if p.name == "upscale_x4_tiled.json").read_text())
    split = next(n for n in ui["nodes"] if n["type"] == "TileStitchSplit")
    merge = next(n for n in ui["nodes"] if n["type"] == "TileStitchMerge")

    bad = copy.deepcopy(ui)
    next(n for n in bad["nodes"] if n["id"] == split["id"])["type"] = "TileStitchSplitt"
    assert any("unknown class" in p for p in validate_ui(bad, object_info))

    bad = copy.deepcopy(ui)
    node = next(n for n in bad["nodes"] if n["id"] == split["id"])
    node["widgets_values"][3] = -5  # overlap
    assert any("overlap: -5 is below the minimum 0" in p for p in validate_ui(bad, object_info))

    bad = copy.deepcopy(ui)
    node = next(n for n in bad["nodes"] if n["id"] == merge["id"])
    node["widgets_values"][0] = "feather"
    assert any("'feather' is not one of" in p for p in validate_ui(bad, object_info))

    bad = copy.deepcopy(ui)  # plan output wired into the tiles (IMAGE) input
    plan_link = next(l for l in bad["links"] if l[5] == "TILE_PLAN")
    tiles_link = next(l for l in bad["links"] if l[3] == merge["id"] and l[5] == "IMAGE")
    tiles_link[1], tiles_link[2] = plan_link[1], plan_link[2]
    assert any("output TILE_PLAN" in p for p in validate_ui(bad, object_info))

    api = ui_to_api(ui, object_info)
    bad = copy.deepcopy(api)
    del bad[str(merge["id"])]["inputs"]["plan"]
    assert any("required input 'plan' is missing" in p for p in validate_api(bad, object_info))
