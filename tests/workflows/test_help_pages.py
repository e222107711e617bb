"""The node help pages the front end fetches (``js/docs/<NodeClass>.md``) are written from the nodes' own text."""

import subprocess
import sys

import tilestitch
from tilestitch.graph import pack_object_info
from tilestitch.graph.node_docs import render_node_doc

from support import ROOT


def test_help_pages_are_up_to_date():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_page_carries_the_description_and_every_tooltip():
    info = pack_object_info(tilestitch.NODE_CLASS_MAPPINGS, tilestitch.NODE_DISPLAY_NAME_MAPPINGS)
    docs = ROOT / tilestitch.WEB_DIRECTORY / "docs"
    for name, d in info.items():
        page = (docs / f"{name}.md").read_text(encoding="utf-8")
        assert d["description"] and " ".join(d["description"].split())[:80] in " ".join(page.split()), name
        for section in ("required", "optional"):
            for inp, entry in d["input"].get(section, {}).items():
                tip = entry[1].get("tooltip", "") if len(entry) > 1 else ""
                assert tip, f"{name}.{inp} has no tooltip"
                assert f"`{inp}`" in page and " ".join(tip.split())[:60].replace("|", "\\|") in page, f"{name}.{inp}"
        assert len(d.get("output_tooltips", [])) == len(d["output"]), f"{name} lacks output tooltips"
        assert all(d["output_tooltips"]), f"{name} has an empty output tooltip"


def test_a_changed_tooltip_changes_the_page():
    d = pack_object_info(tilestitch.NODE_CLASS_MAPPINGS, tilestitch.NODE_DISPLAY_NAME_MAPPINGS)["TileStitchSplit"]
    before = render_node_doc(d)
    d["input"]["required"]["overlap"][1]["tooltip"] = "a | new tip"
    after = render_node_doc(d)
    assert before != after and "a \\| new tip" in after
