"""Read and write photos at full bit depth (8/16-bit PNG, 8/16-bit and float TIFF, JPEG & co. 8-bit).

Pixels come in as ``[H, W, C]`` float32 exactly equal to ``code / (2^bits - 1)``
(floats as stored) and go out by rounding ``value * (2^bits - 1)``: a 16-bit
file read and written back is bit-identical, with its ICC profile, EXIF, XMP,
DPI and text kept. No colour management is applied: the profile travels with
the pixels unchanged. No ComfyUI imports here.
"""

from __future__ import annotations

import os
from typing import Optional, Tuple

import numpy as np
import torch

from .meta import ImageMeta
from .png import read_png, write_png
from .tiff import read_tiff, write_tiff

#: what ``write_image`` can produce: name -> (extension, description)
OUTPUT_FORMATS = {
    "png16": (".png", "PNG, 16 bits per sample"),
    "png8": (".png", "PNG, 8 bits per sample"),
    "tiff16": (".tif", "TIFF, 16-bit integer"),
    "tiff8": (".tif", "TIFF, 8-bit integer"),
    "tiff_float32": (".tif", "TIFF, 32-bit float (values kept as they are, even outside 0..1)"),
    "tiff_float16": (".tif", "TIFF, 16-bit float"),
}
READ_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp", ".bmp")


def to_float(pixels: np.ndarray) -> np.ndarray:
    """Integer codes -> float32 in [0, 1] (``code / max``); floats pass through as float32."""
    if pixels.dtype.kind == "f":
        return pixels.astype(np.float32, copy=False)
    top = float(np.iinfo(pixels.dtype).max)
    return (pixels.astype(np.float64) / top).astype(np.float32)


def from_float(image: np.ndarray, dtype) -> np.ndarray:
    """Float ``[H, W, C]`` -> ``dtype`` codes (integers: clipped to [0, 1], rounded to nearest)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return image.astype(dtype)
    top = float(np.iinfo(dtype).max)
    return np.rint(np.clip(image.astype(np.float64), 0.0, 1.0) * top).astype(dtype)


def read_image_meta(path: str) -> Tuple[np.ndarray, ImageMeta]:
    """``([H, W, C] float32, meta)`` from PNG, TIFF, or another format OpenCV reads (8-bit).

    Channels are RGB / RGBA, grey files give ``C = 1``; no EXIF rotation and
    no colour conversion is applied.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no image file at {path}")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".png":
        pixels, meta = read_png(path)
    elif ext in (".tif", ".tiff"):
        pixels, meta = read_tiff(path)
    else:
        pixels, meta = _read_other(path)
    return to_float(pixels), meta


def read_image(path: str, max_side: Optional[int] = None) -> np.ndarray:
    """``[H, W, C]`` float32 pixels of a file (see ``read_image_meta``).

    ``max_side`` downsizes with area averaging so the longer side is at most that.
    """
    img, _ = read_image_meta(path)
    if max_side is not None and max(img.shape[:2]) > max_side:
        import cv2

        s = max_side / max(img.shape[:2])
        size = (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s)))
        img = cv2.resize(np.ascontiguousarray(img), size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
    return np.ascontiguousarray(img)


def to_image_tensor(img: np.ndarray) -> torch.Tensor:
    """``[H, W, C]`` array -> ComfyUI IMAGE ``[1, H, W, C]`` float32."""
    return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).unsqueeze(0)


def write_image(path: str, image: np.ndarray, meta: ImageMeta, fmt: str = "png16", compression: int = 4) -> str:
    """Write float ``[H, W, C]`` as ``fmt`` (see ``OUTPUT_FORMATS``); returns the path written."""
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
    if image.ndim != 3:
        raise ValueError(f"image must be [H, W, C], got {image.shape}")
    dtype = {"png16": np.uint16, "png8": np.uint8, "tiff16": np.uint16, "tiff8": np.uint8,
             "tiff_float32": np.float32, "tiff_float16": np.float16}[fmt]
    pixels = from_float(image, dtype)
    if fmt.startswith("png"):
        write_png(path, pixels, meta, compression=compression)
    else:
        write_tiff(path, pixels, meta, compression="none" if compression == 0 else "zlib")
    return path


def _read_other(path: str) -> Tuple[np.ndarray, ImageMeta]:
    """Pixels by OpenCV (as stored, no EXIF rotation), profile and EXIF by Pillow."""
    import cv2
    from PIL import Image

    from .png import rgb_from_cv2

    raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise ValueError(f"OpenCV cannot read {path} as an image")
    with Image.open(path) as im:
        info = im.info
        exif = im.getexif()
        dpi = tuple(float(v) for v in info["dpi"]) if "dpi" in info else None
        xmp = info.get("xmp")
        meta = ImageMeta((im.format or "").lower(), 8 * raw.dtype.itemsize, "float" if raw.dtype.kind == "f" else "uint",
                         info.get("icc_profile"), exif.tobytes() if len(exif) else None,
                         xmp if isinstance(xmp, bytes) else None, {}, dpi)
    return rgb_from_cv2(raw), meta


__all__ = ["ImageMeta", "OUTPUT_FORMATS", "READ_EXTENSIONS", "from_float", "read_image", "read_image_meta", "to_float",
           "to_image_tensor", "write_image"]
