"""Per-tile colour correction on real photos: drift across seams and fidelity.

    python benchmarks/bench_color.py [--photos beach child water bokeh] [--tile 1024] [--overlap 128]

Each photo is split into tiles; a per-tile process that drifts (per-tile
auto-levels: each channel's 0.5-99.5 percentiles stretched to [0, 1], then a
random +-3 % gain per channel) stands in for a model; tiles are merged with
the cosine blend with no correction and with each method of Tile Color
Correct (global context: 1024 px reference). Reported: mean and max CIEDE2000
jump between strip means either side of every seam (8 px strips just outside
the overlap, net of the original's own difference), the worst seam |z|, PSNR
against the original, and the correction's time.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from common import ROOT, shared_dir, table, write_json

from tilestitch.blenders import blend
from tilestitch.correct.tile_color import METHODS, correct_tiles
from tilestitch.correct.global_context import build_context
from tilestitch.qa.seam_metrics import seam_scores
from tilestitch.media import read_image, to_image_tensor
from tilestitch.tiling import extract_tiles, plan_by_tile_size

PHOTOS = {
    "beach": "kodak_photocd/kodim12_photocd16base.png",
    "child": "kodak_photocd/kodim15_photocd16base.png",
    "water": "unsplash/dennis-buchner-WATeNJyEUkA-unsplash.jpg",
    "bokeh": "unsplash/rachel-hisko-rEM3cK8F1pk-unsplash.jpg",
}


def drifting_process(tiles: torch.Tensor, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    out = torch.empty_like(tiles)
    for k, t in enumerate(tiles):
        flat = t.reshape(-1, t.shape[-1])[::13]
        lo, hi = torch.quantile(flat, 0.005, dim=0), torch.quantile(flat, 0.995, dim=0)
        levelled = ((t - lo) / (hi - lo).clamp(min=1e-3)).clamp(0, 1)
        out[k] = (levelled * (1 + 0.06 * (torch.rand(t.shape[-1], generator=g) - 0.5))).clamp(0, 1)
    return out


def psnr(a, b) -> float:
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", nargs="*", default=list(PHOTOS))
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--overlap", type=int, default=128)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    rows, results = [], []
    for name in args.photos:
        img = to_image_tensor(read_image(str(shared_dir() / "data" / "images" / PHOTOS[name])))
        plan = plan_by_tile_size(img.shape[1], img.shape[2], args.tile, args.tile, args.overlap, 8)
        ctx = build_context(img, 1024)
        drift = drifting_process(extract_tiles(img, plan))
        for method in ["none", *METHODS]:
            t = time.perf_counter()
            tiles = drift if method == "none" else correct_tiles(drift, plan, ctx, method)
            seconds = time.perf_counter() - t
            out = blend(tiles, plan, "cosine")
            scores = seam_scores(out[0], plan, reference=img[0])
            de = [s.delta_e for s in scores]
            r = {"photo": name, "size": f"{img.shape[2]}x{img.shape[1]}", "tiles": plan.count, "method": method,
                 "mean_de": sum(de) / len(de), "max_de": max(de), "max_z": max(abs(s.z) for s in scores),
                 "psnr": psnr(out, img), "seconds": seconds}
            results.append(r)
            rows.append([name, r["size"], plan.count, method, f"{r['mean_de']:.2f}", f"{r['max_de']:.2f}", f"{r['max_z']:.2f}", f"{r['psnr']:.1f}", f"{seconds:.2f}"])
            print(f"  {name} {method}: max dE {r['max_de']:.2f}, PSNR {r['psnr']:.1f}", flush=True)
    print(table(rows, ["photo", "size", "tiles", "correction", "mean seam ΔE00", "max seam ΔE00", "max |z|", "PSNR dB", "seconds"]))
    write_json(args.json, results)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "benchmarks"))
    main()
