"""Tile size -> peak memory of a real upscale model, measured and as predicted from three small probes.

    <ComfyUI venv>/bin/python benchmarks/bench_tile_memory.py [--model sr/realesr-animevideov3.pth] [--device cpu]

Needs ``spandrel`` (ComfyUI's model loader; it is in ComfyUI's requirements)
and the weights under ``shared/data/weights``. The model is loaded the way
Load Upscale Model does; the memory model is calibrated exactly as the Tile
Size From Memory node does (probes at 128, 192 and 256 px), then every tile
size runs once and its peak is measured (CPU: peak RSS; CUDA: the allocator's
peak). Prints measured and predicted MiB and seconds per tile.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from common import ROOT, shared_dir, table, write_json

from tilestitch.tiling.sizing import calibrate, measure_peak_bytes


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="sr/realesr-animevideov3.pth")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--sizes", default="128,256,384,512,768,1024")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    try:
        import spandrel
    except ImportError:
        sys.exit("spandrel is not installed: run this with ComfyUI's Python (it ships spandrel)")
    shared = shared_dir()
    if shared is None:
        sys.exit("shared/data/weights not found (set TILESTITCH_SHARED)")
    desc = spandrel.ModelLoader().load_from_file(str(shared / "data" / "weights" / args.model))
    device = torch.device(args.device)
    desc.to(device).eval()

    def run(side, batch):
        x = torch.rand(batch, desc.input_channels, side, side, device=device)
        with torch.inference_mode():
            desc(x)

    model, samples = calibrate(run, device, (128, 192, 256))
    rows, result = [], []
    for side in (int(s) for s in args.sizes.split(",")):
        t = time.perf_counter()
        peak = measure_peak_bytes(lambda: run(side, 1), device)
        dt = time.perf_counter() - t
        pred = model.predict(side * side)
        rows.append([f"{side} x {side}", f"{peak / 2 ** 20:.0f}", f"{pred / 2 ** 20:.0f}", f"{pred / peak:.2f}", f"{dt:.2f}"])
        result.append({"side": side, "peak_bytes": peak, "predicted_bytes": pred, "seconds": dt})
    print(f"{desc.architecture.name} x{desc.scale} ({args.model}) on {device}; "
          f"model: {model.bytes_per_pixel:.0f} B/px + {model.fixed_bytes / 2 ** 20:.1f} MiB")
    print(table(rows, ["tile", "measured MiB", "predicted MiB", "predicted / measured", "seconds"]))
    write_json(args.json, {"bytes_per_pixel": model.bytes_per_pixel, "fixed_bytes": model.fixed_bytes, "rows": result})
    return {"rows": result}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "benchmarks"))
    main()
