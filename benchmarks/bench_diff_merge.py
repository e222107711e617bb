"""Diff Merge, node path, on realistic edits: what it finds, what it misses, what it touches, time and memory.

    python benchmarks/bench_diff_merge.py [--photos bokeh beach] [--sizes 6000x4000,12000x8000]
                                          [--depths 8,16] [--cases recolour,...] [--json out.json]

Each run is a fresh process: a shared photo resized (Lanczos) to the size,
as 8-bit codes or with 16-bit precision (``--depths``; the 16-bit original
is kept off the 8-bit grid); one edit case of ``diffmerge.realistic``
(FluxKontextImageScale's crop and size, per-channel gain and gamma drift, a
tone field, re-drawn texture, blur, grain, a shift of up to 2 px, 8-bit
PNG codes) with its full-resolution truth; then the **Diff Merge node**
called as ComfyUI calls it (IMAGE tensors, every widget at its default).
Reported per case: IoU of what the node took from the edit (alpha >= 0.5)
against the truly changed pixels (truth vs original above 1 ΔE00) and
against the changed pixels whose change still shows with both blurred
over one edit pixel (not those changed only by full-resolution grain), the
missed share of the true change, false positives (pixels touched farther
than 16 edit px from any true change, as a share of the image), the share of
those far pixels that are bit-identical to the original, mean ΔE00 of the
result against the truth inside the change, the node's seconds and its peak
RSS rise above its inputs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from common import peak_rss_bytes, reset_peak_rss, rss_bytes, run_isolated, shared_dir, table, write_json

PHOTOS = {
    "bokeh": "unsplash/rachel-hisko-rEM3cK8F1pk-unsplash.jpg",
    "beach": "kodak_photocd/kodim12_photocd16base.png",
    "water": "unsplash/dennis-buchner-WATeNJyEUkA-unsplash.jpg",
    "fabric": "unsplash/karly-santiago-E7zsz8JA8FM-unsplash.jpg",  # embroidery threads: busy texture
}
MARGIN_EDIT_PX = 16


def load_original(photo: str, width: int, height: int, depth: int) -> np.ndarray:
    import cv2

    from tilestitch.media import read_image

    src = read_image(str(shared_dir() / "data" / "images" / PHOTOS[photo]))
    original = cv2.resize(np.ascontiguousarray(src[..., :3], dtype=np.float32), (width, height), interpolation=cv2.INTER_LANCZOS4)
    np.clip(original, 0, 1, out=original)
    codes = 255.0 if depth == 8 else 65535.0
    np.multiply(original, codes, out=original)
    np.round(original, out=original)
    np.divide(original, codes, out=original)
    return original


def child(photo: str, width: int, height: int, depth: int, case: str, seed: int) -> None:
    import torch

    import tilestitch
    from tilestitch.diffmerge.realistic import kontext_like_edit, score_merge

    original = load_original(photo, width, height, depth)
    edit = kontext_like_edit(original, case, seed=seed)
    cls = tilestitch.NODE_CLASS_MAPPINGS["TileStitchDiffMerge"]
    spec = cls.INPUT_TYPES()["required"]
    widgets = {k: opts.get("default") for k, (typ, opts) in spec.items() if k not in ("original", "edited")}
    orig_t = torch.from_numpy(original)[None]
    edit_t = torch.from_numpy(edit.edited)[None]
    node = cls()
    reset_peak_rss()
    base = rss_bytes()
    t = time.perf_counter()
    image, alpha, _, report = getattr(node, cls.FUNCTION)(original=orig_t, edited=edit_t, **widgets)
    seconds = time.perf_counter() - t
    peak = peak_rss_bytes() - base
    info = json.loads(report)
    margin = MARGIN_EDIT_PX * height / edit.edited.shape[0]
    score = score_merge(original, image[0].numpy(), alpha[0].numpy(), edit, margin)
    print(json.dumps({**score, "seconds": seconds, "peak": peak, "image_bytes": original.nbytes,
                      "edit": list(edit.edited.shape[1::-1]), "regions": info.get("regions"),
                      "possible": len(info.get("possible_changes", [])), "noise": info.get("noise"),
                      "cues": sorted({c.get("cue", "?") for c in info.get("changes", [])})}))


def main(argv=None) -> int:
    from tilestitch.diffmerge.realistic import CASES

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", default="bokeh,beach")
    ap.add_argument("--sizes", default="6000x4000,12000x8000")
    ap.add_argument("--depths", default="8,16")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        photo, w, h, depth, case, seed = args.child
        child(photo, int(w), int(h), int(depth), case, int(seed))
        return 0
    rows, results = [], []
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.split("x"))
        for photo in args.photos.split(","):
            for depth in args.depths.split(","):
                for k, case in enumerate(args.cases.split(",")):
                    r = run_isolated(__file__, "--child", photo, str(w), str(h), depth, case, str(args.seed + k))
                    results.append({"size": size, "photo": photo, "depth": int(depth), "case": case, **r})
                    rows.append([size, photo, f"{depth}-bit", case, f"{100 * r['changed_fraction']:.2f} %", f"{r['iou']:.3f}", f"{r['iou_visible']:.3f}", f"{r['iou_of_visible']:.3f}",
                                 f"{100 * r['missed']:.1f} %", f"{100 * r['false_positive']:.3f} %",
                                 f"{100 * r['far_identical']:.3f} %", f"{r['delta_e_truth']:.2f}", f"{r['seconds']:.2f}",
                                 f"{r['peak'] / 2**30:.2f} GB", str(r["possible"]), "+".join(r["cues"])])
                    print(" | ".join(rows[-1]), file=sys.stderr)
    print(table(rows, ["size", "photo", "original", "case", "changed", "IoU", "IoU visible", "IoU of visible", "missed", "false pos.", "far identical",
                       "ΔE00 vs truth", "seconds", "RSS rise", "possible", "cues"]))
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
