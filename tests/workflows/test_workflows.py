"""Every shipped workflow names real nodes, real inputs and valid values (offline, against /object_info)."""

import copy
import json
import subprocess
import sys

import pytest

import tilestitch
from tilestitch.graph import load_object_info, merged_object_info, pack_object_info, ui_to_api, validate_api, validate_ui
from tilestitch.graph.object_info import combo_options, input_spec

from support import ROOT, SHARED

WORKFLOWS = sorted(p for p in (ROOT / "workflows").glob("*.json") if not p.name.endswith(".api.json"))
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
    twin = path.with_name(path.stem + ".api.json")
    assert twin.is_file(), f"{path.name} has no API-format twin {twin.name}"
    api = json.loads(twin.read_text())
    assert validate_api(api, object_info) == []
    assert strip_meta(ui_to_api(json.loads(path.read_text()), object_info)) == strip_meta(api)


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
