"""Diff-merge at 12 000 x 8 000: detection quality, colour, identity, time and memory.

    python benchmarks/bench_diff_merge.py [--photos bokeh beach] [--size 12000 8000]

Each photo is resized (Lanczos) to the size given; a synthetic edit with
known ground truth (``diffmerge.synthetic``: an object pasted in, a region
recoloured, a global 1.5 % per-channel colour shift and a 1.5 / -1 px shift)
is made at ~1 MP, then Diff Merge runs on it in a fresh process. Reported:
IoU of the detected change (at full size, before dilation and feathering)
against the true change region, mean CIEDE2000 in the changed region against
the ground-truth full-resolution edit, whether every pixel outside the
feathered mask is bit-identical to the original, time, and the peak RSS
rise during the merge (the merge's output image, its 1-channel mask and all
temporaries) beyond the original and the edit already in memory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from common import peak_rss_bytes, reset_peak_rss, rss_bytes, run_isolated, shared_dir, table

PHOTOS = {
    "bokeh": "unsplash/rachel-hisko-rEM3cK8F1pk-unsplash.jpg",
    "beach": "kodak_photocd/kodim12_photocd16base.png",
    "water": "unsplash/dennis-buchner-WATeNJyEUkA-unsplash.jpg",
}


def child(photo: str, width: int, height: int, blend: str) -> None:
    import cv2
    import torch

    from tilestitch.imaging.color import ciede2000, rgb_to_lab
    from tilestitch.diffmerge import diff_merge
    from tilestitch.diffmerge.synthetic import synthetic_edit
    from tilestitch.media import read_image

    src = read_image(str(shared_dir() / "data" / "images" / PHOTOS[photo]))
    original = cv2.resize(np.ascontiguousarray(src[..., :3], dtype=np.float32), (width, height), interpolation=cv2.INTER_LANCZOS4)
    np.clip(original, 0, 1, out=original)
    del src
    eh = int(round((1e6 * height / width) ** 0.5 / 16) * 16)
    ew = int(round((1e6 * width / height) ** 0.5 / 16) * 16)
    syn = synthetic_edit(original, (eh, ew))
    truth, changed, edited = syn.truth, syn.changed, syn.edited
    del syn
    reset_peak_rss()
    base = rss_bytes()
    t = time.perf_counter()
    result = diff_merge(original, edited, blend=blend)
    seconds = time.perf_counter() - t
    peak = peak_rss_bytes() - base
    det = result.detected_full()
    iou = float((det & changed).sum() / (det | changed).sum())
    outside = result.mask == 0
    identical = bool(np.array_equal(result.image[outside], original[outside]))
    idx = np.flatnonzero(changed.ravel())[:: max(1, int(changed.sum() // 2_000_000))]  # up to ~2 M pixels
    a = rgb_to_lab(result.image.reshape(-1, 3)[idx], dim=-1)
    b = rgb_to_lab(truth.reshape(-1, 3)[idx], dim=-1)
    de = float(ciede2000(torch.from_numpy(a), torch.from_numpy(b), dim=-1).mean())
    print(json.dumps({"seconds": seconds, "peak": peak, "iou": iou, "delta_e": de, "identical": identical,
                      "image_bytes": original.nbytes, "edit": [ew, eh], "shift": result.info["shift_edit_px"],
                      "changed": float(changed.mean())}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", nargs="+", default=["bokeh", "beach"], choices=list(PHOTOS))
    ap.add_argument("--size", nargs=2, type=int, default=[12000, 8000], metavar=("WIDTH", "HEIGHT"))
    ap.add_argument("--blends", nargs="+", default=["feather", "poisson"])
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        photo, w, h, blend = args.child
        child(photo, int(w), int(h), blend)
        return
    rows = []
    for photo in args.photos:
        for blend in args.blends:
            r = run_isolated(__file__, "--child", photo, str(args.size[0]), str(args.size[1]), blend)
            rows.append([photo, blend, f"{r['edit'][0]}x{r['edit'][1]}", f"{100 * r['changed']:.1f} %", f"{r['iou']:.3f}",
                         f"{r['delta_e']:.2f}", "yes" if r["identical"] else "NO", f"{r['seconds']:.2f}",
                         f"{r['peak'] / 2**30:.2f} GB", f"{r['peak'] / r['image_bytes']:.2f}"])
    print(f"original {args.size[0]} x {args.size[1]} RGB float32 ({args.size[0] * args.size[1] * 12 / 2**30:.2f} GB)")
    print(table(rows, ["photo", "blend", "edit", "changed", "IoU", "ΔE00 vs truth", "outside identical", "seconds",
                       "RSS rise", "rise / image"]))


if __name__ == "__main__":
    sys.exit(main())
