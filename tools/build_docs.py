"""Write the help pages of the pack's nodes (``js/docs/<NodeClass>.md``) and the README's node table from the nodes' own text.

    python tools/build_docs.py          # rewrite js/docs/*.md and the table in README.md
    python tools/build_docs.py --check  # exit 1 if a page or the table is missing, stale or left over

The pages are rendered by ``graph/node_docs.py`` from each node's DESCRIPTION
and tooltips (one source); the tests run ``--check``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_pack import ROOT, import_pack  # noqa: E402

pack = import_pack()
from tilestitch.graph import pack_object_info  # noqa: E402
from tilestitch.graph.node_docs import DOCS_FOLDER, render_all, render_node_table, replace_node_table  # noqa: E402

DOCS_DIR = ROOT / pack.WEB_DIRECTORY / DOCS_FOLDER


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if any page is out of date")
    args = ap.parse_args(argv)
    info = pack_object_info(pack.NODE_CLASS_MAPPINGS, pack.NODE_DISPLAY_NAME_MAPPINGS)
    pages = render_all(info)
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text(encoding="utf-8")
    new_readme = replace_node_table(readme, render_node_table(info))
    stale = [n for n, text in pages.items()
             if not (DOCS_DIR / n).is_file() or (DOCS_DIR / n).read_text(encoding="utf-8") != text]
    extra = sorted(p.name for p in DOCS_DIR.glob("*.md") if p.name not in pages) if DOCS_DIR.is_dir() else []
    if args.check:
        if stale or extra or new_readme != readme:
            print("help pages out of date (run python tools/build_docs.py):",
                  *[f"{n} (stale or missing)" for n in stale], *[f"{n} (no such node)" for n in extra],
                  *(["README.md (node table)"] if new_readme != readme else []), sep="\n  ")
            return 1
        print(f"checked {len(pages)} help pages and the README's node table")
        return 0
    if new_readme != readme:
        readme_path.write_text(new_readme, encoding="utf-8")
    DOCS_DIR.mkdir(parents=True, exist_ok=True)
    for n in stale:
        (DOCS_DIR / n).write_text(pages[n], encoding="utf-8")
    for n in extra:
        (DOCS_DIR / n).unlink()
    print(f"wrote {len(stale)} of {len(pages)} help pages, removed {len(extra)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
