"""Seam placement by Detail Energy: should seams avoid detail or seek it?

    python benchmarks/bench_seam_placement.py [--max-side 2048] [--tile 512] [--overlap 64] [--seeds 3]

Node path throughout: Detail Energy -> Tile Split Around Mask (threshold 1:
no objects, only the detail mass under blend bands counts) against Tile
Split's even grid, the same tile size and overlap; tiles changed by a stand-in
model; Tile Merge (cosine); Seam Report. Three ways to place the grid:

* ``even``: Tile Split's grid, no mask;
* ``avoid detail``: mask = Detail Energy (the bands go where the photo is smooth);
* ``seek detail``: mask = 1 - Detail Energy (ComfyUI's InvertMask; the bands go
  into texture).

Two kinds of tile disagreement, the two things an edit model does differently
per tile:

* ``tone``: a per-tile, per-channel gain of up to +-3 % and offset of up to
  +-1 % (colour drift), merged with cosine and with a hard cut (blend
  ``none``; what a cut-based blender starts from). Measured by the Seam
  Report's steady |z| (mean over seams) and its count of visible seams: a
  step is masked by texture and plain on a smooth wall.
* ``redraw``: each tile re-renders the picture shifted by its own random
  sub-pixel offset (up to 1.5 px) with its own grain (sigma 1 %): in the
  overlap two renderings that do not line up are cross-faded, which ghosts
  and blurs texture. Measured as the share of the picture's fine detail the
  blend loses: ``1 - E(cosine merge) / E(hard-cut merge of the same tiles)``,
  E = sum of the squared Laplacian of the luma (a hard cut keeps every pixel
  from one rendering; the difference is what the cross-fade averaged away).

Medians over the photos and seeds are printed (and --json writes every row).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

import cv2
import numpy as np
import torch

from common import shared_dir, table, write_json

import tilestitch
from tilestitch.media import read_image, to_image_tensor
from tilestitch.qa.seam_report import DEFAULT_DELTA_E, DEFAULT_Z

PHOTOS = {
    "water": "unsplash/dennis-buchner-WATeNJyEUkA-unsplash.jpg",
    "bokeh": "unsplash/rachel-hisko-rEM3cK8F1pk-unsplash.jpg",
    "fabric": "unsplash/karly-santiago-E7zsz8JA8FM-unsplash.jpg",
    "street": "unsplash/andrew-ridley-jR4Zf-riEjI-unsplash.jpg",
    "portrait": "kodak_photocd/kodim04_photocd16base.png",
    "hats": "kodak_photocd/kodim12_photocd16base.png",
}
PLACEMENTS = ("even", "avoid detail", "seek detail")


def node(name: str):
    return tilestitch.NODE_CLASS_MAPPINGS[name]()


def tone_tiles(tiles: torch.Tensor, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n, _, _, ch = tiles.shape
    gain = 1 + 0.03 * (2 * torch.rand(n, 1, 1, ch, generator=g) - 1)
    offset = 0.01 * (2 * torch.rand(n, 1, 1, ch, generator=g) - 1)
    return (tiles * gain + offset).clamp_(0, 1)


def redraw_tiles(tiles: torch.Tensor, seed: int) -> torch.Tensor:
    """Each tile shifted by its own sub-pixel offset (bilinear, reflected borders) plus its own grain."""
    rng = np.random.default_rng(seed)
    out = torch.empty_like(tiles)
    for k in range(tiles.shape[0]):
        dx, dy = rng.uniform(-1.5, 1.5, size=2)
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        t = tiles[k].numpy()
        shifted = cv2.warpAffine(t, m, (t.shape[1], t.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        grain = rng.normal(0, 0.01, size=shifted.shape[:2] + (1,)).astype(np.float32)
        out[k] = torch.from_numpy(np.clip(shifted + grain, 0, 1))
    return out


def detail(image: torch.Tensor) -> float:
    luma = (image[0] @ torch.tensor([0.2126, 0.7152, 0.0722])).numpy().astype(np.float32)
    return float(np.square(cv2.Laplacian(luma, cv2.CV_32F, ksize=1)).sum(dtype=np.float64))


def steady_z(report_json: str):
    seams = json.loads(report_json)
    if isinstance(seams, list):
        seams = seams[0]
    seams = seams["seams"]
    return statistics.mean(abs(s["steady_z"]) for s in seams), sum(s["verdict"] == "visible" for s in seams)


def plans(image: torch.Tensor, tile: int, overlap: int):
    energy = node("TileStitchDetailEnergy").energy(image, bands=2, sigma=4.0)[0]
    around = node("TileStitchSplitAroundMask")
    out = {"even": node("TileStitchSplit").split(image, mode="tile_size", tile_width=tile, tile_height=tile, overlap=overlap,
                                                  rows=2, cols=2, max_megapixels=1.0, align=8, shrink_tiles=False)[:2]}
    for name, mask in (("avoid detail", energy), ("seek detail", 1.0 - energy)):
        tiles, plan, _, _ = around.split(image, mask, tile_width=tile, tile_height=tile, overlap=overlap, align=8, threshold=1.0,
                                         extra_tiles=2)
        out[name] = (tiles, plan)
    band_energy = {}
    for name, (_, plan) in out.items():  # the share of the photo's detail mass lying in blend bands
        cover = torch.zeros(plan.height, plan.width)
        for t in plan:
            cover[t.y:t.y + t.height, t.x:t.x + t.width] += 1
        band_energy[name] = float(energy[0][cover > 1].sum() / energy.sum())
    return out, band_energy


def measure(image: torch.Tensor, tile: int, overlap: int, seeds: int):
    grids, band_energy = plans(image, tile, overlap)
    merge, report = node("TileStitchMerge"), node("TileStitchSeamReport")
    rows = []
    for name, (tiles, plan) in grids.items():
        for seed in range(seeds):
            toned = tone_tiles(tiles, seed)
            tone = {}
            for blend in ("cosine", "none"):
                merged = merge.merge(toned, plan, blend=blend)[0]
                _, rj, _, visible = report.report(merged, plan, z_threshold=DEFAULT_Z, delta_e_threshold=DEFAULT_DELTA_E,
                                                  worst_count=0)["result"]
                tone[blend] = (steady_z(rj)[0], int(visible))
            redrawn = redraw_tiles(tiles, seed)
            soft = merge.merge(redrawn, plan, blend="cosine")[0]
            hard = merge.merge(redrawn, plan, blend="none")[0]
            rows.append({"placement": name, "seed": seed, "tiles": plan.count, "detail_in_bands": band_energy[name],
                         "tone_z": tone["cosine"][0], "tone_visible": tone["cosine"][1],
                         "tone_cut_z": tone["none"][0], "tone_cut_visible": tone["none"][1], "seams": len(plan.seams),
                         "redraw_detail_lost": 1 - detail(soft) / detail(hard)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-side", type=int, default=2048)
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--overlap", type=int, default=64)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--photos", nargs="*", default=list(PHOTOS))
    ap.add_argument("--json")
    args = ap.parse_args()
    images = shared_dir() / "data" / "images"
    everything = []
    for photo in args.photos:
        image = to_image_tensor(read_image(str(images / PHOTOS[photo]), max_side=args.max_side))
        for row in measure(image, args.tile, args.overlap, args.seeds):
            everything.append({"photo": photo, **row})
        print(f"{photo}: {tuple(image.shape[1:3])} done", file=sys.stderr)
    lines = []
    for photo in args.photos + ["median"]:
        for name in PLACEMENTS:
            sel = [r for r in everything if r["placement"] == name and (photo == "median" or r["photo"] == photo)]
            keys = ("detail_in_bands", "tone_z", "tone_visible", "tone_cut_z", "tone_cut_visible", "redraw_detail_lost")
            med = {k: statistics.median(r[k] for r in sel) for k in keys}
            seams = sel[0]["seams"] if photo != "median" else ""
            lines.append([photo, name, sel[0]["tiles"] if photo != "median" else "", f"{100 * med['detail_in_bands']:.1f} %",
                          f"{med['tone_z']:.2f}", f"{med['tone_visible']:g}", f"{med['tone_cut_z']:.2f}",
                          f"{med['tone_cut_visible']:g} / {seams}" if seams else f"{med['tone_cut_visible']:g}",
                          f"{100 * med['redraw_detail_lost']:.2f} %"])
    print(table(lines, ["photo", "placement", "tiles", "detail mass in bands", "tone, cosine: mean |z|", "visible",
                        "tone, hard cut: mean |z|", "visible", "redraw: detail lost"]))
    if args.json:
        write_json(args.json, everything)


if __name__ == "__main__":
    main()
