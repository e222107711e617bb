"""Render the README's before/after figure through the node classes, on the pack's own sample photo.

    python tools/make_readme_figure.py      # writes docs/images/before_after.jpg and assets/icon.png

The sample product shot is split into 512 px tiles (overlap 64); every tile
goes through a process that drifts the way per-tile models do (its own
gamma, gain and black level per channel) and is upscaled x2.
Left: the tiles simply put back (Tile Merge, ``none``). Right: the same tiles
through Tile Color Correct (``joint_gain``) and Seam Merge (Poisson). Each
half is a crop around a corner where four tiles meet, with the seam report's
verdict on the whole picture below it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_pack import ROOT, import_pack  # noqa: E402

pack = import_pack()
from tilestitch.graph.shipped import SAMPLE_PHOTO  # noqa: E402
from tilestitch.imaging.resample import resize_image  # noqa: E402
from tilestitch.media import read_rgb_alpha  # noqa: E402

OUT = ROOT / "docs" / "images" / "before_after.jpg"
ICON = ROOT / "assets" / "icon.png"  # the registry's icon (pyproject.toml [tool.comfy] Icon): at most 800 x 400
NODES = pack.NODE_CLASS_MAPPINGS


def call(name, **kwargs):
    cls = NODES[name]
    out = getattr(cls(), cls.FUNCTION)(**kwargs)
    return out["result"] if isinstance(out, dict) else out


def drift(tiles: torch.Tensor, seed: int = 3) -> torch.Tensor:
    """What a per-tile model does to colour: each tile its own gamma (0.9-1.1), gain (±5 %) and black level (±0.02) per channel."""
    g = torch.Generator().manual_seed(seed)
    out = torch.empty_like(tiles)
    for k, t in enumerate(tiles):
        gamma = 1 + 0.2 * (torch.rand(3, generator=g) - 0.5)
        gain = 1 + 0.1 * (torch.rand(3, generator=g) - 0.5)
        black = 0.04 * (torch.rand(3, generator=g) - 0.5)
        out[k] = (t.clamp(min=0) ** gamma * gain + black).clamp(0, 1)
    return out


def main() -> int:
    import cv2

    rgb, _, _ = read_rgb_alpha(str(SAMPLE_PHOTO))
    image = torch.from_numpy(rgb)[None]
    tiles, plan, _ = call("TileStitchSplit", image=image, mode="tile_size", tile_width=512, tile_height=512, overlap=64,
                          rows=2, cols=2, max_megapixels=1.0, align=8)
    processed = resize_image(drift(tiles), 2 * tiles.shape[1], 2 * tiles.shape[2])
    (context, *_) = call("TileStitchGlobalContext", image=image, max_side=1024)
    before, _ = call("TileStitchMerge", tiles=processed, plan=plan, blend="none")
    corrected = call("TileStitchColorCorrect", tiles=processed, plan=plan, context=context, method="joint_gain", strength=1.0)[0]
    after = call("TileStitchSeamMerge", tiles=corrected, plan=plan, method="poisson", seam="centre", band_half_width=0)[0]
    reference = resize_image(image, after.shape[1], after.shape[2])
    verdicts = []
    for merged in (before, after):
        report = call("TileStitchSeamReport", image=merged, plan=plan, z_threshold=3.0, delta_e_threshold=2.0, worst_count=1,
                      reference=reference)
        verdicts.append(f"{report[3]} of {len(plan.seams)} seams visible")
    # a corner where four tiles meet, near the rings
    seam_y = 2 * plan.rows_axis.starts[1] + plan.overlap
    seam_x = 2 * plan.cols_axis.starts[2] + plan.overlap
    half = 260
    crops = []
    for merged, title, verdict in ((before, "tiles put back", verdicts[0]), (after, "TileStitch: colour + Poisson", verdicts[1])):
        crop = merged[0, seam_y - half : seam_y + half, seam_x - half : seam_x + half].clamp(0, 1).numpy()
        panel = np.full((crop.shape[0] + 70, crop.shape[1], 3), 30, np.uint8)
        panel[:crop.shape[0]] = (crop * 255 + 0.5).astype(np.uint8)
        for text, y in ((title, crop.shape[0] + 28), (verdict, crop.shape[0] + 58)):
            cv2.putText(panel, text, (12, y), cv2.FONT_HERSHEY_SIMPLEX, 0.75, (240, 240, 240), 2, cv2.LINE_AA)
        crops.append(panel)
    gap = np.full((crops[0].shape[0], 12, 3), 30, np.uint8)
    figure = np.concatenate([crops[0], gap, crops[1]], 1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(OUT), cv2.cvtColor(figure, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    # the icon: the rings with a 3 x 3 tile grid and its overlaps drawn over them
    square = (after[0, 560:1560, 1280:2280].clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
    icon = cv2.resize(square, (400, 400), interpolation=cv2.INTER_AREA)
    shade = icon.copy()
    for k in (1, 2):
        a = k * 400 // 3
        cv2.rectangle(shade, (a - 10, 0), (a + 10, 399), (70, 130, 220), -1)
        cv2.rectangle(shade, (0, a - 10), (399, a + 10), (70, 130, 220), -1)
    icon = cv2.addWeighted(shade, 0.35, icon, 0.65, 0)
    for k in (1, 2):
        a = k * 400 // 3
        cv2.line(icon, (a, 0), (a, 399), (40, 90, 200), 2, cv2.LINE_AA)
        cv2.line(icon, (0, a), (399, a), (40, 90, 200), 2, cv2.LINE_AA)
    cv2.imwrite(str(ICON), cv2.cvtColor(icon, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(OUT, ICON, *verdicts, sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
