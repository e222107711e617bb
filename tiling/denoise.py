"""Tiled denoising in latent space: one model call per tile batch, x0 predictions blended.

The model is asked for its prediction tile by tile instead of on the whole
latent; the tiles' predictions of the clean latent (x0) are joined with a
partition-of-unity window, so every latent pixel's prediction is a convex
combination of the tiles that cover it. Re-noising by the sampler then works
on one coherent latent, and one VAE decode of the result gives a globally
coherent picture.

Everything here is a pure function of a ``predict`` callable

    predict(x_tiles [T*B, C, th, tw], tiles: list[Tile]) -> x0_tiles (or a list of them)

with the T tiles stacked tile-major (tile 1's B images, then tile 2's ...), so
it is tested with plain torch operators and wired into ComfyUI in ``nodes``.

Options:

* ``window``: ``cosine`` (raised cosine across overlaps), ``gaussian``
  (Mixture of Diffusers) or ``uniform`` (MultiDiffusion: a plain average).
* ``shift``: move every interior tile by up to half the overlap, a different
  amount at each noise level (SpotDiffusion-style, but no wrap-around: the
  outer tiles stay flush with the edges), so seams never stay in one place.
* ``adain``: move each tile's channel mean / std towards the global latent's
  at the same place, with a strength that fades with sigma (costs one
  pooling per tile and call).
* ``skip_residual``: mix the upsampled global latent into x0 in early steps
  (DemoFusion-style skip residual; one bilinear upsample per call).
* ``low_band``: frequency guidance (HiWave / FreeScale style): replace the
  low band of each tile's x0 prediction by the global latent's at that
  place, so tiles add detail but cannot drift in tone or layout. The band
  split is the global latent's own resolution: a tile's prediction is
  area-averaged to the global latent's pixel size and upsampled again
  (bilinear), and that low band is swapped for the upsampled global
  latent's; detail finer than the global latent is the tile's own.
  Strength fades with sigma like the other pulls (one bilinear upsample
  of the global latent per call, one area-average per tile).
  The target must be the low band *of a latent like the one sampled*: a
  VAE's latent of a downscaled picture is not the low band of the
  full-resolution latent (latents are not scale-equivariant: with the real
  FLUX.2 tiny autoencoder the two differ by ~80 % and swapping one in adds
  texture), so ``low_band_latent`` takes a full-resolution latent (the one
  an img2img sampler starts from) area-averaged to a coarse grid, which is
  what the tests measure with a real VAE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Union

import torch

from ..imaging.resample import resize_planar
from .axis import AxisGrid
from .compose import compose
from .layout import LATENT
from .plan import Tile, TilePlan, plan_by_tile_size

#: the blend names Tiled Denoise and the SANA sampler offer -> ``tiling.windows`` kinds
DENOISE_WINDOWS = {"cosine": "cosine", "mixture_of_diffusers": "gaussian", "multidiffusion": "uniform"}
Predict = Callable[[torch.Tensor, List[Tile]], Union[torch.Tensor, Sequence[torch.Tensor]]]
Progress = Optional[Callable[[int, int], None]]
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def latent_plan(height: int, width: int, tile_height: int, tile_width: int, overlap: int, align: int, batch: int = 1) -> TilePlan:
    """The tile grid over a ``height x width`` latent, with errors in the model's terms."""
    if height % align or width % align:
        raise ValueError(
            f"the latent is {width} x {height}, not a multiple of the model's patch size {align}; "
            f"use an image whose size is a multiple of {align} latent pixels ({8 * align} px for an 8x VAE)"
        )
    if min(tile_height, tile_width) < align:
        raise ValueError(f"tiles of {tile_width} x {tile_height} latent px are smaller than the model's patch size {align}")
    return plan_by_tile_size(height, width, tile_height, tile_width, overlap, align, batch)


def shift_amount(sigma: float, salt: int, limit: int, align: int) -> int:
    """A shift in ``(-limit, limit)``, a multiple of ``align``, spread evenly over noise levels."""
    steps = max(0, (limit - 1) // align)
    if steps == 0:
        return 0
    u = ((float(sigma) * 1e4 + salt) * GOLDEN) % 1.0
    return align * int(round((2 * u - 1) * steps))


def _shift_axis(grid: AxisGrid, delta: int) -> AxisGrid:
    if grid.count < 3 or delta == 0:
        return grid
    starts = [grid.starts[0]] + [s + delta for s in grid.starts[1:-1]] + [grid.starts[-1]]
    return AxisGrid(grid.length, grid.tile, tuple(starts))


def shifted_plan(plan: TilePlan, sigma: float) -> TilePlan:
    """``plan`` with its interior tiles moved by a sigma-dependent amount, less than half the overlap.

    The outer tiles stay flush (no wrap-around); every overlap keeps more
    than half its width, so coverage is never lost.
    """
    def limit(grid: AxisGrid) -> int:
        return min(grid.overlaps) // 2 if grid.count >= 3 else 0

    dy = shift_amount(sigma, 1, limit(plan.rows_axis), plan.align)
    dx = shift_amount(sigma, 2, limit(plan.cols_axis), plan.align)
    return TilePlan(_shift_axis(plan.rows_axis, dy), _shift_axis(plan.cols_axis, dx), plan.overlap, plan.align, plan.batch)


def adain_towards(x0: torch.Tensor, reference: torch.Tensor, strength: float) -> torch.Tensor:
    """Move ``x0`` ``[N, C, h, w]``'s channel mean / std towards ``reference`` ``[N or 1, C, rh, rw]``.

    The statistics are compared at the reference's resolution (so detail the
    reference cannot see is not flattened); ``strength`` 0..1.
    """
    if strength <= 0:
        return x0
    small = resize_planar(x0, *reference.shape[-2:], "area")
    mu_x, sd_x = small.mean(dim=(2, 3), keepdim=True), small.std(dim=(2, 3), keepdim=True)
    mu_r, sd_r = reference.mean(dim=(2, 3), keepdim=True), reference.std(dim=(2, 3), keepdim=True)
    ratio = (sd_r / sd_x.clamp(min=1e-5)).clamp(0.5, 2.0)
    gain = 1 + strength * (ratio - 1)
    return (x0 - mu_x) * gain + mu_x + strength * (mu_r - mu_x)


def replace_low_band(x0: torch.Tensor, reference_up: torch.Tensor, scale: float, strength: float) -> torch.Tensor:
    """``x0`` ``[N, C, h, w]`` with its low band moved towards ``reference_up``'s (``[N or 1, C, h, w]``, already smooth).

    The low band is ``x0`` area-averaged by ``1 / scale`` (the reference's own
    pixel size, ``scale`` = reference px per latent px) and upsampled back;
    ``strength`` 0..1 of it is replaced: ``x0 + strength * (reference_up - low(x0))``.
    """
    h, w = x0.shape[-2:]
    low = resize_planar(resize_planar(x0, max(1, round(h * scale)), max(1, round(w * scale)), "area"), h, w)
    return x0 + strength * (reference_up - low)


def low_band_grid(latent: torch.Tensor, tile_height: int, tile_width: int) -> torch.Tensor:
    """A full-resolution latent ``[B, C, H, W]`` area-averaged to a coarse grid of a sixth of a tile per cell: frequency
    guidance's target, below the scale at which tiles drift (a tile's own offset and gain) and above their detail."""
    f = max(1, min(tile_height, tile_width) // 6)
    h, w = latent.shape[-2:]
    return resize_planar(latent.float(), max(1, round(h / f)), max(1, round(w / f)), "area")


def crop_global(global_latent: torch.Tensor, tile: Tile, height: int, width: int) -> torch.Tensor:
    """The part of a low-resolution global latent ``[B, C, gh, gw]`` under ``tile`` of a ``height x width`` latent (at least 1 x 1)."""
    gh, gw = global_latent.shape[-2:]
    y0, y1 = int(tile.y * gh / height), max(int(tile.y * gh / height) + 1, round((tile.y + tile.height) * gh / height))
    x0, x1 = int(tile.x * gw / width), max(int(tile.x * gw / width) + 1, round((tile.x + tile.width) * gw / width))
    return global_latent[..., y0:y1, x0:x1]


@dataclass
class GlobalGuidance:
    """Optional pulls towards the global latent (all 0 = off): ``adain``, ``skip_residual``, ``low_band`` (see the module docstring).

    ``latent`` is the whole image's latent in the model's space ``[1 or B, C, gh, gw]`` (needed by ``adain`` and
    ``skip_residual``); ``low_band_latent`` (optional, same layout) a full-resolution latent area-averaged to a coarse
    grid, the low band's target when given;
    ``sigma_max`` the sigma at which the pulls are at full strength (the first
    call's sigma is used when it is None).
    """

    latent: Optional[torch.Tensor]
    adain: float = 0.0
    skip_residual: float = 0.0
    low_band: float = 0.0
    sigma_max: Optional[float] = None
    low_band_latent: Optional[torch.Tensor] = None  # the low band's target when given (coarse, consistent); else ``latent``

    @property
    def low_target(self) -> Optional[torch.Tensor]:
        return self.low_band_latent if self.low_band_latent is not None else self.latent

    def weight(self, sigma: float) -> float:
        if self.sigma_max is None or self.sigma_max <= 0:
            self.sigma_max = float(sigma)
        return max(0.0, min(1.0, float(sigma) / self.sigma_max)) if self.sigma_max > 0 else 0.0


def tiled_predict(
    predict: Predict,
    x: torch.Tensor,
    plan: TilePlan,
    *,
    window: str = "cosine",
    margin: int = 0,
    tile_batch_size: int = 1,
    sigma: Optional[float] = None,
    guidance: Optional[GlobalGuidance] = None,
    progress: Progress = None,
):
    """The blended x0 prediction for latent ``x`` ``[B, C, H, W]``, asking ``predict`` tile batch by tile batch.

    Returns a tensor like ``x`` (or a list of them when ``predict`` returns a
    list, e.g. one per conditioning). ``plan`` must be for ``H x W``; its
    ``batch`` is ignored (``B`` comes from ``x``).
    """
    if x.ndim != 4 or (x.shape[2], x.shape[3]) != (plan.height, plan.width):
        raise ValueError(f"latent is {tuple(x.shape)}, the tile plan is for {plan.height} x {plan.width}")
    if tile_batch_size < 1:
        raise ValueError(f"tile_batch_size must be >= 1, got {tile_batch_size}")
    b, n = x.shape[0], plan.count
    th, tw = plan.tile_height, plan.tile_width
    pull = 0.0 if guidance is None or sigma is None else guidance.weight(sigma)
    global_up = None
    if guidance is not None and guidance.low_band > 0 and pull > 0:  # the low band's target over the whole latent, once per call
        global_up = resize_planar(guidance.low_target.to(x), *x.shape[-2:])
    buffers: Optional[List[torch.Tensor]] = None
    single = True
    for start in range(0, n, tile_batch_size):
        tiles = list(plan.tiles[start : start + tile_batch_size])
        x_tiles = torch.cat([LATENT.crop(x, t.y, t.x, t.height, t.width) for t in tiles])
        out = predict(x_tiles, tiles)
        if isinstance(out, torch.Tensor):
            outs = [out]
        else:
            single, outs = False, list(out)
        if buffers is None:
            buffers = [torch.empty((b, n, o.shape[1], th, tw), dtype=o.dtype, device=o.device) for o in outs]
        for o, buf in zip(outs, buffers):
            if tuple(o.shape) != (len(tiles) * b, o.shape[1], th, tw):
                raise ValueError(f"the model returned {tuple(o.shape)} for {len(tiles)} tiles of {tw} x {th} (batch {b})")
            for i, t in enumerate(tiles):
                part = o[i * b : (i + 1) * b]
                if guidance is not None and guidance.adain > 0 and pull > 0:
                    part = adain_towards(part, crop_global(guidance.latent.to(part), t, plan.height, plan.width), guidance.adain * pull)
                if global_up is not None:
                    part = replace_low_band(part, LATENT.crop(global_up, t.y, t.x, t.height, t.width).to(part),
                                            guidance.low_target.shape[-2] / plan.height, guidance.low_band * pull)
                buf[:, t.index] = part
        if progress is not None:
            progress(min(start + tile_batch_size, n), n)
    merged = [compose(buf.view(b * n, *buf.shape[2:]), plan.with_batch(b), window, margin=margin, layout=LATENT) for buf in buffers]
    if guidance is not None and guidance.skip_residual > 0 and pull > 0:
        w = guidance.skip_residual * pull
        up = resize_planar(guidance.latent.to(merged[0]), *x.shape[-2:])
        merged = [m.lerp_(up.expand_as(m), w) for m in merged]
    return merged[0] if single else merged
