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


def wait_for(driver, script, timeout=60.0, what="condition", arguments=()):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = driver.execute_script(script, *arguments)
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


CLICK_PACK_ENTRY = """
const entry = [...document.querySelectorAll(".p-dialog li")].find((e) => e.textContent.trim() === arguments[0]);
if (!entry) return false;
entry.click();
return true;
"""

CARDS = "return [...document.querySelectorAll('[data-testid^=template-workflow-]')].map((c) => c.getAttribute('data-testid').slice(18))"
# the gallery shows 12 cards and loads more when its scroll container reaches the bottom
SCROLL_TO_LAST_CARD = """
let e = [...document.querySelectorAll('[data-testid^=template-workflow-]')].pop();
while (e && !(e.scrollHeight > e.clientHeight + 5 && getComputedStyle(e).overflowY !== 'visible')) e = e.parentElement;
if (e) { e.scrollTop = e.scrollHeight; e.dispatchEvent(new Event('scroll')); }
"""
# the cards once the pack's category shows (right after the click the gallery may still show ComfyUI's own templates,
# and a click made while the gallery is still starting up can be lost: the entry arguments[0] is clicked again then)
PACK_CARDS = (CARDS.replace("return ", "const cards = ", 1) + "; if (cards.includes(arguments[1])) return cards;"
              + CLICK_PACK_ENTRY.replace("return true;", "return null;").replace("return false;", "return null;"))

THUMBNAIL = """
const card = document.querySelector(`[data-testid="template-workflow-${arguments[0]}"]`);
card?.scrollIntoView({block: "center"});
const img = card?.querySelector("img");
return img && img.complete && img.naturalWidth > 0 ? [img.naturalWidth, img.naturalHeight] : null;
"""


def screenshot(browser, name):
    folder = os.environ.get("TILESTITCH_SCREENSHOT_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        browser.save_screenshot(os.path.join(folder, name))


def open_pack_templates(browser, pack):
    browser.execute_script("document.querySelectorAll('.p-dialog-close-button').forEach((b) => b.click());"
                           "app.extensionManager.command.execute('Comfy.BrowseTemplates');")
    wait_for(browser, CLICK_PACK_ENTRY, arguments=(pack,), what="the pack's entry under Templates")
    cards = wait_for(browser, PACK_CARDS, arguments=(pack, "tilestitch_demo"), what="the pack's template cards")
    for _ in range(20):  # scroll on until no new card appears
        browser.execute_script(SCROLL_TO_LAST_CARD)
        time.sleep(1.0)
        more = [c for c in browser.execute_script(CARDS) if c not in cards]
        if not more:
            return cards
        cards += more
    return cards


def test_templates_list_every_ui_workflow_with_its_thumbnail_and_each_opens_cleanly(comfy, browser):
    """Workflow -> Templates -> comfyui-tilestitch, as a new user goes: a card per UI workflow, no API file, thumbnails, no alert."""
    import json

    from tilestitch.graph.shipped import ui_workflow, workflow_names

    server, client = comfy
    pack = "comfyui-tilestitch"  # the folder name ComfyServer gives the pack
    browser.get(server.url)
    wait_for(browser, "return !!(window.app && app.graph && window.TileStitch && app.extensionManager)", what="the front end")
    browser.execute_script("window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));")
    cards = open_pack_templates(browser, pack)
    missing = set()
    assert sorted(cards) == workflow_names(), cards
    assert not [c for c in cards if c.endswith(".api") or "api" in c.split("_")], cards
    for name in cards:
        size = wait_for(browser, THUMBNAIL, arguments=(name,), what=f"the thumbnail of {name}")
        assert size[0] >= 640, (name, size)
    screenshot(browser, "templates.png")
    for name in cards:
        if name != cards[0]:
            open_pack_templates(browser, pack)
        browser.execute_script(f"document.querySelector('[data-testid=\"template-workflow-{name}\"]').click()")
        wait_for(browser, "return !document.body.innerText.includes('Get Started with a Template')", what=f"{name} to open")
        dialog = browser.execute_script("return document.querySelector('.p-dialog')?.innerText || ''")
        if dialog:  # only ComfyUI's Missing Models dialog may greet a workflow whose models are not installed
            assert "model" in dialog.lower() and "Invalid" not in dialog, f"{name}: {dialog[:300]}"
            missing.add(name)
            browser.execute_script("document.querySelectorAll('.p-dialog-close-button').forEach((b) => b.click())")
        expected = len(json.loads(ui_workflow(name).read_text())["nodes"])
        wait_for(browser, f"return app.graph._nodes.length === {expected}", what=f"{name}'s {expected} nodes")
        text = browser.execute_script("return document.body.innerText")
        for bad in ("Invalid workflow", "does not contain a valid version", "Missing Node Types"):
            assert bad not in text, f"{name}: {text[text.find(bad):][:300]}"
        assert not browser.execute_script("return window.__alerts"), name
        assert not browser.execute_script("return document.querySelector('.p-toast-message-error')?.innerText"), name
        if name == "tilestitch_demo":
            time.sleep(1.0)
            screenshot(browser, "demo_workflow.png")
    assert "tilestitch_demo" not in missing  # the demo needs no model

    # a first run, as the demo's note says: open it, press Run, read the seam report on its node
    open_pack_templates(browser, pack)
    browser.execute_script("document.querySelector('[data-testid=\"template-workflow-tilestitch_demo\"]').click()")
    wait_for(browser, "return !document.body.innerText.includes('Get Started with a Template')", what="the demo to open")
    before = set(server.output_dir().rglob("demo_*.tif"))
    assert browser.execute_script(
        "const run = [...document.querySelectorAll('button')].find((b) => b.innerText.trim() === 'Run');"
        "run?.click(); return !!run;"), "no Run button"
    summary = wait_for(browser, "return app.graph._nodes.find((n) => n.type === 'TileStitchSeamReport')?.tilestitchSummary",
                       timeout=300, what="the demo's seam report")
    assert " 0 visible" in summary, summary
    deadline = time.monotonic() + 120
    while not set(server.output_dir().rglob("demo_*.tif")) - before and time.monotonic() < deadline:
        time.sleep(0.5)  # the report may run before the save
    assert len(set(server.output_dir().rglob("demo_*.tif")) - before) == 1
    time.sleep(1.0)
    screenshot(browser, "demo_after_run.png")
    # the node help panel: the front end asks /extensions/<pack>/docs/<class>.md
    status, body = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"fetch('/extensions/{pack}/docs/TileStitchSplit.md').then(async (r) => done([r.status, await r.text()]));")
    assert status == 200 and body.startswith("# Tile Split"), (status, body[:200])
