"""Shared benchmark helpers: timing, peak memory in a fresh process, the pack import."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from import_pack import import_pack, shared_dir  # noqa: E402,F401

import_pack()
from tilestitch.tiling import sizing  # noqa: E402  (the one place that reads /proc for memory)


def best_of(fn, repeat: int = 3) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs (after one warm-up run)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def paste(tiles, plan):
    """The paste floor: a new image with every tile copied in (later tiles over earlier ones), no blending."""
    import torch

    out = torch.empty((plan.batch, plan.height, plan.width, tiles.shape[-1]), dtype=tiles.dtype)
    for t in plan:
        out[:, t.y : t.y + t.height, t.x : t.x + t.width].copy_(tiles[t.index])
    return out


def rss_bytes() -> int:
    return sizing.rss_bytes()


def reset_peak_rss() -> None:
    """Restart the peak-RSS count at the current RSS (Linux: it survives fork and exec otherwise)."""
    try:
        sizing.reset_peak_rss()
    except OSError:
        pass


def peak_rss_bytes() -> int:
    """Peak RSS since start or since ``reset_peak_rss`` (VmHWM; ``ru_maxrss`` where there is none)."""
    try:
        return sizing.peak_rss_bytes()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_isolated(script: str, *args: str) -> dict:
    """Run ``python script args`` in a fresh process that prints one JSON line; return it."""
    out = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_json(path, result) -> None:
    """Write ``result`` to ``path`` as indented JSON (the scripts' ``--json`` option); nothing when ``path`` is empty."""
    if path:
        with open(path, "w") as f:
            json.dump(result, f, indent=2)


def table(rows, headers) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in rows)])
