"""SANA DC-AE over a large image: diffusers' own tiling (dc_ae) vs the pack's streaming (stream) vs one call (off).

    python benchmarks/bench_sana_vae.py [--size 2048] [--json out.json]

Each mode runs in a fresh process (peak RSS above the process's baseline,
reported as a multiple of the decoded image's float32 bytes) on a tiny
random-weight AutoencoderDC built from a diffusers config (tests/tiny_sana.py;
2x down, so its latents are large: the memory pattern, not the speed of the
real 32x DC-AE, is what this measures). Ratios are against ``off`` measured
in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, peak_rss_bytes, reset_peak_rss, rss_bytes, run_isolated, table, write_json

MODES = ("off", "dc_ae", "stream")


def child(folder: str, mode: str, size: int, tile: int, overlap: int) -> dict:
    import torch

    from tilestitch.sana import decode_latent, encode_image, load_sana

    models = load_sana(Path(folder))
    f = models.vae_factor
    z = torch.randn(1, models.latent_channels, size // f, size // f)
    img = torch.rand(1, size, size, 3)
    base = rss_bytes()
    reset_peak_rss()
    t = time.perf_counter()
    out = decode_latent(models, z, tiling=mode, tile=tile, overlap=overlap, batch_size=2)
    dec_s = time.perf_counter() - t
    dec_peak = peak_rss_bytes() - base
    del out
    reset_peak_rss()
    base = rss_bytes()
    t = time.perf_counter()
    encode_image(models, img, tiling=mode, tile=tile, overlap=overlap, batch_size=2)
    enc_s = time.perf_counter() - t
    enc_peak = peak_rss_bytes() - base
    return {"decode_s": dec_s, "decode_peak": dec_peak, "encode_s": enc_s, "encode_peak": enc_peak, "image_bytes": size * size * 3 * 4}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--overlap", type=int, default=64)
    ap.add_argument("--json")
    ap.add_argument("--child", nargs=2, metavar=("FOLDER", "MODE"))
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], a.child[1], a.size, a.tile, a.overlap)))
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from tiny_sana import build_tiny_sana

    with tempfile.TemporaryDirectory() as d:
        folder = build_tiny_sana(Path(d) / "Sana_tiny_diffusers")
        res = {m: run_isolated(__file__, "--child", str(folder), m, "--size", str(a.size), "--tile", str(a.tile),
                               "--overlap", str(a.overlap)) for m in MODES}
    base = res["off"]
    rows = []
    for m in MODES:
        r = res[m]
        rows.append([m, f"{r['decode_s']:.2f}", f"{r['decode_peak'] / r['image_bytes']:.2f}x",
                     f"{r['decode_peak'] / max(1, base['decode_peak']):.2f}", f"{r['encode_s']:.2f}",
                     f"{r['encode_peak'] / r['image_bytes']:.2f}x"])
    print(f"DC-AE (tiny, 2x) on {a.size}^2, tiles {a.tile} px, overlap {a.overlap}:")
    print(table(rows, ["tiling", "decode s", "decode peak / image", "vs off", "encode s", "encode peak / image"]))
    write_json(a.json, res)


if __name__ == "__main__":
    main()
