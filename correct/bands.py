"""Frequency bands at full resolution: split and join, a band-by-band merge of two versions of a picture, detail energy.

Retouchers' frequency separation, on the low-pass Frequency Merge uses
(``frequency.lowpass_to``: an area average to ``1 / 2^k`` of the size, then
the 5-tap binomial blur of ``imaging/filters.py``; zero-phase, so a band
holds no shifted copy of a gradient). With ``L_0 = image`` and ``L_k`` that
low-pass at level ``k`` resized back to full size (bilinear, pixel centres
aligned),

* **bands** (``split_bands``): ``band_k = L_k - L_(k+1)`` for ``k < N`` (band 0
  the finest detail: pores, grain; band 1 texture; ...) and ``band_N = L_N``
  (the low frequencies: light and colour). They sum back to the image
  exactly up to float32 rounding (``join_bands``), and nothing is quantised.
* **band merge** (``band_merge``): two versions of the same picture (the
  original at full size, an edit at any size, e.g. a 1 MP relight made by an
  edit model) and a weight of the edit per band. Since the bands telescope,
  ``sum_k w_k edit_k + (1 - w_k) orig_k = orig + w_0 (E_0 - O) +
  sum_(k>=1) (w_k - w_(k-1)) (E_k - O_k)``, where ``E_k, O_k`` are the two
  pictures low-passed to level ``k`` — small images for every ``k >= 1``.
  So the merge is the original plus a few upsampled small differences,
  added in place in row chunks: no full-size band is ever built, and with
  every weight 0 the result is the original, bit for bit.
* **detail energy** (``detail_energy``): where the picture has fine detail
  (skin, hair, fabric) and where it is smooth (gradients, sky): the local
  RMS of the detail bands of L*, normalised to ``[0, 1]``.

Images are ``[H, W, C]`` float32 tensors (channels last) unless said otherwise.
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence

import torch

from ..imaging.filters import add_upsampled_, gaussian_blur
from ..imaging.resample import resize_hwc, resize_planar
from .frequency import level_size, lowpass_to

MAX_BANDS = 12


def _low(image: torch.Tensor, level: int, height: int, width: int) -> torch.Tensor:
    """``image`` (any size) low-passed to level ``level`` of a ``height x width`` picture: planar ``[C, h_k, w_k]``."""
    return lowpass_to(image.float().contiguous().numpy(), *level_size(height, width, level))[0]


def _check_levels(height: int, width: int, bands: int, what: str) -> None:
    if min(level_size(height, width, bands)) < 2 or min(height, width) < 2 ** bands:
        raise ValueError(f"{what} is {width} x {height} px: too small for {bands} bands (each band halves it)")


def check_bands(bands: int) -> int:
    if not 1 <= int(bands) <= MAX_BANDS:
        raise ValueError(f"bands must be between 1 and {MAX_BANDS} (detail bands; a low-frequency band is added), got {bands}")
    return int(bands)


def split_bands(image: torch.Tensor, bands: int) -> List[torch.Tensor]:
    """``bands + 1`` full-size band images ``[H, W, C]`` of ``image``, finest first, the low frequencies last."""
    bands = check_bands(bands)
    x = image.float()
    H, W = x.shape[:2]
    _check_levels(H, W, bands, "the image")
    ups = [resize_planar(_low(x, k, H, W)[None], H, W)[0].permute(1, 2, 0) for k in range(1, bands + 1)]
    out = [x - ups[0]]
    out += [(ups[k - 1] - ups[k]).contiguous() for k in range(1, bands)]
    out.append(ups[-1].contiguous())
    return out


def join_bands(bands: Sequence[torch.Tensor]) -> torch.Tensor:
    """The image the ``bands`` came from: their sum, accumulated in place (``[H, W, C]`` float32)."""
    out = bands[-1].float().clone()
    for b in reversed(bands[:-1]):
        out.add_(b.float())
    return out


def band_merge(original: torch.Tensor, edit: torch.Tensor, weights: Sequence[float], mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``original`` ``[H, W, C]`` with each band taken from ``edit`` ``[h, w, C]`` (any size) by ``weights``.

    ``weights[k]`` in ``[0, 1]`` is the edit's share of band ``k`` (finest
    first; the last weight is the low-frequency band's), as in
    ``split_bands(.., len(weights) - 1)``. The edit is resized to the
    original's size (Lanczos) only when the finest band takes some of it;
    the coarser bands come from its own pixels. Peak memory: the result plus
    small levels (plus the resized edit when ``weights[0] > 0``). ``mask``
    ``[H, W]`` in [0, 1]: where the merge applies (e.g. the finest band of a
    blemish-retouch model inside the skin only); elsewhere the original's
    pixels are kept exactly.
    """
    if original.ndim != 3 or edit.ndim != 3 or original.shape[-1] != edit.shape[-1]:
        raise ValueError(f"original and edit must be [H, W, C] images with the same channels, got {tuple(original.shape)} "
                         f"and {tuple(edit.shape)}")
    levels = check_bands(len(weights) - 1)
    if any(not 0.0 <= float(v) <= 1.0 for v in weights):
        raise ValueError(f"band weights must be in [0, 1], got {list(weights)}")
    H, W = original.shape[:2]
    _check_levels(H, W, levels, "the original")
    out = original.float().clone()
    w0 = float(weights[0])
    if w0 > 0:  # the finest band: the edit at full size (an edit of another size is resized once: one full-size copy)
        full = edit.float() if tuple(edit.shape[:2]) == (H, W) else torch.from_numpy(
            resize_hwc(edit.float().contiguous().numpy(), H, W, "lanczos"))
        for r0 in range(0, H, 512):
            out[r0 : r0 + 512].mul_(1 - w0).add_(full[r0 : r0 + 512], alpha=w0)
        del full
    for k in range(1, levels + 1):
        c = float(weights[k]) - float(weights[k - 1])
        if c != 0.0:
            add_upsampled_(out, _low(edit, k, H, W) - _low(original, k, H, W), c)
    if mask is not None:
        if tuple(mask.shape) != (H, W):
            raise ValueError(f"mask is {tuple(mask.shape)}, the original {H} x {W}")
        for r0 in range(0, H, 512):  # out = original + mask * (out - original), in row chunks; exact where mask is 0
            rows = slice(r0, r0 + 512)
            m = mask[rows].float().clamp(0, 1)[..., None]
            o = original[rows].float()
            out[rows] = torch.where(m > 0, o + m * (out[rows] - o), o)
    return out


def detail_energy(image: torch.Tensor, bands: int = 2, sigma: float = 4.0, quantile: float = 0.99) -> torch.Tensor:
    """Per pixel, how much fine detail surrounds it, in ``[0, 1]`` (``[H, W]`` float32).

    The local RMS (Gaussian ``sigma`` px) of the finest ``bands`` octaves of
    the image's luma (the luma minus its Gaussian blur of sigma ``2^(bands-1)``), divided by its ``quantile`` over the image and clipped: 1 on
    skin, hair and fabric, near 0 on smooth gradients and sky.
    """
    bands = check_bands(bands)
    x = image[..., :3].float()
    luma = (x * torch.tensor([0.2126, 0.7152, 0.0722])).sum(-1)[None, None]
    detail = luma - gaussian_blur(luma, 2.0 ** (bands - 1))  # the finest `bands` octaves
    energy = gaussian_blur(detail.square(), sigma)[0, 0].clamp_(min=0).sqrt_()
    sample = energy.flatten()[:: max(1, energy.numel() // 1_000_000)]
    scale = float(torch.quantile(sample, quantile)) if sample.numel() else 0.0
    return (energy / scale).clamp_(0, 1) if scale > 0 and math.isfinite(scale) else torch.zeros_like(energy)
