"""Read and write photos at full bit depth (8/16-bit PNG, 8/16-bit and float TIFF, JPEG & co. 8-bit).

Pixels come in as ``[H, W, C]`` float32 exactly equal to ``code / (2^bits - 1)``
(floats as stored) and go out by rounding ``value * (2^bits - 1)``: a 16-bit
file read and written back is bit-identical, with its ICC profile, EXIF, XMP,
DPI and text kept. No colour management is applied: the profile travels with
the pixels unchanged. No ComfyUI imports here.

Memory: the file's codes are decoded once and converted to float32 (and
back) in strips of rows straight into the output, reordered to RGB on the
way, so reading peaks at the codes plus the float image (1.5x the float
image for 16-bit RGB) and writing at the image plus its codes.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .meta import ImageMeta
from .png import CV2_TO_RGB, RGB_TO_CV2, read_png, write_png
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
#: lossless compression choices: none (largest, fastest), fast (zlib level 1), small (zlib level 9, TIFF with prediction)
COMPRESSION = ("none", "fast", "small")
STRIP_BYTES = 1 << 21  # float bytes converted at a time between codes and floats (stays in cache)


def _strip_rows(width: int, channels: int) -> int:
    return max(1, STRIP_BYTES // (4 * width * max(1, channels)))


def compression_choice(value: Union[str, int]) -> str:
    """A ``COMPRESSION`` name; the integer levels of earlier versions map 0 -> none, 1-5 -> fast, 6-9 -> small."""
    if isinstance(value, bool):
        raise ValueError(f"compression must be one of {', '.join(COMPRESSION)}, got {value!r}")
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        level = int(value)
        if not 0 <= level <= 9:
            raise ValueError(f"compression level {level} is not 0-9; choose one of {', '.join(COMPRESSION)}")
        return "none" if level == 0 else "fast" if level <= 5 else "small"
    if value not in COMPRESSION:
        raise ValueError(f"compression must be one of {', '.join(COMPRESSION)}, got {value!r}")
    return value


def codes_to_float(codes: np.ndarray, channels: Sequence[int], out: Optional[np.ndarray] = None) -> np.ndarray:
    """``codes[..., channels] / (2^bits - 1)`` as float32 ``[H, W, len(channels)]``, strip by strip (floats as stored).

    ``codes`` is ``[H, W]`` or ``[H, W, C]``; ``channels`` picks (and orders,
    or repeats) its channels. ``out`` may be given (float32, right shape).
    """
    if codes.ndim == 2:
        codes = codes[:, :, None]
    h, w = codes.shape[:2]
    if out is None:
        out = np.empty((h, w, len(channels)), np.float32)
    top = np.float32(1.0 if codes.dtype.kind == "f" else np.iinfo(codes.dtype).max)
    order = list(channels)
    rows = _strip_rows(w, len(order))
    for y0 in range(0, h, rows):
        strip = codes[y0 : y0 + rows]
        src = strip[:, :, order] if order != list(range(codes.shape[2])) else strip
        # a float32 division (not a product with 1 / top): the correctly rounded code / top, as ComfyUI's LoadImage gives
        np.divide(src, top, out=out[y0 : y0 + rows], casting="unsafe")
    return out


def float_to_codes(image: np.ndarray, dtype, channels: Sequence[int]) -> np.ndarray:
    """``image[..., channels]`` as ``dtype`` codes (integers: clipped to [0, 1], rounded to nearest), strip by strip."""
    dtype = np.dtype(dtype)
    h, w = image.shape[:2]
    order = list(channels)
    out = np.empty((h, w, len(order)), dtype)
    rows = _strip_rows(w, len(order))
    for y0 in range(0, h, rows):
        strip = image[y0 : y0 + rows][:, :, order]
        if dtype.kind == "f":
            out[y0 : y0 + rows] = strip
            continue
        top = np.float32(np.iinfo(dtype).max)
        np.clip(strip, 0.0, 1.0, out=strip)
        strip *= top
        strip += np.float32(0.5)  # round half up: every float within half a code of one lands on it
        np.floor(strip, out=strip)
        out[y0 : y0 + rows] = strip
    return out[:, :, 0] if len(order) == 1 else out


def to_float(pixels: np.ndarray) -> np.ndarray:
    """Integer codes ``[H, W(, C)]`` -> float32 in [0, 1] (``code / max``); floats pass through as float32."""
    if pixels.dtype.kind == "f":
        return pixels.astype(np.float32, copy=False)
    flat = pixels.ndim == 2
    out = codes_to_float(pixels, range(1 if flat else pixels.shape[2]))
    return out[:, :, 0] if flat else out


def from_float(image: np.ndarray, dtype) -> np.ndarray:
    """Float ``[H, W, C]`` -> ``dtype`` codes (integers: clipped to [0, 1], rounded to nearest)."""
    out = float_to_codes(image, dtype, range(image.shape[2]))
    return out[:, :, None] if out.ndim == 2 else out


def read_codes(path: str) -> Tuple[np.ndarray, Tuple[int, ...], ImageMeta]:
    """``(codes as decoded, the channels that make RGB(A) / grey, meta)``: nothing converted yet.

    PNG and other formats come from OpenCV (BGR order: the channel tuple
    reorders), TIFF from tifffile (RGB). Grey files give one channel.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no image file at {path}")
    ext = os.path.splitext(path)[1].lower()
    if ext in (".tif", ".tiff"):
        codes, meta = read_tiff(path)
        return codes, tuple(range(codes.shape[2])), meta
    codes, meta = read_png(path) if ext == ".png" else _read_other(path)
    c = 1 if codes.ndim == 2 else codes.shape[2]
    return codes, CV2_TO_RGB.get(c, tuple(range(c))), meta


def read_image_meta(path: str) -> Tuple[np.ndarray, ImageMeta]:
    """``([H, W, C] float32, meta)`` from PNG, TIFF, or another format OpenCV reads (8-bit).

    Channels are RGB / RGBA, grey files give ``C = 1``; no EXIF rotation and
    no colour conversion is applied.
    """
    codes, channels, meta = read_codes(path)
    return codes_to_float(codes, channels), meta


def read_rgb_alpha(path: str) -> Tuple[np.ndarray, Optional[np.ndarray], ImageMeta]:
    """``(RGB float32 [H, W, 3], alpha float32 [H, W] or None, meta)``: grey is repeated to RGB, alpha kept apart.

    The conversion writes straight into these two arrays (ComfyUI's IMAGE and
    MASK need them separate): no RGBA float copy in between.
    """
    codes, channels, meta = read_codes(path)
    colour = channels[:3] if len(channels) >= 3 else (channels[0],) * 3
    rgb = codes_to_float(codes, colour)
    alpha = codes_to_float(codes, channels[-1:])[:, :, 0] if len(channels) in (2, 4) else None
    return rgb, alpha, meta


def read_image(path: str, max_side: Optional[int] = None) -> np.ndarray:
    """``[H, W, C]`` float32 pixels of a file (see ``read_image_meta``).

    ``max_side`` downsizes with area averaging so the longer side is at most that.
    """
    from ..imaging.resample import shrink_to_side

    img, _ = read_image_meta(path)
    if max_side is not None:
        img = shrink_to_side(img, max_side)
    return np.ascontiguousarray(img)


def to_image_tensor(img: np.ndarray) -> torch.Tensor:
    """``[H, W, C]`` array -> ComfyUI IMAGE ``[1, H, W, C]`` float32."""
    return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).unsqueeze(0)


FORMAT_DTYPES = {"png16": np.uint16, "png8": np.uint8, "tiff16": np.uint16, "tiff8": np.uint8,
                 "tiff_float32": np.float32, "tiff_float16": np.float16}


def write_image(path: str, image: np.ndarray, meta: ImageMeta, fmt: str = "png16", compression: Union[str, int] = "fast") -> str:
    """Write float ``[H, W, C]`` as ``fmt`` (see ``OUTPUT_FORMATS``) with ``compression`` (``COMPRESSION``); returns the path."""
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
    if image.ndim != 3:
        raise ValueError(f"image must be [H, W, C], got {image.shape}")
    compression = compression_choice(compression)
    c = image.shape[2]
    if fmt.startswith("png"):
        if c not in RGB_TO_CV2:
            raise ValueError(f"cannot write {c} channels as PNG (1 to 4)")
        write_png(path, float_to_codes(image, FORMAT_DTYPES[fmt], RGB_TO_CV2[c]), meta, compression)
    else:
        write_tiff(path, from_float(image, FORMAT_DTYPES[fmt]), meta, compression)
    return path


def _read_other(path: str) -> Tuple[np.ndarray, ImageMeta]:
    """Codes by OpenCV (as stored, no EXIF rotation; BGR order), profile and EXIF by Pillow."""
    import cv2
    from PIL import Image

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
    return raw, meta


__all__ = ["COMPRESSION", "ImageMeta", "OUTPUT_FORMATS", "READ_EXTENSIONS", "codes_to_float", "compression_choice",
           "float_to_codes", "from_float", "read_codes", "read_image", "read_image_meta", "read_rgb_alpha", "to_float",
           "to_image_tensor", "write_image"]
