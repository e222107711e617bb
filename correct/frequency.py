"""Frequency-aware merge: low frequencies from a global reference, high ones from the tiles.

Tiles processed one by one can agree at their seams and still drift as a
whole (a warmer tile, a brighter corner). A reference that saw the whole
image (the original, upscaled; or the global-context thumbnail) is right
about the low frequencies; the merged tiles are right about the detail.
The result keeps the merged image's detail coefficients and takes the
coarse approximation from the reference:

* ``wavelet``: a ``levels``-deep 2-D discrete wavelet transform (PyWavelets;
  smooth orthogonal wavelets such as sym4 / db4 — Haar leaves blocks); the
  approximation band of the image is replaced by the reference's.
* ``gaussian``: image and reference are both reduced to ``1 / 2^levels`` of
  the image size by the same low-pass (area average, then a 5-tap binomial
  blur) and the difference is expanded back bilinearly and added:
  ``image + up(low(ref) - low(image))``. This never builds a full-size copy
  of the reference, and a reference equal to the image changes nothing.

``levels`` defaults to what the reference can vouch for: with a reference
``s`` times smaller than the image, ``ceil(log2 s) + 1`` (one octave below
the reference's own Nyquist limit); 1 for a same-size reference.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch

from ..imaging.filters import add_upsampled_, binomial_blur
from ..imaging.resample import resize_hwc

WAVELETS = ("sym4", "db4", "sym8", "coif2", "db2")
METHODS = ("wavelet", "gaussian")
MIN_REFERENCE_SIDE = 8  # px: a smaller reference says little more than the mean colour
ASPECT_TOLERANCE = 0.02  # |log| of the aspect ratio between image and reference


def auto_levels(image_hw: tuple, reference_hw: tuple) -> int:
    s = max(image_hw[0] / reference_hw[0], image_hw[1] / reference_hw[1])
    return 1 if s <= 1.0 else int(math.ceil(math.log2(s))) + 1


def _approximation(x: np.ndarray, wavelet: str, levels: int) -> np.ndarray:
    """The level-``levels`` approximation band, dropping detail bands as soon as they are made."""
    import pywt

    for _ in range(levels):
        x, _details = pywt.dwt2(x, wavelet, mode="symmetric")
    return x


def _wavelet_swap(img: np.ndarray, ref: np.ndarray, wavelet: str, levels: int, strength: float) -> np.ndarray:
    """One channel ``[H, W]``: image details, reference approximation."""
    import pywt

    ci = pywt.wavedec2(img, wavelet, level=levels, mode="symmetric")
    ref_approx = _approximation(ref, wavelet, levels)
    ci[0] += strength * (ref_approx - ci[0])
    out = pywt.waverec2(ci, wavelet, mode="symmetric")
    return out[: img.shape[0], : img.shape[1]]


def frequency_merge(
    image: torch.Tensor,
    reference: torch.Tensor,
    *,
    method: str = "wavelet",
    wavelet: str = "sym4",
    levels: Optional[int] = None,
    strength: float = 1.0,
    progress: Optional[Callable[[int, int], None]] = None,
) -> torch.Tensor:
    """Low frequencies of ``reference``, high frequencies of ``image``.

    Args:
        image: IMAGE ``[B, H, W, C]`` float (the merged tiles).
        reference: IMAGE ``[B or 1, h, w, C]`` of any size (resized to ``image``; Lanczos up, area down).
        levels: octaves taken from the reference (``None``: from the size ratio).
        strength: 0 keeps ``image``, 1 takes the reference's low frequencies fully.
        progress: ``progress(done, total)`` after each image and channel.

    Returns:
        ``[B, H, W, C]`` float32.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if image.ndim != 4 or reference.ndim != 4:
        raise ValueError(f"image and reference must be IMAGE [B, H, W, C], got {tuple(image.shape)} and {tuple(reference.shape)}")
    if reference.shape[-1] != image.shape[-1]:
        raise ValueError(f"reference has {reference.shape[-1]} channels, the image {image.shape[-1]}")
    if reference.shape[0] not in (1, image.shape[0]):
        raise ValueError(f"reference has {reference.shape[0]} images for {image.shape[0]}; give one or one per image")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    b, h, w, c = image.shape
    rh, rw = reference.shape[1:3]
    if min(rh, rw) < MIN_REFERENCE_SIDE:
        raise ValueError(f"reference is {rw} x {rh} px: too small to hold the picture's low frequencies "
                         f"(at least {MIN_REFERENCE_SIDE} px a side)")
    if abs(math.log((rw / rh) / (w / h))) > ASPECT_TOLERANCE:
        raise ValueError(f"reference is {rw} x {rh} px, the image {w} x {h} px: not the same picture's aspect "
                         f"(more than {100 * ASPECT_TOLERANCE:g} % apart); give a reference of the whole image, uncropped")
    n = auto_levels((h, w), reference.shape[1:3]) if not levels else int(levels)
    max_levels = int(math.floor(math.log2(max(1, min(h, w))))) - 1
    n = max(1, min(n, max_levels)) if max_levels >= 1 else 0
    out = image.detach().float().cpu().clone()
    if n == 0 or strength == 0.0:
        return out
    steps = b * (c if method == "wavelet" else 1)
    for i in range(b):
        ref = reference[min(i, reference.shape[0] - 1)].detach().float().cpu().numpy()
        if method == "wavelet":
            if wavelet not in WAVELETS:
                raise ValueError(f"unknown wavelet {wavelet!r}; choose one of {', '.join(WAVELETS)}")
            for ch in range(c):  # one channel at a time: one full-size reference plane, not C
                ref_plane = resize_hwc(ref[:, :, ch : ch + 1], h, w)[:, :, 0]
                res = _wavelet_swap(out[i, :, :, ch].numpy(), ref_plane, wavelet, n, strength)
                del ref_plane
                out[i, :, :, ch] = torch.from_numpy(res.astype(np.float32, copy=False))
                if progress is not None:
                    progress(i * c + ch + 1, steps)
        else:
            lh, lw = level_size(h, w, n)
            img_low = lowpass_to(out[i].numpy(), lh, lw)
            ref_low = lowpass_to(ref, lh, lw)
            add_upsampled_(out[i], (ref_low - img_low)[0], strength)
            if progress is not None:
                progress(i + 1, steps)
    return out


def level_size(height: int, width: int, level: int) -> tuple:
    """The size of pyramid level ``level`` of a ``height x width`` picture (``1 / 2^level``, rounded, at least 1 px)."""
    return max(1, round(height / 2**level)), max(1, round(width / 2**level))


def lowpass_to(img: np.ndarray, height: int, width: int) -> torch.Tensor:
    """``[H, W, C]`` -> ``[1, C, height, width]``: area average, then a binomial blur."""
    small = torch.from_numpy(resize_hwc(img, height, width, "area")).permute(2, 0, 1)[None]
    return binomial_blur(small) if min(height, width) > 2 else small
