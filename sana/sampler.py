"""Tiled flow-matching sampling for SANA: refine or regenerate a latent larger than the model's native size.

SANA is a rectified-flow model: with ``x_s = (1 - s) x0 + s n`` (noise ``n``)
its transformer predicts the velocity ``v = n - x0`` from ``x_s`` and the
timestep ``1000 s``. So ``x0 = x_s - s v``, and one deterministic Euler step
from ``s`` to ``s'`` is

    x_s' = (1 - s') x0 + s' (x_s - (1 - s) x0) / s.

Every step asks the transformer for ``x0`` tile by tile
(``tiling.denoise.tiled_predict``: partition-of-unity blending of the
tiles' x0, optionally moving interior tiles per step) and takes the Euler
step on the whole latent, so tiles share one coherent latent at every noise
level. Classifier-free guidance runs negative and positive in one batch.

The noise schedule is SANA's: ``s`` evenly spaced from 1 to 0, shifted by
``shift * s / (1 + (shift - 1) s)`` (``flow_shift`` of the release); a
refine with ``denoise < 1`` runs the last ``steps`` of a ``steps / denoise``
schedule, starting from the input latent noised to that level.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from ..imaging.resample import resize_planar
from ..tiling.denoise import GlobalGuidance, latent_plan, shifted_plan, tiled_predict
from ..tiling.sizing import AUTO_SAFETY, largest_batch, probe_batches
from .models import SanaModels
from .prompt import SanaPrompt

Progress = Optional[Callable[[int, int], None]]
TIMESTEPS = 1000.0


def flow_sigmas(steps: int, denoise: float = 1.0, shift: float = 3.0) -> torch.Tensor:
    """``steps + 1`` noise levels from the start level down to 0 (float64), SANA's shifted schedule."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if not 0 < denoise <= 1:
        raise ValueError(f"denoise must be in (0, 1], got {denoise}")
    if shift <= 0:
        raise ValueError(f"shift must be positive, got {shift}")
    total = max(steps, int(steps / denoise))
    s = torch.linspace(1.0, 0.0, total + 1, dtype=torch.float64)
    s = shift * s / (1 + (shift - 1) * s)
    return s[-(steps + 1):]


def euler_step(x: torch.Tensor, x0: torch.Tensor, sigma: float, sigma_next: float) -> torch.Tensor:
    """From ``x`` at level ``sigma`` with clean estimate ``x0`` to level ``sigma_next`` (in place on ``x``)."""
    if sigma_next <= 0:
        return x0
    if sigma <= 0:
        raise ValueError("cannot step from noise level 0")
    # x' = (1 - s') x0 + s' (x - (1 - s) x0) / s  ==  (s'/s) x + (1 - s'/s) x0
    r = sigma_next / sigma
    return x.mul_(r).add_(x0, alpha=1 - r)


def velocity_predictor(models: SanaModels, prompt: SanaPrompt, cfg: float):
    """``predict(x [n, C, h, w], sigma) -> x0`` through the transformer, with classifier-free guidance when ``cfg != 1``."""
    tr = models.transformer
    scale = float(getattr(tr.config, "timestep_scale", 1.0) or 1.0)

    def predict(x: torch.Tensor, sigma: float) -> torch.Tensor:
        n, c = x.shape[0], x.shape[1]
        guided = cfg != 1.0
        if guided:
            emb, mask = prompt.pair(n, models.device, models.dtype)
            inp = torch.cat([x, x])
        else:
            emb, mask = prompt.positive(n, models.device, models.dtype)
            inp = x
        t = torch.full((inp.shape[0],), sigma * TIMESTEPS * scale, device=models.device, dtype=models.dtype)
        v = tr(inp.to(models.device, models.dtype), encoder_hidden_states=emb, encoder_attention_mask=mask,
               timestep=t, return_dict=False)[0].float()
        if v.shape[1] == 2 * c:  # learned-sigma heads: the first half is the prediction
            v = v[:, :c]
        if guided:
            v_neg, v_pos = v.chunk(2)
            v = v_neg.add_(v_pos - v_neg, alpha=cfg)
        return x.to(v) - sigma * v

    return predict


def auto_tile_batch(predict, x: torch.Tensor, plan, sigma: float, free_bytes: Optional[Callable[[], int]]) -> int:
    """The most tiles per transformer call that fit: a line fitted to probes of one and two tiles against free memory."""
    if free_bytes is None or plan.count == 1:
        return 1
    t = plan.tiles[0]
    crop = x[..., t.y : t.y + t.height, t.x : t.x + t.width]
    model = probe_batches(lambda n: predict(crop.repeat(n, 1, 1, 1), sigma), x.device)
    return largest_batch(lambda n: model.predict(1, n), free_bytes(), safety=AUTO_SAFETY, upper=plan.count)


def sample_tiled(
    models: SanaModels,
    latent: torch.Tensor,
    prompt: SanaPrompt,
    *,
    seed: int = 0,
    steps: int = 20,
    cfg: float = 4.5,
    denoise: float = 1.0,
    shift: Optional[float] = None,
    tile: int = 32,
    overlap: int = 8,
    tile_batch_size: int = 2,
    window: str = "cosine",
    move_tiles: bool = False,
    frequency_guidance: float = 0.0,
    progress: Progress = None,
    free_bytes: Optional[Callable[[], int]] = None,
) -> torch.Tensor:
    """Sample SANA over ``latent`` ``[B, C, h, w]`` (scaled, any device) tile by tile; returns the result on the CPU.

    ``tile`` / ``overlap`` are in latent pixels (32 = 1024 px, SANA 1024's
    native size). ``denoise`` 1 starts from pure noise; below 1 it refines
    ``latent``. The noise comes from a CPU generator seeded with ``seed``, so
    results do not depend on the device. ``tile_batch_size`` 0 measures the
    transformer on one and two tiles (the model has no memory estimate of
    its own) and takes the most tiles per call that ``free_bytes()`` allows.
    ``frequency_guidance`` (0..1, fading with sigma) keeps each tile's low
    band on the input latent's, seen at one tile's resolution for the whole
    latent (``tiling.denoise``'s ``low_band``): the refined tiles add detail
    but cannot drift from the input's tone and layout.
    """
    if latent.ndim != 4 or latent.shape[1] != models.latent_channels:
        raise ValueError(f"a SANA latent is [batch, {models.latent_channels}, h, w]; got {tuple(latent.shape)} "
                         f"(encode the image with SANA VAE Encode)")
    sigmas = flow_sigmas(steps, denoise, models.flow_shift if shift is None else shift).tolist()
    b, c, h, w = latent.shape
    plan = latent_plan(h, w, min(tile, h), min(tile, w), min(overlap, max(0, min(tile, h, w) - 1)), models.patch_size, b)
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(int(seed)), dtype=torch.float32)
    s0 = sigmas[0]
    x = (latent.float().cpu() * (1 - s0) + noise * s0).to(models.device)
    del noise
    predict = velocity_predictor(models, prompt, cfg)
    per_step = plan.count
    guidance = None
    if frequency_guidance > 0:  # the input as one model call would see the whole of it: its longer side one tile
        f = min(1.0, tile / max(h, w))
        small = resize_planar(latent.float().cpu(), max(1, round(h * f)), max(1, round(w * f)), "area")
        guidance = GlobalGuidance(small.to(models.device), low_band=frequency_guidance, sigma_max=s0)
    with models.on_device(models.transformer), torch.inference_mode():
        if tile_batch_size == 0:
            tile_batch_size = auto_tile_batch(predict, x, plan, s0, free_bytes)
        for i, (s, s_next) in enumerate(zip(sigmas[:-1], sigmas[1:])):
            def tile_progress(done: int, of: int, _i=i) -> None:
                if progress is not None:
                    progress(_i * per_step + done, steps * per_step)

            if plan.count == 1:
                x0 = predict(x, s)
                tile_progress(1, 1)
            else:
                p = shifted_plan(plan, s) if move_tiles else plan
                x0 = tiled_predict(lambda xt, tiles, _s=s: predict(xt, _s), x, p, window=window,
                                   tile_batch_size=tile_batch_size, sigma=s, guidance=guidance, progress=tile_progress)
            x = euler_step(x, x0, s, s_next)
    return x.cpu()
