"""The js/ extension in a real browser: headless Chromium on ComfyUI's own front end, serving the pack.

Adds Load Image and Tile Split to the canvas, links them, and checks that the
overlay draws the planner's tiles before anything runs, and redraws when a
widget changes. Skips (with the reason) without Chromium, ChromeDriver or
selenium.
"""

import io
import os
import shutil
import time

import numpy as np
import pytest
from PIL import Image

from tilestitch.tiling import plan_tiles

pytestmark = pytest.mark.comfyui

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser():
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("no Chromium / ChromeDriver (Debian: apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -r requirements-dev.txt)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1600,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def wait_for(driver, script, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = driver.execute_script(script)
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; last value {last!r}; browser log: {driver.get_log('browser')[-10:]}")


ADD_NODES = """
const [name, tw, th, ov] = arguments;
document.querySelectorAll(".p-dialog-close-button").forEach((b) => b.click()); // the template gallery
app.graph.clear();
const load = LiteGraph.createNode("LoadImage");
load.pos = [50, 100];
app.graph.add(load);
const w = load.widgets.find((w) => w.name === "image");
w.value = name;
w.callback?.(name);
const split = LiteGraph.createNode("TileStitchSplit");
split.pos = [450, 100];
app.graph.add(split);
for (const [k, v] of [["tile_width", tw], ["tile_height", th], ["overlap", ov], ["align", 8]]) {
  split.widgets.find((w) => w.name === k).value = v;
}
load.connect(0, split, 0);
window.__split = split;
return split.id;
"""

DRAWN = """
app.canvas.setDirty(true, true);
app.canvas.draw(true, true);
const o = window.__split?.tilestitchOverlay;
return o && o.plan ? [o.drawnTiles, o.plan.ys.length * o.plan.xs.length] : null;
"""


def test_split_node_draws_the_planned_tile_grid_and_follows_its_widgets(comfy, browser):
    server, client = comfy
    h, w = 512, 768
    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((h, w, 3)) * 255).astype(np.uint8)).save(buf, format="PNG")
    name = client.upload_image(buf.getvalue(), "overlay_test.png")

    browser.get(server.url)
    wait_for(browser, "return !!(window.app && app.graph && window.LiteGraph && window.TileStitch)", what="the front end and the extension")
    browser.execute_script(ADD_NODES, name, 256, 256, 48)
    expected = plan_tiles(h, w, mode="tile_size", tile_width=256, tile_height=256, overlap=48, align=8).count
    drawn = wait_for(browser, DRAWN, what="the overlay")
    assert drawn == [expected, expected]

    browser.execute_script("window.__split.widgets.find((w) => w.name === 'tile_width').value = 512;")
    expected2 = plan_tiles(h, w, mode="tile_size", tile_width=512, tile_height=256, overlap=48, align=8).count
    assert expected2 != expected
    drawn = wait_for(browser, DRAWN.replace("return o && o.plan", f"return o && o.plan && o.drawnTiles === {expected2}"), what="the redraw")
    assert drawn == [expected2, expected2]
    if os.environ.get("TILESTITCH_SCREENSHOT"):  # for a look at the overlay
        browser.save_screenshot(os.environ["TILESTITCH_SCREENSHOT"])


def test_every_shipped_workflow_loads_in_the_front_end_without_a_schema_alert(comfy, browser):
    import json

    from tilestitch.graph.shipped import ui_workflow, workflow_names

    server, _ = comfy
    browser.get(server.url)
    wait_for(browser, "return !!(window.app && app.graph && window.TileStitch)", what="the front end")
    for path in map(ui_workflow, workflow_names()):
        browser.execute_script("return app.loadGraphData(arguments[0])", json.loads(path.read_text()))
        time.sleep(0.5)
        text = browser.execute_script("return document.body.innerText")
        assert "Invalid workflow" not in text, f"{path.name}: {text[text.find('Invalid workflow'):][:200]}"
        count = browser.execute_script("return app.graph._nodes.length")
        assert count == len(json.loads(path.read_text())["nodes"]), path.name
