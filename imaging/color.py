"""Colour spaces and colour differences: the one place for colour conversions.

sRGB values are gamma-encoded in [0, 1] (IEC 61966-2-1); CIELAB is D65,
``L*`` in [0, 100], ``a*``, ``b*`` roughly in [-128, 127], computed with
the sRGB -> XYZ matrix and white point below and the CIE ``f(t)`` (cube
root above ``(6/29)^3``, linear below). CIEDE2000 follows Sharma, Wu &
Dalal (2005), "The CIEDE2000 color-difference formula: implementation
notes, supplementary test data, and mathematical observations"; it is
tested against their published pairs.

Every function takes the colour channels along ``dim`` (``-3`` for planar
``[..., 3, H, W]``, ``-1`` for ComfyUI's channels-last ``[B, H, W, 3]``).

Two evaluations of the same formulas:

* CPU float32 tensors (and numpy arrays) go through one fused pass per pixel
  (numba): the two transfer curves and the cube root come from lookup tables
  with linear interpolation (the sRGB encoding sampled in the square-root
  domain, where it is smooth), within 2e-6 of the exact curves, so a
  conversion costs about one copy of the image plus its allocation;
* anything else (float64, CUDA) evaluates the formulas directly in torch.
  Both agree within 2e-5 in RGB and 1e-3 in Lab (tested).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Tuple, Union

import numpy as np
import torch

from .jit import load_kernels

#: sRGB (linear) -> CIE XYZ, D65
SRGB_TO_XYZ = np.array([
    [0.412453, 0.357580, 0.180423],
    [0.212671, 0.715160, 0.072169],
    [0.019334, 0.119193, 0.950227],
])
D65_WHITE = np.array([0.950456, 1.0, 1.088754])
_DELTA = 6.0 / 29.0

Array = Union[torch.Tensor, np.ndarray]


# -- the formulas (float64 numpy, for the tables and the torch path) --------
def srgb_decode(x):
    """Gamma-encoded sRGB -> linear light."""
    return np.where(x > 0.04045, ((x + 0.055) / 1.055) ** 2.4, x / 12.92)


def srgb_encode(x):
    """Linear light -> gamma-encoded sRGB."""
    return np.where(x > 0.0031308, 1.055 * np.maximum(x, 0.0031308) ** (1 / 2.4) - 0.055, 12.92 * x)


def lab_f(t):
    """The CIE ``f(t)`` of XYZ / white."""
    return np.where(t > _DELTA**3, np.cbrt(np.maximum(t, _DELTA**3)), t / (3 * _DELTA**2) + 4.0 / 29.0)


def _table(fn, n: int, sqrt_domain: bool = False) -> np.ndarray:
    """``fn`` at ``k / n`` (or ``(k / n)^2``), ``k = 0 .. n + 1`` (one guard entry past 1): float32 ``[n + 2]``."""
    u = np.arange(n + 2, dtype=np.float64) / n
    return fn(u * u if sqrt_domain else u).astype(np.float32)


_RGB_TO_F = SRGB_TO_XYZ / D65_WHITE[:, None]  # linear RGB -> XYZ / white (float64; float32 copies for the kernels)
_F_TO_RGB = np.linalg.inv(_RGB_TO_F)
# sampled so that linear interpolation stays within 2e-6 of the exact curves (1e-7 for the encoding, steep at black)
_DECODE_TABLE = _table(srgb_decode, 4096)
_F_TABLE = _table(lab_f, 8192)
_ENCODE_TABLE = _table(srgb_encode, 4096, sqrt_domain=True)


_KERNELS = None


def _kernels():
    """The numba kernels of ``color_kernels.py`` (``imaging.jit``), on first use."""
    global _KERNELS
    if _KERNELS is None:
        module = load_kernels(Path(__file__).with_name("color_kernels.py"))
        _KERNELS = (module.rgb_to_lab_kernel, module.lab_to_rgb_kernel, module.lab_affine_kernel, module.ciede2000_kernel,
                    module.lightness_curve_kernel)
    return _KERNELS


# -- public API ---------------------------------------------------------------
def _to_torch(x: Array):
    return (torch.from_numpy(np.asarray(x)), True) if isinstance(x, np.ndarray) else (x, False)


def _fused(x: torch.Tensor, dim: int, kernel, *args) -> torch.Tensor:
    """Run a ``[n, 3] -> [n, 3]`` kernel over ``x`` with channels along ``dim``; same shape out."""
    last = x.movedim(dim, -1)
    src = last.contiguous().reshape(-1, 3)
    dst = torch.empty_like(src)
    kernel(src.numpy(), dst.numpy(), *args)
    return dst.view(last.shape).movedim(-1, dim)


def _use_kernel(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and x.dtype == torch.float32 and not x.requires_grad


def _matrix(m: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(m, dtype=like.dtype, device=like.device)


def rgb_to_lab(rgb: Array, dim: int = -3) -> Array:
    """sRGB in [0, 1] (channels along ``dim``, size 3) -> CIELAB (D65). Values outside [0, 1] are clipped first.

    Returns the same type (tensor or numpy array), shape and dtype.
    """
    x, was_numpy = _to_torch(rgb)
    if x.shape[dim] != 3:
        raise ValueError(f"rgb_to_lab needs 3 colour channels along dim {dim}, got shape {tuple(x.shape)}")
    if _use_kernel(x):
        out = _fused(x, dim, _kernels()[0], _RGB_TO_F.astype(np.float32), _DECODE_TABLE, _F_TABLE)
    else:
        c = x.clamp(0.0, 1.0).movedim(dim, -1)
        lin = torch.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
        t = lin @ _matrix(_RGB_TO_F, lin).T
        f = torch.where(t > _DELTA**3, t.clamp(min=_DELTA**3) ** (1.0 / 3.0), t / (3 * _DELTA**2) + 4.0 / 29.0)
        fx, fy, fz = f.unbind(-1)
        out = torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], -1).movedim(-1, dim)
    return out.numpy() if was_numpy else out


def lab_to_rgb(lab: Array, dim: int = -3, clip: bool = True) -> Array:
    """CIELAB (D65, channels along ``dim``) -> sRGB, clipped to [0, 1] unless ``clip=False``. Same type and shape out."""
    x, was_numpy = _to_torch(lab)
    if x.shape[dim] != 3:
        raise ValueError(f"lab_to_rgb needs 3 channels (L*, a*, b*) along dim {dim}, got shape {tuple(x.shape)}")
    if _use_kernel(x):
        out = _fused(x, dim, _kernels()[1], _F_TO_RGB.astype(np.float32), _ENCODE_TABLE, np.float32(_DELTA),
                     bool(clip))
    else:
        c = x.movedim(dim, -1)
        fy = (c[..., 0] + 16.0) / 116.0
        f = torch.stack([fy + c[..., 1] / 500.0, fy, fy - c[..., 2] / 200.0], -1)
        t = torch.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4.0 / 29.0))
        lin = t @ _matrix(_F_TO_RGB, t).T
        out = torch.where(lin > 0.0031308, 1.055 * lin.clamp(min=0.0031308) ** (1 / 2.4) - 0.055, 12.92 * lin)
        out = (out.clamp(0.0, 1.0) if clip else out).movedim(-1, dim)
    return out.numpy() if was_numpy else out


def lab_affine(rgb: torch.Tensor, gain, offset, dim: int = -1) -> torch.Tensor:
    """``lab_to_rgb(rgb_to_lab(rgb) * gain + offset, clip=False)``: a per-channel affine map of (L*, a*, b*) applied to sRGB.

    ``gain``, ``offset``: three numbers each. One fused pass on the CPU
    (float32), the two conversions elsewhere. An identity map returns a copy
    of ``rgb`` bit for bit. Same shape and dtype out (``rgb`` is clipped to
    [0, 1] going in, as by ``rgb_to_lab``; the result is not).
    """
    gain = np.asarray(gain, np.float32).reshape(3)
    offset = np.asarray(offset, np.float32).reshape(3)
    if rgb.shape[dim] != 3:
        raise ValueError(f"lab_affine needs 3 colour channels along dim {dim}, got shape {tuple(rgb.shape)}")
    if np.all(gain == 1.0) and np.all(offset == 0.0):
        return rgb.clone()
    if _use_kernel(rgb):
        return _fused(rgb, dim, _kernels()[2], _RGB_TO_F.astype(np.float32), _F_TO_RGB.astype(np.float32), _DECODE_TABLE,
                      _F_TABLE, _ENCODE_TABLE, np.float32(_DELTA), gain, offset)
    shape = [1] * rgb.ndim
    shape[dim] = 3
    g = torch.as_tensor(gain, dtype=rgb.dtype, device=rgb.device).view(shape)
    o = torch.as_tensor(offset, dtype=rgb.dtype, device=rgb.device).view(shape)
    return lab_to_rgb(rgb_to_lab(rgb, dim) * g + o, dim, clip=False)


def map_lightness(rgb: torch.Tensor, curve: Callable[[torch.Tensor], torch.Tensor], keep_colour: bool = True,
                  table_size: int = 16384) -> Tuple[torch.Tensor, torch.Tensor]:
    """L* of channels-last sRGB ``[..., 3]`` through ``curve`` (on ``L*/100`` in [0, 1] -> [0, 1]).

    Returns ``(sRGB [..., 3] clipped to [0, 1], the new L*/100 [...])``; a*, b*
    are kept, or set to 0 for a neutral grey. On the CPU (float32) the curve
    is tabulated (``table_size`` samples, linear between) and the whole map is
    one fused pass; elsewhere the conversions run in torch.
    """
    if rgb.shape[-1] != 3:
        raise ValueError(f"map_lightness needs channels-last RGB [..., 3], got shape {tuple(rgb.shape)}")
    if not _use_kernel(rgb):
        lab = rgb_to_lab(rgb, dim=-1)
        y = curve(lab[..., 0] / 100.0)
        lab = torch.stack([100.0 * y, lab[..., 1] if keep_colour else torch.zeros_like(y),
                           lab[..., 2] if keep_colour else torch.zeros_like(y)], -1)
        return lab_to_rgb(lab, dim=-1), y
    lut = curve(torch.arange(table_size + 2, dtype=torch.float64) / table_size).float().numpy()
    src = rgb.contiguous().reshape(-1, 3)
    dst = torch.empty_like(src)
    out_curve = torch.empty(src.shape[0], dtype=torch.float32)
    _kernels()[4](src.numpy(), dst.numpy(), out_curve.numpy(), _RGB_TO_F.astype(np.float32), _F_TO_RGB.astype(np.float32),
                  _DECODE_TABLE, _F_TABLE, _ENCODE_TABLE, np.float32(_DELTA), lut, bool(keep_colour))
    return dst.view(rgb.shape), out_curve.view(rgb.shape[:-1])


def as_rgb(image: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """The colour of an image with channels along ``dim``: its first three channels, or grey repeated to three (a view)."""
    c = image.shape[dim]
    if c >= 3:
        return image.narrow(dim, 0, 3)
    sizes = [-1] * image.ndim
    sizes[dim] = 3
    return image.narrow(dim, 0, 1).expand(*sizes)


def to_planar(image: torch.Tensor) -> torch.Tensor:
    """``[B, H, W, C]`` -> ``[B, C, H, W]`` (a view)."""
    return image.permute(0, 3, 1, 2)


def to_channels_last(planar: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W]`` -> ``[B, H, W, C]`` (a view)."""
    return planar.permute(0, 2, 3, 1)


def luminance(rgb: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """Rec. 709 luma of gamma-encoded RGB along ``dim`` (a cheap stand-in for L* in metrics)."""
    r, g, b = rgb.unbind(dim)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ciede2000(lab1: Array, lab2: Array, dim: int = -3, kl: float = 1.0, kc: float = 1.0, kh: float = 1.0) -> Array:
    """CIEDE2000 colour difference between two CIELAB tensors (or arrays) along channel ``dim``.

    Returns the difference with ``dim`` removed, in the input dtype (and
    type). Computed in float64 for the stability of the hue terms: on the CPU
    for float32 in one fused pass per pair, elsewhere in torch.
    """
    a, was_numpy = _to_torch(lab1)
    b, _ = _to_torch(lab2)
    if a.shape != b.shape:
        a, b = torch.broadcast_tensors(a, b)
    if _use_kernel(a) and _use_kernel(b) and (kl, kc, kh) == (1.0, 1.0, 1.0):
        first, second = a.movedim(dim, -1).contiguous().reshape(-1, 3), b.movedim(dim, -1).contiguous().reshape(-1, 3)
        out = torch.empty(first.shape[0], dtype=torch.float64)
        _kernels()[3](first.numpy(), second.numpy(), out.numpy())
        out = out.view(a.movedim(dim, -1).shape[:-1]).float()
        return out.numpy() if was_numpy else out
    out = _ciede2000_torch(a, b, dim, kl, kc, kh)
    return out.numpy() if was_numpy else out


def _ciede2000_torch(lab1: torch.Tensor, lab2: torch.Tensor, dim: int, kl: float, kc: float, kh: float) -> torch.Tensor:
    dtype = lab1.dtype
    L1, a1, b1 = lab1.to(torch.float64).unbind(dim)
    L2, a2, b2 = lab2.to(torch.float64).unbind(dim)
    c1 = torch.sqrt(a1 * a1 + b1 * b1)
    c2 = torch.sqrt(a2 * a2 + b2 * b2)
    c_mean = 0.5 * (c1 + c2)
    c7 = c_mean**7
    g = 0.5 * (1.0 - torch.sqrt(c7 / (c7 + 25.0**7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p = torch.sqrt(a1p * a1p + b1 * b1)
    c2p = torch.sqrt(a2p * a2p + b2 * b2)
    h1p = torch.remainder(torch.atan2(b1, a1p), 2 * math.pi)
    h2p = torch.remainder(torch.atan2(b2, a2p), 2 * math.pi)
    h1p = torch.where(c1p == 0, torch.zeros_like(h1p), h1p)
    h2p = torch.where(c2p == 0, torch.zeros_like(h2p), h2p)

    dLp = L2 - L1
    dCp = c2p - c1p
    dh = h2p - h1p
    dh = torch.where(dh > math.pi, dh - 2 * math.pi, dh)
    dh = torch.where(dh < -math.pi, dh + 2 * math.pi, dh)
    dh = torch.where(c1p * c2p == 0, torch.zeros_like(dh), dh)
    dHp = 2.0 * torch.sqrt(c1p * c2p) * torch.sin(dh / 2.0)

    Lp_mean = 0.5 * (L1 + L2)
    Cp_mean = 0.5 * (c1p + c2p)
    h_sum = h1p + h2p
    h_mean = torch.where(
        torch.abs(h1p - h2p) <= math.pi + 1e-12,  # exactly 180 degrees apart counts as <= (Sharma pair 10)
        0.5 * h_sum,
        torch.where(h_sum < 2 * math.pi, 0.5 * (h_sum + 2 * math.pi), 0.5 * (h_sum - 2 * math.pi)),
    )
    h_mean = torch.where(c1p * c2p == 0, h_sum, h_mean)
    t = (
        1.0
        - 0.17 * torch.cos(h_mean - math.radians(30))
        + 0.24 * torch.cos(2 * h_mean)
        + 0.32 * torch.cos(3 * h_mean + math.radians(6))
        - 0.20 * torch.cos(4 * h_mean - math.radians(63))
    )
    d_theta = math.radians(30) * torch.exp(-(((torch.rad2deg(h_mean) - 275.0) / 25.0) ** 2))
    cp7 = Cp_mean**7
    rc = 2.0 * torch.sqrt(cp7 / (cp7 + 25.0**7))
    sl = 1.0 + 0.015 * (Lp_mean - 50.0) ** 2 / torch.sqrt(20.0 + (Lp_mean - 50.0) ** 2)
    sc = 1.0 + 0.045 * Cp_mean
    sh = 1.0 + 0.015 * Cp_mean * t
    rt = -torch.sin(2.0 * d_theta) * rc
    tl, tc, th = dLp / (kl * sl), dCp / (kc * sc), dHp / (kh * sh)
    return torch.sqrt(tl * tl + tc * tc + th * th + rt * tc * th).to(dtype)
