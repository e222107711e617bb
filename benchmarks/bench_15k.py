"""15 000 px in practice: peak memory of every pipeline, object-aware planning, 16-bit I/O, mask refine.

    python benchmarks/bench_15k.py [--size 15000] [--tile 1024] [--overlap 128] [--skip-io]

Memory: each pipeline runs in a fresh process on a ``size x size`` RGB float32
image; the peak RSS rise over the process after imports is printed as a
multiple of the image's float32 bytes (the source image is counted: it is
created inside the measurement, as a loader's output would be).

  graph, source kept     Tile Split -> (identity) -> Tile Merge with the source still
                         held (what a ComfyUI graph does: the loader's output stays cached)
  graph, source dropped  the same after the source is released
  stream                 Streaming Tiled Upscale with an identity model: source + result + batch
  stream fp16            the same with a float16 result

Object-aware grid: planning time and objects held whole / mask under blend bands
vs the even grid, on random discs. 16-bit I/O: write+read seconds of a real photo
upsampled to 6000 x 4000 per format, as ratios to 8-bit PNG in the same run.
Mask refine: seconds and peak rise per mask byte at ``size``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch

from common import ROOT, best_of, peak_rss_bytes, reset_peak_rss, rss_bytes, run_isolated, shared_dir, table, write_json

from tilestitch.blenders import BLENDERS, blend
from tilestitch.tiling import MASK, extract_tiles, plan_by_tile_size
from tilestitch.tiling.stream import stream_tiles

PIPELINES = ["graph-kept:" + m for m in BLENDERS] + ["graph-dropped:" + m for m in BLENDERS] + ["stream", "stream-fp16"]


def memory_child(pipeline: str, size: int, tile: int, overlap: int) -> dict:
    torch.manual_seed(0)
    reset_peak_rss()
    base = rss_bytes()
    t0 = time.perf_counter()
    image = torch.rand(1, size, size, 3)
    t1 = time.perf_counter()
    plan = plan_by_tile_size(size, size, tile, tile, overlap, 8)
    if pipeline.startswith("graph"):
        kind, method = pipeline.split(":")
        tiles = extract_tiles(image, plan)
        if kind == "graph-dropped":
            del image
        out = blend(tiles, plan, method)
    else:
        dtype = torch.float16 if pipeline == "stream-fp16" else None
        out = stream_tiles(image, plan, lambda t: t.clone(), batch_size=8, out_dtype=dtype)
    seconds = time.perf_counter() - t1
    del out
    return {"pipeline": pipeline, "peak_over_image": (peak_rss_bytes() - base) / (size * size * 3 * 4),
            "seconds": seconds, "make_image_s": t1 - t0}


def random_discs(height: int, width: int, n: int, seed: int, rmax: int) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    mask = np.zeros((height, width), np.float32)
    for _ in range(n):
        r = int(rng.integers(rmax // 3, rmax))
        cv2.circle(mask, (int(rng.integers(r, width - r)), int(rng.integers(r, height - r))), r, 1.0, -1)
    return mask


def bench_object_grid(size: int, tile: int, overlap: int) -> list:
    from tilestitch.tiling.object_grid import mask_grid_report, plan_around_mask

    rows = []
    for n, seed in ((8, 0), (20, 1), (40, 2)):
        mask = random_discs(size, size, n, seed, rmax=tile // 3)
        t = time.perf_counter()
        plan = plan_around_mask(mask, tile, tile, overlap, 8)
        dt = time.perf_counter() - t
        even = plan_by_tile_size(size, size, tile, tile, overlap, 8)
        rows.append([n, f"{dt:.2f}", f"{plan.count} / {even.count}", mask_grid_report(plan, mask), mask_grid_report(even, mask)])
    return rows


def bench_io(repeat: int) -> list:
    from tilestitch.media import ImageMeta, read_image, read_image_meta, write_image
    from tilestitch.imaging.resample import resize_hwc

    shared = shared_dir()
    src = shared / "data" / "images" / "kodak_photocd" / "kodim12_photocd16base.png" if shared else None
    base = read_image(str(src)) if src and src.is_file() else np.random.rand(2048, 3072, 3).astype(np.float32)
    img = np.clip(resize_hwc(base, 4000, 6000, "bicubic"), 0, 1)
    from PIL import ImageCms

    meta = ImageMeta(icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    rows = []
    with tempfile.TemporaryDirectory() as d:
        timings = {}
        for fmt in ("png8", "png16", "tiff16", "tiff_float32"):
            path = os.path.join(d, "x" + (".png" if fmt.startswith("png") else ".tif"))
            w = best_of(lambda: write_image(path, img, meta, fmt), repeat)
            r = best_of(lambda: read_image_meta(path), repeat)
            timings[fmt] = (w, r, os.path.getsize(path))
        w8, r8, _ = timings["png8"]
        for fmt, (w, r, nbytes) in timings.items():
            rows.append([fmt, f"{w:.2f}", f"{w / w8:.2f}", f"{r:.2f}", f"{r / r8:.2f}", f"{nbytes / 2 ** 20:.0f}"])
    return rows


def mask_child(size: int, tile: int, overlap: int) -> dict:
    from tilestitch.masks.refine import refine_mask

    plan = plan_by_tile_size(size, size, tile, tile, overlap, 8)
    mask = torch.from_numpy(random_discs(size, size, 30, 3, rmax=tile // 2))[None]
    tiles = extract_tiles(mask, plan, MASK)
    coarse = torch.nn.functional.interpolate(mask[:, None], size=(size // 16, size // 16), mode="area")[:, 0].round()
    reset_peak_rss()
    base = rss_bytes()
    t = time.perf_counter()
    out = refine_mask(coarse, tiles, plan, band=32)
    dt = time.perf_counter() - t
    iou = float(((out > 0.5) & (mask > 0.5)).sum() / ((out > 0.5) | (mask > 0.5)).sum())
    return {"seconds": dt, "peak_over_mask": (peak_rss_bytes() - base) / (size * size * 4), "iou": iou}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=15000)
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--overlap", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-io", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    geo = ["--size", str(args.size), "--tile", str(args.tile), "--overlap", str(args.overlap)]
    if args.child == "mask":
        print(json.dumps(mask_child(args.size, args.tile, args.overlap)))
        return {}
    if args.child:
        print(json.dumps(memory_child(args.child, args.size, args.tile, args.overlap)))
        return {}

    gb = args.size * args.size * 12 / 1e9
    print(f"{args.size} x {args.size} RGB float32 = {gb:.2f} GB; tiles {args.tile}, overlap {args.overlap}; "
          f"{torch.get_num_threads()} threads", flush=True)
    mem = {p: run_isolated(__file__, "--child", p, *geo) for p in PIPELINES}
    rows = []
    for m in BLENDERS:
        kept, dropped = mem["graph-kept:" + m], mem["graph-dropped:" + m]
        rows.append([f"graph: {m}", f"{kept['peak_over_image']:.2f}", f"{dropped['peak_over_image']:.2f}", f"{kept['seconds']:.1f}"])
    for p in ("stream", "stream-fp16"):
        rows.append([p, f"{mem[p]['peak_over_image']:.2f}", "", f"{mem[p]['seconds']:.1f}"])
    print(table(rows, ["pipeline", "peak RSS / image (source kept)", "(source dropped)", "seconds"]), flush=True)

    grid_rows = bench_object_grid(args.size, args.tile, args.overlap)
    print(table(grid_rows, ["objects", "plan s", "tiles (aware / even)", "object-aware grid", "even grid"]), flush=True)

    mask = run_isolated(__file__, "--child", "mask", *geo)
    print(f"mask refine at {args.size}^2: {mask['seconds']:.2f} s, peak rise {mask['peak_over_mask']:.2f}x the mask's bytes, "
          f"IoU vs truth {mask['iou']:.4f}", flush=True)

    io_rows = [] if args.skip_io else bench_io(args.repeat)
    if io_rows:
        print(table(io_rows, ["format (6000 x 4000)", "write s", "x png8", "read s", "x png8", "MiB"]))
    result = {"memory": mem, "object_grid": grid_rows, "mask_refine": mask, "io": io_rows}
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "benchmarks"))
    main()
