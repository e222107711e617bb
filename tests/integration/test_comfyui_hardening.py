"""Hostile and careless requests to a real ComfyUI with the pack: nothing stalls, nothing outside its folders is read, Cancel works."""

import io
import json
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from tilestitch.client.api import ComfyError

from client_run import cancel_while_running

pytestmark = pytest.mark.comfyui

HOSTILE = [
    "height=1000000000&width=1000000000",
    "height=15000&width=15000&tile_width=8&tile_height=8&overlap=0&align=1",
    "height=15000&width=15000&tile_width=1024&tile_height=1024&overlap=1023&align=1",
    "height=15000&width=15000&mode=megapixels&max_megapixels=0.01&overlap=99",
    "height=100&width=" + "9" * 4000,
]


def get(url: str, timeout: float = 10.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_hostile_plan_queries_answer_400_at_once_and_the_server_keeps_answering(comfy):
    server, _ = comfy
    stats_times, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            t0 = time.monotonic()
            status, _ = get(server.url + "/system_stats")
            stats_times.append((status, time.monotonic() - t0))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(3):
            for query in HOSTILE:
                t0 = time.monotonic()
                status, body = get(f"{server.url}/tilestitch/plan?{query}")
                took = time.monotonic() - t0
                assert status == 400 and "error" in json.loads(body), (query[:60], body[:200])
                assert took < 0.1, f"{query[:60]} took {took * 1000:.0f} ms"
        status, body = get(f"{server.url}/tilestitch/plan?height=15000&width=15000&tile_width=1024&tile_height=1024&overlap=128&align=8")
        assert status == 200 and len(json.loads(body)["xs"]) == 17
    finally:
        stop.set()
        watcher.join()
    assert stats_times and all(s == 200 and t < 1.0 for s, t in stats_times), stats_times[-5:]


def png(value: float = 0.5) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), int(value * 255), np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def load16_prompt(name: str) -> dict:
    return {
        "1": {"class_type": "TileStitchLoadImage16", "inputs": {"image": name}},
        "2": {"class_type": "TileStitchSaveImage16", "inputs": {"images": ["1", 0], "filename_prefix": "leak", "format": "png16",
                                                              "compression": 1}},
    }


def test_load_image_16_reads_nothing_outside_the_input_folder(comfy, tmp_path):
    server, client = comfy
    secret = tmp_path / "secret.png"
    secret.write_bytes(png(0.9))
    link = server.base / "input" / "innocent.png"
    link.symlink_to(secret)
    good = client.upload_image(png(0.5), "good16.png")
    messages = set()
    for name in (f"../../{secret.name}", str(secret), "innocent.png", "/dev/zero", "no_such_file.png", "../server.log"):
        t0 = time.monotonic()
        with pytest.raises(ComfyError) as e:
            client.queue(load16_prompt(name))
        assert time.monotonic() - t0 < 5, f"{name}: validation took {time.monotonic() - t0:.1f} s"
        text = str(e.value)
        assert "not an image file in ComfyUI's input folder" in text, text
        messages.add(text.split("not an image file", 1)[1])
    assert len(messages) == 1, messages  # one message whatever the reason: nothing to learn about other files
    entry = client.wait(client.queue(load16_prompt(good)), timeout=120)  # the queue is not stuck
    assert client.output_files(entry)


def test_cancel_stops_a_long_seam_merge(comfy):
    server, client = comfy
    prompt = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 4000, "height": 4000, "batch_size": 1, "color": 8421504}},
        "2": {"class_type": "TileStitchSplit", "inputs": {"image": ["1", 0], "mode": "tile_size", "tile_width": 128, "tile_height": 128,
                                                          "overlap": 32, "rows": 2, "cols": 2, "max_megapixels": 1.0, "align": 8}},
        "3": {"class_type": "TileStitchSeamMerge", "inputs": {"tiles": ["2", 0], "plan": ["2", 1], "method": "poisson",
                                                              "seam": "optimal", "band_half_width": 0}},
        "4": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}},
    }
    cancel_while_running(client, client.queue(prompt))  # well into the merge (about 9 s of work)
