"""Resize images, masks and latents: the one place that chooses a resampling filter.

``method``: ``auto`` (Lanczos when enlarging, area averaging when shrinking:
sharp up, no aliasing down), ``lanczos``, ``area``, ``bilinear``,
``bicubic``, ``nearest``. Pixel centres are aligned (``align_corners=False``
in torch terms) everywhere.

CPU float data goes through OpenCV (multithreaded; ``[H, W, C <= 4]`` at a
time, more channels four at a time). Tensors on another device (latents and
masks on the GPU) are resized there by torch, where Lanczos becomes bicubic.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

METHODS = ("auto", "lanczos", "area", "bilinear", "bicubic", "nearest")


def _method(method: str, enlarging: bool) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown resize method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "auto":
        return "lanczos" if enlarging else "area"
    return method


def _cv2_flag(method: str) -> int:
    import cv2

    return {"lanczos": cv2.INTER_LANCZOS4, "area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR,
            "bicubic": cv2.INTER_CUBIC, "nearest": cv2.INTER_NEAREST}[method]


def resize_hwc(img: np.ndarray, height: int, width: int, method: str = "auto") -> np.ndarray:
    """Resize one ``[H, W, C]`` (or ``[H, W]``) float array to ``height x width``; float32 out, same rank.

    A same-size request returns a float32 copy.
    """
    import cv2

    if height < 1 or width < 1:
        raise ValueError(f"cannot resize to {width} x {height} px")
    flat = img.ndim == 2
    if flat:
        img = img[:, :, None]
    h, w = img.shape[:2]
    flag = _cv2_flag(_method(method, height * width > h * w))
    if (h, w) == (height, width):
        out = np.array(img, dtype=np.float32)
        return out[:, :, 0] if flat else out
    img = np.ascontiguousarray(img, dtype=np.float32)
    chunks = []
    for c0 in range(0, img.shape[2], 4):
        part = np.ascontiguousarray(img[:, :, c0 : c0 + 4])
        if part.shape[2] == 2:  # OpenCV takes 1, 3 or 4 channels
            res = np.stack([cv2.resize(part[:, :, k], (width, height), interpolation=flag) for k in range(2)], -1)
        else:
            res = cv2.resize(part, (width, height), interpolation=flag)
        chunks.append(res.reshape(height, width, -1))
    out = np.concatenate(chunks, axis=2) if len(chunks) > 1 else chunks[0]
    return out[:, :, 0] if flat else out


def resize_planar(x: torch.Tensor, height: int, width: int, method: str = "bilinear") -> torch.Tensor:
    """Resize ``[N, C, H, W]`` (a LATENT's samples, pyramid levels, masks as ``[N, 1, H, W]``) on its own device.

    Returns ``x`` itself when the size already matches; keeps dtype and device.
    """
    if x.shape[-2:] == (height, width):
        return x
    if height < 1 or width < 1:
        raise ValueError(f"cannot resize to {width} x {height} px")
    m = _method(method, height * width > x.shape[-2] * x.shape[-1])
    if m == "lanczos":
        m = "bicubic"
    if m in ("bilinear", "bicubic"):
        return F.interpolate(x, size=(height, width), mode=m, align_corners=False)
    return F.interpolate(x, size=(height, width), mode=m)


def resize_image(image: torch.Tensor, height: int, width: int, method: str = "auto") -> torch.Tensor:
    """Resize an IMAGE ``[B, H, W, C]`` (float, any channel count) to ``height x width``.

    CPU tensors come back float32 on the CPU; others are resized on their device.
    Returns ``image`` itself when the size already matches.
    """
    if image.shape[1:3] == (height, width):
        return image
    if image.device.type != "cpu":
        return resize_planar(image.movedim(-1, 1), height, width, method).movedim(1, -1)
    out = [torch.from_numpy(resize_hwc(im.detach().float().numpy(), height, width, method)) for im in image]
    return torch.stack(out)


def resize_mask(mask: torch.Tensor, height: int, width: int, method: str = "bilinear") -> torch.Tensor:
    """Resize a MASK ``[B, H, W]`` (``mask`` itself when the size matches)."""
    if mask.shape[1:3] == (height, width):
        return mask
    return resize_image(mask.unsqueeze(-1), height, width, method)[..., 0]


def shrink_to_side(img: np.ndarray, max_side: int) -> np.ndarray:
    """``img`` ``[H, W, ...]`` area-shrunk so its longer side is at most ``max_side`` (itself when it already is)."""
    h, w = img.shape[:2]
    if max(h, w) <= max_side:
        return img
    s = max_side / max(h, w)
    return resize_hwc(img, max(1, round(h * s)), max(1, round(w * s)), "area")


def bilinear_rows(low: torch.Tensor, height: int, width: int, y0: int, y1: int) -> torch.Tensor:
    """Rows ``[y0, y1)`` of ``low`` ``[B, h, w]`` resized bilinearly to ``height x width``.

    Pixel centres are aligned (edges clamped), so the strips put together
    equal ``resize_planar(low, height, width)`` of the whole map, without
    ever holding it: ``[B, y1 - y0, width]`` float32 out.
    """
    b, h, w = low.shape
    low = low.float()
    ys = ((torch.arange(y0, y1, dtype=torch.float64) + 0.5) * (h / height) - 0.5).clamp(min=0.0)
    i0 = ys.floor().long().clamp(max=h - 1)
    i1 = (i0 + 1).clamp(max=h - 1)
    fy = (ys - i0.double()).float().view(1, -1, 1)
    rows = torch.lerp(low[:, i0], low[:, i1], fy)  # [B, n, w]
    return resize_planar(rows.unsqueeze(1), y1 - y0, width)[:, 0]

