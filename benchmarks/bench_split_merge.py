"""Split + merge of a 10 000 x 10 000 RGB float32 image (144 tiles of 1024, overlap 208).

    python benchmarks/bench_split_merge.py [--size 10000] [--tile 1024] [--overlap 208] [--repeat 3]

Times, in one run:
  * split (tile extraction),
  * merge with every blender,
  * (a) a plain paste of the tiles into a fresh image: the floor a merge can reach,
  * (b) a naive normalised sum: full-size accumulator plus a full-size 3-channel
    weight buffer, per-tile 2-D weights, a final division,
and prints merge time as ratios to (a) and (b). Peak memory is measured for
each pipeline in a fresh process (split, drop the source, merge), as the
rise of peak RSS over the process after imports, in multiples of the
image's float32 bytes.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

from common import ROOT, best_of, paste, peak_rss_bytes, reset_peak_rss, rss_bytes, run_isolated, table, write_json

from tilestitch.blenders import BLENDERS, blend
from tilestitch.tiling import axis_weights, extract_tiles, plan_by_tile_size


def naive_merge(tiles, plan, window="cosine"):
    c = tiles.shape[-1]
    out = torch.zeros((plan.batch, plan.height, plan.width, c), dtype=tiles.dtype)
    wsum = torch.zeros_like(out)
    wy, wx = axis_weights(plan.rows_axis, window), axis_weights(plan.cols_axis, window)
    for t in plan:
        w = torch.from_numpy(np.outer(wy[t.row], wx[t.col])).to(tiles.dtype)[None, :, :, None].expand(1, -1, -1, c)
        out[:, t.y : t.y + t.height, t.x : t.x + t.width] += tiles[t.index] * w
        wsum[:, t.y : t.y + t.height, t.x : t.x + t.width] += w
    return out.div_(wsum)


def memory_child(method: str, size: int, tile: int, overlap: int) -> dict:
    reset_peak_rss()
    base = rss_bytes()
    image = torch.rand(1, size, size, 3)
    plan = plan_by_tile_size(size, size, tile, tile, overlap, 1)
    tiles = extract_tiles(image, plan)
    del image
    if method == "paste":
        out = paste(tiles, plan)
    elif method == "naive":
        out = naive_merge(tiles, plan)
    else:
        out = blend(tiles, plan, method)
    del out
    return {"method": method, "peak_over_image": (peak_rss_bytes() - base) / (size * size * 3 * 4)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--overlap", type=int, default=208)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.size, args.tile, args.overlap)))
        return {}

    mem = {}  # each pipeline in a fresh process, measured before this one grows
    for m in ["paste", "naive", *BLENDERS]:
        mem[m] = run_isolated(__file__, "--memory-child", m, "--size", str(args.size), "--tile", str(args.tile), "--overlap", str(args.overlap))["peak_over_image"]

    torch.manual_seed(0)
    image = torch.rand(1, args.size, args.size, 3)
    plan = plan_by_tile_size(args.size, args.size, args.tile, args.tile, args.overlap, 1)
    print(f"{plan.describe()}; {torch.get_num_threads()} threads", flush=True)
    t_split = best_of(lambda: extract_tiles(image, plan), args.repeat)
    tiles = extract_tiles(image, plan)
    del image
    t_paste = best_of(lambda: paste(tiles, plan), args.repeat)
    t_naive = best_of(lambda: naive_merge(tiles, plan), 1)
    times = {m: best_of(lambda m=m: blend(tiles, plan, m), args.repeat) for m in BLENDERS}


    rows = [["split", f"{t_split:.3f}", "", "", ""], ["(a) paste floor", f"{t_paste:.3f}", "1.00", "", f"{mem['paste']:.2f}"],
            ["(b) naive normalised sum", f"{t_naive:.3f}", f"{t_naive / t_paste:.2f}", "1.0", f"{mem['naive']:.2f}"]]
    for m, t in times.items():
        rows.append([f"merge: {m}", f"{t:.3f}", f"{t / t_paste:.2f}", f"{t_naive / t:.1f}", f"{mem[m]:.2f}"])
    print(table(rows, ["step", "seconds", "x paste", "naive / this", "peak RSS / image"]))
    result = {"plan": plan.describe(), "threads": torch.get_num_threads(), "split_s": t_split, "paste_s": t_paste,
              "naive_s": t_naive, "merge_s": times, "peak_rss_over_image": mem}
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "benchmarks"))
    main()
