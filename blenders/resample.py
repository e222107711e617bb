"""Resize images: the one place that chooses a resampling filter.

OpenCV works on ``[H, W, C<=4]`` float32 arrays and is multithreaded: Lanczos
(8x8) for enlarging, area averaging for shrinking (no aliasing), bilinear on
request. More channels are resized four at a time.
"""

from __future__ import annotations

import numpy as np
import torch

METHODS = ("auto", "lanczos", "area", "bilinear", "bicubic", "nearest")


def _cv2_flag(method: str, enlarging: bool) -> int:
    import cv2

    if method == "auto":
        method = "lanczos" if enlarging else "area"
    return {
        "lanczos": cv2.INTER_LANCZOS4,
        "area": cv2.INTER_AREA,
        "bilinear": cv2.INTER_LINEAR,
        "bicubic": cv2.INTER_CUBIC,
        "nearest": cv2.INTER_NEAREST,
    }[method]


def resize_hwc(img: np.ndarray, height: int, width: int, method: str = "auto") -> np.ndarray:
    """Resize one ``[H, W, C]`` float32 array to ``height x width``."""
    import cv2

    if method not in METHODS:
        raise ValueError(f"unknown resize method {method!r}; choose one of {', '.join(METHODS)}")
    h, w = img.shape[:2]
    if (h, w) == (height, width):
        return img.copy()
    flag = _cv2_flag(method, height * width > h * w)
    img = np.ascontiguousarray(img, dtype=np.float32)
    chunks = []
    for c0 in range(0, img.shape[2], 4):
        part = np.ascontiguousarray(img[:, :, c0 : c0 + 4])
        if part.shape[2] == 2:  # OpenCV takes 1, 3 or 4 channels
            res = np.stack([cv2.resize(part[:, :, k], (width, height), interpolation=flag) for k in range(2)], -1)
        else:
            res = cv2.resize(part, (width, height), interpolation=flag)
        chunks.append(res.reshape(height, width, -1))
    return np.concatenate(chunks, axis=2) if len(chunks) > 1 else chunks[0]


def resize_image(image: torch.Tensor, height: int, width: int, method: str = "auto") -> torch.Tensor:
    """Resize an IMAGE ``[B, H, W, C]`` (float, any channel count) to ``height x width``; CPU float32 out."""
    if image.shape[1:3] == (height, width):
        return image
    out = [torch.from_numpy(resize_hwc(im.detach().float().cpu().numpy(), height, width, method)) for im in image]
    return torch.stack(out)


def resize_mask(mask: torch.Tensor, height: int, width: int, method: str = "bilinear") -> torch.Tensor:
    """Resize a MASK ``[B, H, W]``."""
    if mask.shape[1:3] == (height, width):
        return mask
    return resize_image(mask.unsqueeze(-1), height, width, method)[..., 0]


def bilinear_rows(low: torch.Tensor, height: int, width: int, y0: int, y1: int) -> torch.Tensor:
    """Rows ``[y0, y1)`` of ``low`` ``[B, h, w]`` resized bilinearly to ``height x width``.

    Pixel centres are aligned (``align_corners=False``, edges clamped), so the
    strips put together equal ``F.interpolate(..., mode="bilinear")`` of the
    whole map, without ever holding it: ``[B, y1 - y0, width]`` float32 out.
    """
    b, h, w = low.shape
    low = low.float()
    ys = ((torch.arange(y0, y1, dtype=torch.float64) + 0.5) * (h / height) - 0.5).clamp(min=0.0)
    i0 = ys.floor().long().clamp(max=h - 1)
    i1 = (i0 + 1).clamp(max=h - 1)
    fy = (ys - i0.double()).float().view(1, -1, 1)
    rows = torch.lerp(low[:, i0], low[:, i1], fy)  # [B, n, w]
    return torch.nn.functional.interpolate(rows.unsqueeze(1), size=(y1 - y0, width), mode="bilinear", align_corners=False)[:, 0]
