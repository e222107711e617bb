"""Poisson / multiband seams: speed and memory at 10 000 px, quality on real photos.

    python benchmarks/bench_seams.py [--size 10000] [--skip-clone] [--photos water bokeh fabric portrait]

Part 1 (speed, memory): a 10 000 x 10 000 RGB image, 144 tiles of 1024 px
(overlap 208) made to disagree by a smooth per-tile gain; each merge runs in
a fresh process (split, drop the source, merge) and reports seconds and the
rise of peak RSS during the merge (its output, the image-sized result, plus
its temporaries; the input tiles are already counted before). ``cv2.seamlessClone`` (OpenCV's Poisson
cloning, 8-bit, one solve over the mask's bounding box) clones one composite
into another over a 4 000 and an 8 000 px square, measured the same way.

Part 2 (quality): real photos from shared/data/images at full size, the same
disagreeing tiles, every blender: the worst and mean seam |z| (see
``blenders.seam_metrics``; the photo's own value at the same lines is given
for calibration: natural edges can lie on a seam line), the worst strip
ΔE00 jump, and PSNR against the original inside the seam bands and away from
them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from common import ROOT, peak_rss_bytes, reset_peak_rss, rss_bytes, run_isolated, shared_dir, table, write_json

from tilestitch.blenders import blend
from tilestitch.blenders.seam_paths import optimal_cutter
from tilestitch.qa.seam_metrics import seam_scores
from tilestitch.media import read_image, to_image_tensor
from tilestitch.tiling import extract_tiles, plan_by_tile_size

PHOTOS = {
    "water": "unsplash/dennis-buchner-WATeNJyEUkA-unsplash.jpg",
    "bokeh": "unsplash/rachel-hisko-rEM3cK8F1pk-unsplash.jpg",
    "fabric": "unsplash/karly-santiago-E7zsz8JA8FM-unsplash.jpg",
    "portrait": "kodak_photocd/kodim04_photocd16base.png",
}


def smooth_gain_tiles(image: torch.Tensor, plan, seed: int = 0, level: float = 0.03, tilt: float = 0.02) -> torch.Tensor:
    """Tiles times a smooth per-tile, per-channel gain ``1 + a + b u + c v`` (u, v in [-1/2, 1/2] across the tile)."""
    g = torch.Generator().manual_seed(seed)
    tiles = extract_tiles(image, plan)
    n, th, tw, ch = tiles.shape
    a = level * (2 * torch.rand(n, 1, 1, ch, generator=g) - 1)
    b = tilt * (2 * torch.rand(n, 1, 1, ch, generator=g) - 1)
    c = tilt * (2 * torch.rand(n, 1, 1, ch, generator=g) - 1)
    u = (torch.arange(tw) / max(tw - 1, 1) - 0.5).view(1, tw, 1)
    v = (torch.arange(th) / max(th - 1, 1) - 0.5).view(th, 1, 1)
    for k in range(n):  # tile by tile: no tile-batch-sized temporary
        tiles[k].mul_(1 + a[k] + b[k] * u + c[k] * v)
    return tiles


def merge_child(method: str, size: int) -> dict:
    torch.manual_seed(0)
    image = torch.rand(1, size, size, 3)
    plan = plan_by_tile_size(size, size, 1024, 1024, 208, 1)
    tiles = smooth_gain_tiles(image, plan)
    del image
    reset_peak_rss()
    base = rss_bytes()  # the tiles are in; what the merge adds is measured from here
    opts = {}
    if method.endswith("+optimal"):
        method = method.split("+")[0]
        opts["cutter"] = optimal_cutter()
    t = time.perf_counter()
    out = blend(tiles, plan, method, **opts)
    seconds = time.perf_counter() - t
    del out
    return {"seconds": seconds, "peak_gb": (peak_rss_bytes() - base) / 1e9, "image_gb": size * size * 12 / 1e9}


def clone_child(size: int) -> dict:
    import cv2

    reset_peak_rss()
    base = rss_bytes()
    rng = np.random.default_rng(0)
    dst = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    src = np.clip(dst.astype(np.int16) + 8, 0, 255).astype(np.uint8)  # the "other tile": 8 levels brighter
    mask = np.zeros((size, size), np.uint8)
    mask[1:-1, 1:-1] = 255
    t = time.perf_counter()
    out = cv2.seamlessClone(src, dst, mask, (size // 2, size // 2), cv2.NORMAL_CLONE)
    seconds = time.perf_counter() - t
    del out
    return {"seconds": seconds, "peak_gb": (peak_rss_bytes() - base) / 1e9, "image_gb": size * size * 3 / 1e9}


def band_mask(plan, half: int = 16) -> torch.Tensor:
    m = torch.zeros(plan.height, plan.width, dtype=torch.bool)
    for s in plan.seams:
        lo, hi = s.position - half, s.position + half
        if s.axis == 1:
            m[s.span[0] : s.span[1], lo:hi] = True
        else:
            m[lo:hi, s.span[0] : s.span[1]] = True
    return m


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / ((a - b) ** 2).mean().clamp(min=1e-12)))


def quality(photos) -> list:
    shared = shared_dir()
    rows = []
    for name in photos:
        img = to_image_tensor(read_image(str(shared / "data" / "images" / PHOTOS[name])))
        plan = plan_by_tile_size(img.shape[1], img.shape[2], 1024, 1024, 208, 8)
        tiles = smooth_gain_tiles(img, plan, seed=1)
        bands = band_mask(plan)
        z_photo = max(abs(s.z) for s in seam_scores(img[0], plan))
        for method in ["none", "linear", "cosine", "gaussian", "multiband", "poisson"]:
            out = blend(tiles, plan, method)[0]
            scores = seam_scores(out, plan, reference=img[0])
            z = [abs(s.z) for s in scores]
            rows.append({
                "photo": name, "size": f"{img.shape[2]}x{img.shape[1]}", "method": method,
                "max_z": max(z), "mean_z": sum(z) / len(z), "photo_max_z": z_photo,
                "max_de": max(s.delta_e for s in scores),
                "psnr_band": psnr(out[bands], img[0][bands]), "psnr_interior": psnr(out[~bands], img[0][~bands]),
            })
            print(f"  {name} {method}: max|z| {rows[-1]['max_z']:.2f}", flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--skip-clone", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--photos", nargs="*", default=list(PHOTOS))
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    if args.child:
        kind, arg = args.child
        print(json.dumps(merge_child(arg, args.size) if kind == "merge" else clone_child(int(arg))))
        return
    speed = {}
    for m in [] if args.skip_speed else ["poisson", "poisson+optimal", "multiband", "cosine"]:
        speed[m] = run_isolated(__file__, "--size", str(args.size), "--child", "merge", m)
        print(f"{m}: {speed[m]['seconds']:.2f} s, {speed[m]['peak_gb']:.2f} GB", flush=True)
    clone = {}
    if not (args.skip_clone or args.skip_speed):
        for s in (4000, 8000):
            clone[s] = run_isolated(__file__, "--child", "clone", str(s))
            print(f"seamlessClone {s}: {clone[s]['seconds']:.2f} s, {clone[s]['peak_gb']:.2f} GB", flush=True)
    rows = [[f"{m} seams, {args.size} px, 144 tiles", f"{r['seconds']:.2f}", f"{r['peak_gb']:.2f}", f"{r['peak_gb'] - r['image_gb']:.2f}"] for m, r in speed.items()]
    rows += [[f"cv2.seamlessClone, {s} px square", f"{r['seconds']:.2f}", f"{r['peak_gb']:.2f}", f"{r['peak_gb'] - r['image_gb']:.2f}"] for s, r in clone.items()]
    print(f"\n{torch.get_num_threads()} threads")
    print(table(rows, ["merge", "seconds", "RSS rise GB", "GB above the result image"]))
    if 8000 in clone and "poisson" in speed:
        print(f"Poisson on every seam of {args.size} px is {clone[8000]['seconds'] / speed['poisson']['seconds']:.1f}x faster than one seamlessClone of an 8000 px square")
    q = quality(args.photos) if args.photos else []
    if q:
        print(table([[r["photo"], r["size"], r["method"], f"{r['max_z']:.2f}", f"{r['mean_z']:.2f}", f"{r['photo_max_z']:.2f}",
                      f"{r['max_de']:.2f}", f"{r['psnr_band']:.1f}", f"{r['psnr_interior']:.1f}"] for r in q],
                    ["photo", "size", "blend", "max |z|", "mean |z|", "photo's own max |z|", "max strip ΔE00", "PSNR seam bands", "PSNR elsewhere"]))
    write_json(args.json, {"speed": speed, "clone": clone, "quality": q})


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "benchmarks"))
    main()
