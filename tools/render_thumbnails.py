"""Render a thumbnail of every shipped workflow: ComfyUI's own front end in headless Chromium, graph fitted to view.

    python tools/render_thumbnails.py [NAME ...]   # all workflows, or those named; needs ComfyUI (see tests/integration/comfy_server.py), chromium, chromedriver, selenium

Writes ``example_workflows/<name>.jpg`` (960 px wide): the thumbnail the front end's Templates show.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests" / "integration")]

from comfy_server import COMFY, COMFY_PYTHON, WHY_NOT, ComfyServer  # noqa: E402
from import_pack import import_pack  # noqa: E402

import_pack()
from tilestitch.graph.shipped import thumbnail, ui_workflow, workflow_names  # noqa: E402


def main(names=()) -> int:
    if COMFY is None:
        print(WHY_NOT, file=sys.stderr)
        return 2
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1920,1080"):
        opts.add_argument(arg)
    with ComfyServer(COMFY, COMFY_PYTHON, {}) as server:
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
        try:
            driver.get(server.url)
            for _ in range(240):
                if driver.execute_script("return !!(window.app && app.graph && window.TileStitch)"):
                    break
                time.sleep(0.25)
            for name in workflow_names():
                if names and name not in names:
                    continue
                path = ui_workflow(name)
                driver.execute_script("return app.loadGraphData(arguments[0])", json.loads(path.read_text()))
                time.sleep(1.0)
                driver.execute_script("""
                    document.querySelectorAll('.p-dialog-close-button').forEach((b) => b.click());
                    app.extensionManager.setting.set('Comfy.Minimap.Visible', false);
                    const c = app.canvas; const nodes = app.graph._nodes;
                    c.min_font_size_for_lod = 0;  // full detail at any zoom: a thumbnail is read at its own size
                    c.updateLowQualityThreshold?.();
                    let x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
                    for (const n of nodes) { x0 = Math.min(x0, n.pos[0]); y0 = Math.min(y0, n.pos[1] - 30);
                      x1 = Math.max(x1, n.pos[0] + n.size[0]); y1 = Math.max(y1, n.pos[1] + n.size[1]); }
                    const el = c.canvas; const s = Math.min(el.width / (x1 - x0 + 80), el.height / (y1 - y0 + 80));
                    c.ds.scale = s; c.ds.offset = [-x0 + 40, -y0 + 40];
                    c.setDirty(true, true); c.draw(true, true);
                """)
                time.sleep(0.5)
                png = driver.find_element("css selector", "#graph-canvas").screenshot_as_png
                img = Image.open(io.BytesIO(png)).convert("RGB")
                img = img.resize((960, round(960 * img.height / img.width)), Image.LANCZOS)
                out = thumbnail(name)
                img.save(out, quality=88, optimize=True)
                print(out)
        finally:
            driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
