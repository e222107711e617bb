"""How large a tile (and how many per batch) fits in the memory a device has free.

A model's peak memory on a ``side x side`` tile batch is close to affine in the
number of pixels it is given::

    peak(pixels, batch) = fixed + bytes_per_pixel * pixels * batch

``bytes_per_pixel`` covers activations, the output (``scale^2`` as many
pixels) and workspaces; ``fixed`` covers what does not grow with the tile.
Both are measured, not guessed: ``calibrate`` runs the model on a few small
tiles and records the peak each one adds (``measure_peak_bytes``), and
``fit_memory_model`` fits the line, rounding towards the safe side.
``choose_tile`` then takes the largest aligned tile, then the largest batch,
whose predicted peak stays under the free memory less a safety margin.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import torch


@dataclass(frozen=True)
class MemorySample:
    """One probe: ``batch`` tiles of ``pixels`` each raised the peak by ``peak_bytes``."""

    pixels: int
    batch: int
    peak_bytes: int


@dataclass(frozen=True)
class MemoryModel:
    """``peak = fixed_bytes + bytes_per_pixel * pixels * batch`` (pixels of one input tile)."""

    fixed_bytes: float
    bytes_per_pixel: float

    def predict(self, pixels: int, batch: int = 1) -> float:
        return self.fixed_bytes + self.bytes_per_pixel * pixels * batch


def fit_memory_model(samples: Sequence[MemorySample]) -> MemoryModel:
    """A line that lies on or above every sample and does not fall below them when extrapolated.

    The slope is the larger of the least-squares slope and the largest
    sample's bytes per pixel (which includes its share of the fixed cost, so
    it is never below the true slope when that cost is positive); the
    intercept is then raised until no sample lies above the line. Noise on a
    small probe (a stray MiB) thus raises the intercept instead of flattening
    the slope, and predictions for tiles larger than the probes err on the
    safe side. Raises ValueError with no samples.
    """
    if not samples:
        raise ValueError("no memory samples to fit")
    xs = [s.pixels * s.batch for s in samples]
    ys = [float(s.peak_bytes) for s in samples]
    largest = max(range(len(xs)), key=lambda i: xs[i])
    slope = ys[largest] / xs[largest]
    if len(set(xs)) >= 2:
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = max(slope, sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs))
    fixed = max(0.0, max(y - slope * x for x, y in zip(xs, ys)))
    return MemoryModel(fixed, slope)


@dataclass(frozen=True)
class TileChoice:
    """The tile and batch that fit, and the numbers behind them."""

    tile: int
    batch: int
    predicted_bytes: int
    budget_bytes: int
    free_bytes: int
    model: MemoryModel

    def describe(self) -> str:
        gib = 1024 ** 3
        return (
            f"tile {self.tile} x {self.tile} px, batch {self.batch}: predicted peak {self.predicted_bytes / gib:.2f} GiB "
            f"of a {self.budget_bytes / gib:.2f} GiB budget ({self.free_bytes / gib:.2f} GiB free); "
            f"model {self.model.bytes_per_pixel:.0f} B/px + {self.model.fixed_bytes / 2 ** 20:.0f} MiB"
        )


def choose_tile(
    model: MemoryModel,
    free_bytes: int,
    *,
    safety: float = 0.25,
    reserved_bytes: int = 0,
    align: int = 8,
    min_tile: int = 64,
    max_tile: int = 1024,
    max_batch: int = 16,
    tiles_needed: Optional[Callable[[int], int]] = None,
) -> TileChoice:
    """Largest aligned square tile, then largest batch, predicted to fit.

    Args:
        model: from ``fit_memory_model``.
        free_bytes: what the device has free now.
        safety: fraction of ``free_bytes`` kept back (fragmentation, other work).
        reserved_bytes: memory that will be taken before the tiles run (the
            model's weights when they are not on the device yet).
        align: tile sides are multiples of this.
        min_tile, max_tile: bounds on the side (max: what the model is meant for).
        max_batch: upper bound on the batch.
        tiles_needed: ``side -> number of tiles`` for the image, to cap the batch.

    Raises:
        ValueError naming the numbers when not even ``min_tile`` fits.
    """
    if not 0 <= safety < 1:
        raise ValueError(f"safety must be in [0, 1), got {safety}")
    if align < 1 or min_tile < 1 or max_tile < min_tile or max_batch < 1:
        raise ValueError(f"invalid bounds: align {align}, min_tile {min_tile}, max_tile {max_tile}, max_batch {max_batch}")
    budget = int(free_bytes * (1 - safety)) - int(reserved_bytes)
    top = max(align, max_tile - max_tile % align)
    low = max(align, math.ceil(min_tile / align) * align)
    side = None
    if model.bytes_per_pixel > 0:
        fit = math.floor(math.sqrt(max(0.0, budget - model.fixed_bytes) / model.bytes_per_pixel))
        side = min(top, fit - fit % align)
    else:
        side = top if model.fixed_bytes <= budget else 0
    if side < low or model.predict(side * side) > budget:
        gib = 1024 ** 3
        raise ValueError(
            f"not even a {low} x {low} px tile fits: budget {budget / gib:.2f} GiB "
            f"({free_bytes / gib:.2f} GiB free, {safety:.0%} kept back, {reserved_bytes / gib:.2f} GiB for weights); "
            f"the model needs {model.predict(low * low) / gib:.2f} GiB there. Free memory, lower min_tile or use the CPU"
        )
    per_tile = model.bytes_per_pixel * side * side
    batch = max_batch if per_tile <= 0 else int((budget - model.fixed_bytes) // per_tile)
    batch = max(1, min(batch, max_batch))
    if tiles_needed is not None:
        batch = max(1, min(batch, int(tiles_needed(side))))
    return TileChoice(side, batch, int(model.predict(side * side, batch)), budget, int(free_bytes), model)


AUTO_SAFETY = 0.25  # share of the free memory an automatic batch keeps back (fragmentation, other work)


def largest_batch(bytes_for: Callable[[int], float], free_bytes: int, *, safety: float = AUTO_SAFETY, upper: int = 64) -> int:
    """The largest batch ``n <= upper`` whose estimate ``bytes_for(n)`` fits ``free_bytes`` less the ``safety`` share (at least 1).

    ``bytes_for`` is any monotone estimate: ComfyUI's ``memory_required`` for a
    diffusion model at a tile batch's shape, or a ``MemoryModel`` fitted to probes.
    """
    if not 0 <= safety < 1:
        raise ValueError(f"safety must be in [0, 1), got {safety}")
    budget = free_bytes * (1 - safety)
    n = 1
    while n < upper and bytes_for(n + 1) <= budget:
        n += 1
    return n


def probe_batches(run: Callable[[int], object], device: torch.device, batches: Sequence[int] = (1, 2)) -> MemoryModel:
    """Fit ``peak = fixed + per_item * batch`` to ``run(batch)`` measured at ``batches`` (for models with no estimate of their own)."""
    with mapped_allocations():
        run(batches[0])  # one-off allocations first
        samples = [MemorySample(1, b, measure_peak_bytes(lambda b=b: run(b), device)) for b in batches]
    return fit_memory_model(samples)


# -- measuring ---------------------------------------------------------------
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _glibc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def rss_bytes() -> int:
    """This process's resident set size now (Linux ``/proc``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """This process's peak resident set size (``VmHWM``) since start or the last ``reset_peak_rss``."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> None:
    """Restart the peak-RSS count at the current RSS (raises OSError where the kernel does not allow it)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def cpu_peak_supported() -> Tuple[bool, str]:
    """Whether this process can measure its own peak RSS (Linux, writable ``clear_refs``)."""
    try:
        reset_peak_rss()
        peak_rss_bytes()
    except OSError as e:
        return False, f"cannot reset the peak RSS counter ({e})"
    return True, ""


_mapped_depth = 0


@contextlib.contextmanager
def mapped_allocations():
    """While inside, glibc maps every allocation of 64 KiB or more on its own and unmaps it on free.

    Freed blocks then cannot be reused unseen, so the kernel's peak-RSS counter
    sees every allocation (without this, a probe after another can appear to
    take no memory). On leaving, the thresholds go to glibc's dynamic maxima
    (32 MiB mapped, 64 MiB trim), close to where a long-running process settles
    anyway. Re-entrant; a no-op without glibc.
    """
    global _mapped_depth
    libc = _glibc()
    if libc is not None and _mapped_depth == 0:
        libc.mallopt(_M_MMAP_THRESHOLD, 64 * 1024)
        libc.mallopt(_M_TRIM_THRESHOLD, 0)
    _mapped_depth += 1
    try:
        yield
    finally:
        _mapped_depth -= 1
        if libc is not None and _mapped_depth == 0:
            libc.mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)
            libc.mallopt(_M_TRIM_THRESHOLD, 64 * 1024 * 1024)


def measure_peak_bytes(fn: Callable[[], object], device: torch.device) -> int:
    """Memory ``fn()`` takes at its peak on ``device``, above what was in use before.

    CUDA: the caching allocator's peak statistics. CPU: the kernel's peak-RSS
    counter, reset before the call, with ``mapped_allocations`` in force and
    the heap's free pages handed back first (``malloc_trim``), so that blocks
    freed by earlier work show up again when ``fn`` reuses them.
    Raises RuntimeError when the CPU counter is not available.
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return max(0, torch.cuda.max_memory_allocated(device) - before)
    ok, why = cpu_peak_supported()
    if not ok:
        raise RuntimeError(f"cannot measure CPU memory: {why}")
    libc = _glibc()
    with mapped_allocations():
        if libc is not None:
            libc.malloc_trim(0)  # free heap pages leave RSS: reusing them shows again
        reset_peak_rss()
        before = rss_bytes()
        fn()
        return max(0, peak_rss_bytes() - before)


def calibrate(run: Callable[[int, int], object], device: torch.device, sides: Sequence[int] = (128, 192, 256),
              batch: int = 1, repeats: int = 3) -> Tuple[MemoryModel, Tuple[MemorySample, ...]]:
    """Measure ``run(side, batch)`` (a model call on a ``batch x side x side`` tile) at a few sides and fit.

    The smallest side runs once unmeasured first (one-off allocations: kernels,
    weight repacking, thread pools); each side is then measured ``repeats``
    times and the largest peak kept: in a long-running process a CPU probe
    can still land on pages the heap kept resident and count short, and
    an estimate that errs must err high.
    """
    sides = sorted(set(int(s) for s in sides))
    if not sides or sides[0] < 1:
        raise ValueError(f"probe sides must be positive, got {sides}")
    with mapped_allocations():  # from the warm-up on, so nothing it frees is reused unseen
        run(sides[0], 1)
        samples = tuple(
            MemorySample(s * s, batch, max(measure_peak_bytes(lambda s=s: run(s, batch), device) for _ in range(max(1, repeats))))
            for s in sides
        )
    return fit_memory_model(samples), samples
