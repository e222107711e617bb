"""Read image files as float RGB(A) in [0, 1], keeping their full bit depth."""

from __future__ import annotations

import os

import numpy as np
import torch


def read_image(path: str, max_side: int | None = None) -> np.ndarray:
    """Read an 8/16-bit or float image file.

    Returns:
        ``[H, W, C]`` float32 in ``[0, 1]`` (float files as stored), channels
        RGB or RGBA (grey files give ``C = 1``). ``max_side`` downsizes with
        area averaging so the longer side is at most that.
    """
    import cv2

    if not os.path.isfile(path):
        raise FileNotFoundError(f"no image file at {path}")
    raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise ValueError(f"OpenCV cannot read {path} as an image")
    if raw.dtype == np.uint8:
        img = raw.astype(np.float32) / 255.0
    elif raw.dtype == np.uint16:
        img = raw.astype(np.float32) / 65535.0
    else:
        img = raw.astype(np.float32)
    if img.ndim == 2:
        img = img[:, :, None]
    elif img.shape[2] == 3:
        img = img[:, :, ::-1]
    elif img.shape[2] == 4:
        img = img[:, :, [2, 1, 0, 3]]
    if max_side is not None and max(img.shape[:2]) > max_side:
        s = max_side / max(img.shape[:2])
        size = (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s)))
        img = cv2.resize(np.ascontiguousarray(img), size, interpolation=cv2.INTER_AREA)
        if img.ndim == 2:
            img = img[:, :, None]
    return np.ascontiguousarray(img)


def to_image_tensor(img: np.ndarray) -> torch.Tensor:
    """``[H, W, C]`` array -> ComfyUI IMAGE ``[1, H, W, C]`` float32."""
    return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).unsqueeze(0)
