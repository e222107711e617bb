"""Every node as ComfyUI calls it, on a real photo at ~1, 24 and 100 MP (225 MP with --sizes 225), against the paste floor.

    python benchmarks/bench_nodes.py [--sizes 1,24,100] [--only NAME,...] [--repeat 3] [--json out.json]

Each case runs in a fresh process: the inputs are built (the bokeh photo,
6000 x 4000, resized to the size; tiles of 1024 px with 128 px overlap;
what an upstream node would give), then the node class is called the way
ComfyUI calls it (``INPUT_TYPES`` defaults for every widget not set, the
node's own checks, reports and previews included). Printed per case:
seconds (median of ``--repeat`` at up to 24 MP, one run above), the ratio
to the *paste floor* measured in the same process (a new image with every
tile pasted in: what any merge must at least do), seconds per megapixel,
and the peak RSS rise during the node call over the image's float32 bytes.
Loaders are also compared with OpenCV's own decode, savers with an
uncompressed write, in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, Tuple

import numpy as np
import torch

from common import ROOT, paste, peak_rss_bytes, reset_peak_rss, rss_bytes, run_isolated, shared_dir, table, write_json

import tilestitch
from tilestitch.imaging.resample import resize_hwc
from tilestitch.media import read_image
from tilestitch.tiling import MASK, extract_tiles, plan_by_tile_size

PHOTO = "unsplash/rachel-hisko-rEM3cK8F1pk-unsplash.jpg"  # 6000 x 4000, smooth bokeh and fine detail
SIZES = {1: (816, 1224), 24: (4000, 6000), 100: (8160, 12240), 225: (12240, 18360)}
TILE, OVERLAP = 1024, 128


def node(name: str):
    return tilestitch.NODE_CLASS_MAPPINGS[name]()


def call(name: str, **given):
    """Call node ``name`` as ComfyUI does: widget defaults for what is not given, the node's FUNCTION."""
    cls = tilestitch.NODE_CLASS_MAPPINGS[name]
    spec = cls.INPUT_TYPES()
    kwargs = {}
    for section in ("required", "optional"):
        for key, (typ, opts) in spec.get(section, {}).items():
            if key in given:
                kwargs[key] = given[key]
            elif section == "required":
                kwargs[key] = opts.get("default", typ[0] if isinstance(typ, list) else None)
    return getattr(cls(), cls.FUNCTION)(**kwargs)


def photo(size: int) -> torch.Tensor:
    h, w = SIZES[size]
    src = read_image(str(shared_dir() / "data" / "images" / PHOTO))
    img = src if src.shape[:2] == (h, w) else resize_hwc(src, h, w)
    return torch.from_numpy(np.clip(img, 0.0, 1.0)).unsqueeze(0)


def drifted(tiles: torch.Tensor) -> torch.Tensor:
    """Processed tiles as a tile model returns them: each with its own gain and offset per channel."""
    g = torch.Generator().manual_seed(0)
    gain = 1 + 0.04 * (torch.rand(tiles.shape[0], 1, 1, 3, generator=g) - 0.5)
    return (tiles * gain + 0.01 * (torch.rand(tiles.shape[0], 1, 1, 3, generator=g) - 0.5)).clamp_(0, 1)


class _Identity(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))  # the runner reads the dtype from a parameter

    def forward(self, x):
        return x


class Identity:
    """An UPSCALE_MODEL stand-in of scale 1 that costs nothing: the node's own overhead is what is measured."""

    def __init__(self):
        self.model = _Identity()
        self.scale, self.input_channels, self.size_requirements = 1, 3, None

    def to(self, device):
        self.model.to(device)
        return self

    def __call__(self, x):
        return self.model(x)


def cases(img: torch.Tensor, tmp: str) -> Dict[str, Callable[[], Tuple[Callable[[], object], dict]]]:
    """name -> setup() returning (the node call, extra baselines to time in the same process)."""
    h, w = img.shape[1:3]
    plan = plan_by_tile_size(h, w, TILE, TILE, OVERLAP, 8)
    split = dict(mode="tile_size", tile_width=TILE, tile_height=TILE, overlap=OVERLAP, align=8)

    def tiles():
        return drifted(extract_tiles(img, plan))

    def context():
        return call("TileStitchGlobalContext", image=img)[0]

    def merged():
        return call("TileStitchMerge", tiles=tiles(), plan=plan, blend="cosine")[0]

    def files(kind):
        path = os.path.join(tmp, "input", f"photo.{'png' if kind == 'png16' else 'tif'}")
        from tilestitch.media import ImageMeta, write_image

        write_image(path, img[0].numpy(), ImageMeta(), kind, compression=1)
        return path

    def loader(kind):
        path = files(kind)
        import cv2

        name = os.path.basename(path)
        return (lambda: node("TileStitchLoadImage16").load(name)), {"opencv decode": lambda: cv2.imread(path, cv2.IMREAD_UNCHANGED)}

    def saver(fmt, compression):
        from tilestitch.media import ImageMeta, write_image

        def uncompressed():
            write_image(os.path.join(tmp, "raw.tif"), img[0].numpy(), ImageMeta(), "tiff16", compression=0)

        return (lambda: call("TileStitchSaveImage16", images=img, filename_prefix="bench/photo", format=fmt,
                             compression=compression)), {"uncompressed tiff16 write": uncompressed}

    def seam_pass(mode):
        tiles, seam_plan, _, _ = call("TileStitchSeamTiles", image=merged(), plan=plan, mode=mode)
        return tiles * 0.98, seam_plan  # a "redraw" that changes every seam tile

    def diff_merge():
        from tilestitch.diffmerge.synthetic import synthetic_edit

        s = min(1.0, (1024 * 1024 / (h * w)) ** 0.5)
        edit = torch.from_numpy(synthetic_edit(img[0].numpy(), (round(h * s), round(w * s))).edited)[None]
        return (lambda: call("TileStitchDiffMerge", original=img, edited=edit)), {}

    return {
        "Tile Split": lambda: ((lambda: call("TileStitchSplit", image=img, **split)), {}),
        **{f"Tile Merge {m}": (lambda m=m: ((lambda t=tiles(): call("TileStitchMerge", tiles=t, plan=plan, blend=m)), {}))
           for m in ("cosine", "none", "multiband", "poisson")},
        "Tile Merge (list) cosine": lambda: ((lambda t=list(tiles().split(1)): call("TileStitchMergeList", tiles=t, plan=[plan],
                                                                                   blend=["cosine"])), {}),
        "Seam Merge poisson optimal": lambda: ((lambda t=tiles(): call("TileStitchSeamMerge", tiles=t, plan=plan, method="poisson",
                                                                      seam="optimal")), {}),
        "Seam Merge multiband optimal": lambda: ((lambda t=tiles(): call("TileStitchSeamMerge", tiles=t, plan=plan, method="multiband",
                                                                        seam="optimal")), {}),
        "Global Context Encode": lambda: ((lambda: call("TileStitchGlobalContext", image=img)), {}),
        **{f"Tile Color Correct {m}": (lambda m=m: ((lambda t=tiles(), c=context(): call("TileStitchColorCorrect", tiles=t, plan=plan,
                                                                                        context=c, method=m)), {}))
           for m in ("joint_gain", "joint_gain_lab", "reinhard_lab", "wavelet_lowfreq")},
        **{f"Frequency Merge {m}": (lambda m=m: ((lambda i=merged(), r=context().reference: call("TileStitchFrequencyMerge", image=i,
                                                                                               reference=r, method=m)), {}))
           for m in ("gaussian", "wavelet")},
        "Solar Curve Preview": lambda: ((lambda: call("TileStitchSolarPreview", image=img)), {}),
        "Seam Report": lambda: ((lambda i=merged(): call("TileStitchSeamReport", image=i, plan=plan)), {}),
        "Seam Report with reference": lambda: ((lambda i=merged(): call("TileStitchSeamReport", image=i, plan=plan, reference=img)), {}),
        **{f"Seam Tiles {m}": (lambda m=m: ((lambda i=merged(): call("TileStitchSeamTiles", image=i, plan=plan, mode=m)), {}))
           for m in ("bands", "offset_grid", "crossings")},
        **{f"Seam Tiles Merge {m}": (lambda m=m: ((lambda i=merged(), s=seam_pass(m): call("TileStitchSeamTilesMerge", image=i,
                                                                                         tiles=s[0], seam_plan=s[1])), {}))
           for m in ("bands", "offset_grid", "crossings")},
        "Band Merge": lambda: ((lambda e=torch.from_numpy(resize_hwc(img[0].numpy(), 816, 1224, "area"))[None] * 0.95:
                                call("TileStitchBandMerge", original=img, edit=e)), {}),
        "Frequency Split + Join": lambda: ((lambda: call("TileStitchFrequencyJoin", bands=call("TileStitchFrequencySplit", image=img)[0])), {}),
        "Detail Energy": lambda: ((lambda: call("TileStitchDetailEnergy", image=img)), {}),
        "Mask Refine Merge": lambda: ((lambda m=extract_tiles((img[..., 1] > 0.5).float(), plan, MASK),
                                       c=torch.rand(1, h // 16, w // 16): call("TileStitchMaskRefineMerge", coarse_mask=c, mask_tiles=m,
                                                                              plan=plan)), {}),
        "Diff Merge": diff_merge,
        "Streaming Tiled Upscale": lambda: ((lambda: call("TileStitchTiledUpscaleStream", image=img, upscale_model=Identity(), **split,
                                                          device="cpu")), {}),
        "Load Image 16-bit PNG": lambda: loader("png16"),
        "Load Image 16-bit TIFF": lambda: loader("tiff16"),
        "Save Image 16-bit TIFF fast": lambda: saver("tiff16", 1),
        "Save Image 16-bit PNG fast": lambda: saver("png16", 1),
    }


def child(name: str, size: int, repeat: int) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from fakes import install_folder_paths  # Save Image 16-bit writes where ComfyUI's folder_paths says

    tmp = tempfile.mkdtemp(prefix="bench-nodes-")
    install_folder_paths(tmp)
    img = photo(size)
    plan = plan_by_tile_size(img.shape[1], img.shape[2], TILE, TILE, OVERLAP, 8)
    tiles = extract_tiles(img, plan)
    runs = repeat if size <= 24 else 1
    floor = statistics.median(_timed(lambda: paste(tiles, plan)) for _ in range(max(runs, 3)))
    del tiles
    fn, extras = cases(img, tmp)[name]()
    fn()  # warm-up: numba kernels, caches, first-touch of lazily built tables
    base = rss_bytes()
    reset_peak_rss()
    times = [_timed(fn) for _ in range(runs)]
    peak = peak_rss_bytes() - base
    out = {"node": name, "mp": img.shape[1] * img.shape[2] / 1e6, "seconds": statistics.median(times), "floor": floor,
           "peak_over_image": peak / (img.numel() * 4)}
    for label, extra in extras.items():
        extra()
        out[label] = statistics.median(_timed(extra) for _ in range(runs))
    return out


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,24,100")
    ap.add_argument("--only", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.size, args.repeat)))
        return {}
    names = [n for n in cases(torch.zeros(1, 8, 8, 3), "") if not args.only or n in args.only.split(",")]
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        for name in names:
            try:
                r = run_isolated(__file__, "--child", name, "--size", str(size), "--repeat", str(args.repeat))
            except Exception as e:  # noqa: BLE001 - report and go on (out of memory at 225 MP, say)
                print(f"{name} at {size} MP: failed ({str(e).splitlines()[0][:120]})", file=sys.stderr, flush=True)
                continue
            results.append(r)
            extra = "; ".join(f"{k} {v:.2f} s ({r['seconds'] / v:.2f}x)" for k, v in r.items()
                              if k not in ("node", "mp", "seconds", "floor", "peak_over_image"))
            print(f"{name} {r['mp']:.0f} MP: {r['seconds']:.2f} s = {r['seconds'] / r['floor']:.1f}x floor, "
                  f"{r['seconds'] / r['mp']:.3f} s/MP, peak {r['peak_over_image']:.2f}x image {extra}", file=sys.stderr, flush=True)
    rows = [[r["node"], f"{r['mp']:.0f}", f"{r['seconds']:.2f}", f"{r['seconds'] / r['floor']:.1f}", f"{r['seconds'] / r['mp']:.3f}",
             f"{r['peak_over_image']:.2f}"] for r in results]
    print(table(rows, ["node", "MP", "seconds", "x paste floor", "s / MP", "peak RSS / image"]))
    write_json(args.json, results)
    return {"results": results}


if __name__ == "__main__":
    main()
