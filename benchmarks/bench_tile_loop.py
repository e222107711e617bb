"""The Tile Loop's own cost in a real ComfyUI: the same body run per tile as a loop, as a list and as a batch.

    python benchmarks/bench_tile_loop.py [--sizes 2304,4608] [--tile 256] [--repeat 3]

One ComfyUI server (``$COMFYUI_PATH`` or ``~/ComfyUI``, as the tests find
it) runs, for each image size, three graphs with the same body (core
ImageInvert) and the same cheap output (the result shrunk to 64 px, then
Preview Image):

* loop:  Tile Split (plan) -> Tile Loop Start -> ImageInvert -> Tile Loop End
* list:  Tile Split (list) -> ImageInvert (once per tile) -> Tile Merge (list)
* batch: Tile Split -> ImageInvert (all tiles at once) -> Tile Merge

Each run gets a new source colour so ComfyUI's cache cannot answer it.
Reported: median seconds over ``--repeat`` runs, ms per tile, the loop's
overhead per tile against the list (the same body called once per tile),
and the server's peak RSS rise during the run (``VmHWM`` after resetting it
through ``/proc/<pid>/clear_refs``) against the image's float32 bytes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
sys.path.insert(0, str(HERE.parent / "tests"))
import common  # noqa: E402,F401  (the pack import)
from comfy_server import COMFY, COMFY_PYTHON, WHY_NOT, ComfyServer  # noqa: E402

from tilestitch.client import ComfyClient  # noqa: E402


def graph(mode: str, side: int, tile: int, colour: int) -> dict:
    split = dict(mode="tile_size", tile_width=tile, tile_height=tile, overlap=32, rows=2, cols=2, max_megapixels=1.0, align=8)
    g = {"1": {"class_type": "EmptyImage", "inputs": {"width": side, "height": side, "batch_size": 1, "color": colour}}}
    if mode == "loop":
        g["2"] = {"class_type": "TileStitchSplit", "inputs": {"image": ["1", 0], **split}}
        g["3"] = {"class_type": "TileStitchTileLoopStart", "inputs": {"image": ["1", 0], "plan": ["2", 1], "order": "raster", "band": 16,
                                                                     "keep_finished": False, "base_prompt": "", "prompts": ""}}
        g["4"] = {"class_type": "ImageInvert", "inputs": {"image": ["3", 1]}}
        g["5"] = {"class_type": "TileStitchTileLoopEnd", "inputs": {"loop": ["3", 0], "tile": ["4", 0]}}
    else:
        listed = mode == "list"
        g["2"] = {"class_type": "TileStitchSplitList" if listed else "TileStitchSplit", "inputs": {"image": ["1", 0], **split}}
        g["4"] = {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}}
        g["5"] = {"class_type": "TileStitchMergeList" if listed else "TileStitchMerge", "inputs": {"tiles": ["4", 0], "plan": ["2", 1], "blend": "cosine"}}
    g["6"] = {"class_type": "ImageScale", "inputs": {"image": ["5", 0], "upscale_method": "area", "width": 64, "height": 64, "crop": "disabled"}}
    g["7"] = {"class_type": "PreviewImage", "inputs": {"images": ["6", 0]}}
    return g


def status_kb(pid: int, key: str) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise OSError(f"no {key} for {pid}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2304,4608", help="image sides in px (square images)")
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if COMFY is None:
        print(f"no ComfyUI: {WHY_NOT}")
        return 1
    colour = 1000
    with ComfyServer(COMFY, COMFY_PYTHON, {}) as server:
        client = ComfyClient(server.url, timeout=600)
        pid = server.proc.pid
        print("| image | tiles | mode | seconds | ms / tile | loop overhead vs list, ms / tile | peak RSS rise / image bytes |")
        print("|---|---|---|---|---|---|---|")
        for side in (int(s) for s in args.sizes.split(",")):
            tiles = (-(-(side - args.tile) // (args.tile - 32)) + 1) ** 2
            image_mb = side * side * 3 * 4 / 2**20
            client.wait(client.queue(graph("loop", side, args.tile, colour)), timeout=1200)  # warm-up (imports, first allocations)
            colour += 1
            rows = {}
            for mode in ("loop", "list", "batch"):
                times, peaks = [], []
                for _ in range(args.repeat):
                    colour += 1
                    rss = status_kb(pid, "VmRSS")
                    with open(f"/proc/{pid}/clear_refs", "w") as f:
                        f.write("5")
                    t0 = time.perf_counter()
                    client.wait(client.queue(graph(mode, side, args.tile, colour)), timeout=1200)
                    times.append(time.perf_counter() - t0)
                    peaks.append((status_kb(pid, "VmHWM") - rss) / 1024)
                rows[mode] = (statistics.median(times), statistics.median(peaks))
            for mode, (sec, peak) in rows.items():
                overhead = f"{1000 * (sec - rows['list'][0]) / tiles:+.1f}" if mode == "loop" else ""
                print(f"| {side} x {side} ({image_mb:.0f} MB) | {tiles} | {mode} | {sec:.2f} | {1000 * sec / tiles:.1f} | {overhead} | "
                      f"{peak / image_mb:.2f} x ({peak:.0f} MB) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
