"""Tiled denoising cost: model evaluations, time and memory per step, tiled vs the untiled call.

    python benchmarks/bench_latent.py [--side 256] [--tile 128] [--overlap 32] [--batches 1 3 9]

The model is a small random-weight FLUX transformer (diffusers'
FluxTransformer2DModel: 2 double + 2 single blocks, 4 heads of 32, patch 2,
16-channel latents), so attention over the image tokens behaves as FLUX's
does: quadratic in the tokens of one call. One "step" is one x0 prediction
for the whole latent: the untiled call on the whole latent (the baseline,
measured in the same run), or ``tiled_predict`` with the pack's plan and the
cosine window (tile batch as given). Peak RSS is measured in a fresh process
per configuration, above the process's RSS after the model and inputs are
built, for two latent sizes: the untiled call's grows with the latent, the
tiled call's with the tile batch only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from common import peak_rss_bytes, reset_peak_rss, rss_bytes, run_isolated, table

from tilestitch.tiling.denoise import latent_plan, tiled_predict

CONFIG = dict(patch_size=1, in_channels=64, num_layers=2, num_single_layers=2, attention_head_dim=32, num_attention_heads=4,
              joint_attention_dim=64, pooled_projection_dim=32, guidance_embeds=False, axes_dims_rope=(8, 12, 12))


def build_model():
    from diffusers import FluxTransformer2DModel

    torch.manual_seed(0)
    return FluxTransformer2DModel(**CONFIG).eval()


def flux_predict(model, text: torch.Tensor, pooled: torch.Tensor, t: float):
    """``predict(x [N, 16, h, w]) -> [N, 16, h, w]`` through the transformer (2 x 2 patches as tokens)."""

    def predict(x, tiles=None):
        n, c, h, w = x.shape
        tokens = x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(n, (h // 2) * (w // 2), c * 4)
        ids = torch.zeros(h // 2, w // 2, 3)
        ids[..., 1] = torch.arange(h // 2)[:, None]
        ids[..., 2] = torch.arange(w // 2)[None, :]
        with torch.inference_mode():
            out = model(hidden_states=tokens, encoder_hidden_states=text.expand(n, -1, -1), pooled_projections=pooled.expand(n, -1),
                        timestep=torch.full((n,), t), img_ids=ids.reshape(-1, 3), txt_ids=torch.zeros(text.shape[1], 3), return_dict=False)[0]
        return out.reshape(n, h // 2, w // 2, c, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(n, c, h, w)

    return predict


def setup(side: int):
    model = build_model()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 16, side, side, generator=g)
    text, pooled = torch.randn(1, 16, 64, generator=g), torch.randn(1, 32, generator=g)
    return flux_predict(model, text, pooled, 0.5), x


def step(predict, x, tile: int, overlap: int, batch: int, counter=None):
    """One x0 prediction: untiled when ``batch`` is 0."""
    if batch == 0:
        if counter is not None:
            counter.append(1)
        return predict(x)
    plan = latent_plan(x.shape[2], x.shape[3], tile, tile, overlap, 2)

    def counted(x_tiles, tiles):
        if counter is not None:
            counter.append(len(tiles))
        return predict(x_tiles, tiles)

    return tiled_predict(counted, x, plan, window="cosine", tile_batch_size=batch)


def child(side: int, tile: int, overlap: int, batch: int) -> None:
    predict, x = setup(side)
    predict(torch.randn(1, 16, 8, 8))  # warm up the kernels outside the measurement
    reset_peak_rss()
    base = rss_bytes()
    step(predict, x, tile, overlap, batch)
    print(json.dumps({"peak_above_start": peak_rss_bytes() - base}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, default=256, help="latent side (256 = a 2048 px image with an 8x VAE)")
    ap.add_argument("--tile", type=int, default=128)
    ap.add_argument("--overlap", type=int, default=32)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 3, 9])
    ap.add_argument("--memory-sides", type=int, nargs="+", default=[256, 384])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=4, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    torch.set_num_threads(max(1, torch.get_num_threads()))
    predict, x = setup(args.side)
    plan = latent_plan(args.side, args.side, args.tile, args.tile, args.overlap, 2)
    print(f"latent 16 x {args.side} x {args.side}, tiles {args.tile} / overlap >= {args.overlap}: {plan.rows} x {plan.cols} = {plan.count} tiles, "
          f"{torch.get_num_threads()} threads")
    rows = []
    base_time = None
    for batch in [0] + args.batches:
        calls = []
        step(predict, x, args.tile, args.overlap, batch, calls)
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            step(predict, x, args.tile, args.overlap, batch)
            times.append(time.perf_counter() - t)
        best = sorted(times)[len(times) // 2]
        base_time = best if batch == 0 else base_time
        rows.append(["untiled" if batch == 0 else f"tiled, batch {batch}", len(calls), sum(calls), f"{best:.2f} s", f"{best / base_time:.2f}x"])
    print(table(rows, ["call", "model evaluations / step", "tiles / step", "time / step", "vs untiled"]))
    mem_rows = []
    for side in args.memory_sides:
        row = [f"{side} x {side}"]
        for batch in [0] + args.batches:
            r = run_isolated(__file__, "--child", str(side), str(args.tile), str(args.overlap), str(batch))
            row.append(f"{r['peak_above_start'] / 2**20:.0f} MiB")
        mem_rows.append(row)
    print("\npeak RSS above the start of the step (fresh process each):")
    print(table(mem_rows, ["latent", "untiled"] + [f"tiled, batch {b}" for b in args.batches]))


if __name__ == "__main__":
    sys.exit(main())
