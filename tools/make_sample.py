"""Render the sample photo the demo workflow runs on: a procedural jewellery product shot (no download, MIT like the pack).

    python tools/make_sample.py          # writes assets/tilestitch_sample.jpg

A near-white studio sweep with a soft light fall-off, two gold rings and a
silver one (shaded tori with brushed texture and speculars), a pearl, soft
contact shadows, a strip of woven fabric and sensor grain: the hard cases of
tiled retouching (white on white, metal, soft shadows, fine repeating
texture) in one 2048 x 1365 picture. Deterministic: the same file every run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "assets" / "tilestitch_sample.jpg"
H, W = 1365, 2048


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(img, (0, 0), sigma)


def render(seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    u, v = xx / W, yy / H
    # studio sweep: warm white, darker towards the bottom corners, a light from the top left
    light = 0.93 - 0.10 * v ** 1.6 - 0.06 * ((u - 0.35) ** 2 + (v - 0.2) ** 2)
    img = np.stack([light * 1.0, light * 0.985, light * 0.96], -1)
    # fabric strip: a twill weave, slightly bluish
    band = (v > 0.78)
    weave = 0.5 + 0.5 * np.sin(2 * np.pi * (xx + yy) / 9.0) * np.sin(2 * np.pi * (xx - yy) / 23.0)
    fabric = np.stack([0.55 + 0.08 * weave, 0.58 + 0.08 * weave, 0.66 + 0.09 * weave], -1) * (0.9 + 0.1 * (1 - v))[..., None]
    soft = _blur(band.astype(np.float32), 3.0)[..., None]
    img = img * (1 - soft) + fabric * soft
    # contact shadows, then the objects
    shadow = np.zeros((H, W), np.float32)
    rings = [(0.30, 0.50, 0.13, 0.035, (1.0, 0.78, 0.38)), (0.55, 0.47, 0.11, 0.03, (0.98, 0.74, 0.42)),
             (0.77, 0.55, 0.12, 0.028, (0.86, 0.87, 0.90))]
    for cx, cy, r, t, _ in rings:
        d = np.hypot((u - cx - 0.01) * W / H, (v - cy - 0.03) * 1.0)
        shadow += np.clip(1 - np.abs(d - r) / (t * 2.5), 0, 1) * 0.45
    shadow += np.clip(1 - np.hypot((u - 0.43) * W / H, v - 0.70) / 0.05, 0, 1) * 0.5
    img *= (1 - 0.35 * _blur(np.clip(shadow, 0, 1), 18.0))[..., None]
    for cx, cy, r, t, metal in rings:
        du, dv = (u - cx) * W / H, v - cy
        d = np.hypot(du, dv)
        ring = np.clip(1 - np.abs(d - r) / t, 0, 1)
        mask = _blur((ring > 0).astype(np.float32), 0.8)
        across = (d - r) / t  # -1 .. 1 across the band
        shade = 0.55 + 0.45 * np.cos(np.pi * 0.5 * across) * (0.6 + 0.4 * np.cos(np.arctan2(dv, du) + 2.2))
        brushed = 1 + 0.03 * np.sin(np.arctan2(dv, du) * 900 + rng.random() * 6)
        spec = np.exp(-(((np.arctan2(dv, du) + 2.3) % (2 * np.pi) - np.pi) ** 2) / 0.02) * np.exp(-across ** 2 / 0.1)
        col = np.clip(np.array(metal)[None, None] * (shade * brushed)[..., None] + 0.6 * spec[..., None], 0, 1)
        img = img * (1 - mask[..., None]) + col * mask[..., None]
    # a pearl: white on white
    d = np.hypot((u - 0.43) * W / H, v - 0.66) / 0.045
    pearl = np.clip(1 - d, 0, 1) > 0
    nz = np.sqrt(np.clip(1 - d ** 2, 0, 1))
    pshade = 0.80 + 0.16 * nz + 0.35 * np.exp(-((u - 0.425) ** 2 + (v - 0.645) ** 2) / 0.00004)
    pcol = np.stack([pshade, pshade * 0.985, pshade * 0.97], -1)
    pm = _blur(pearl.astype(np.float32), 0.8)[..., None]
    img = img * (1 - pm) + np.clip(pcol, 0, 1) * pm
    # sensor grain and a little lens softness
    img = _blur(img.astype(np.float32), 0.6) + rng.normal(0, 0.006, img.shape).astype(np.float32)
    return np.clip(img, 0, 1)


def main() -> None:
    import cv2

    OUT.parent.mkdir(parents=True, exist_ok=True)
    rgb = (render() * 255 + 0.5).astype(np.uint8)
    cv2.imwrite(str(OUT), rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(OUT, OUT.stat().st_size // 1024, "KiB")


if __name__ == "__main__":
    main()
