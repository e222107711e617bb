"""The fused per-pixel sRGB <-> CIELAB passes of ``imaging.color`` (numba, CPU, float32 ``[n, 3]`` in and out).

Imported only when a CPU float32 conversion runs. The constants are module
globals, which numba freezes into the compiled code, so the compiled kernels
are cached on disk (``cache=True``) and later processes skip the compile.
The tables are built by ``imaging.color`` (one definition of the formulas).
"""

import math

import numba as nb
import numpy as np

from .color import _DELTA, LUT_SIZE

_N = np.float32(LUT_SIZE)
_D = np.float32(_DELTA)
_K = np.float32(3 * _DELTA**2)
_FOUR29 = np.float32(4.0 / 29.0)
_ZERO, _ONE = np.float32(0.0), np.float32(1.0)


@nb.njit(inline="always", fastmath=True, cache=True)
def _table(lut, t):
    """``lut`` at ``t`` in [0, 1] (clamped): linear interpolation at ``u = sqrt(t)``."""
    u = math.sqrt(min(max(t, _ZERO), _ONE)) * _N
    i = int(u)
    frac = u - np.float32(i)
    a = lut[i]
    return a + frac * (lut[i + 1] - a)


@nb.njit(inline="always", fastmath=True, cache=True)
def _encode(x, lut):
    """Linear light -> sRGB: the table in [0, 1], the formula outside (unclipped corrections)."""
    if x > _ONE:
        return np.float32(1.055) * x ** np.float32(1 / 2.4) - np.float32(0.055)
    if x < _ZERO:
        return np.float32(12.92) * x
    return _table(lut, x)


@nb.njit(inline="always", fastmath=True, cache=True)
def _f_inv(f):
    return f * f * f if f > _D else _K * (f - _FOUR29)


@nb.njit(parallel=True, fastmath=True, cache=True)
def rgb_to_lab_kernel(src, dst, m, decode_table, f_table):
    for p in nb.prange(src.shape[0]):
        r = _table(decode_table, src[p, 0])
        g = _table(decode_table, src[p, 1])
        b = _table(decode_table, src[p, 2])
        fx = _table(f_table, m[0, 0] * r + m[0, 1] * g + m[0, 2] * b)
        fy = _table(f_table, m[1, 0] * r + m[1, 1] * g + m[1, 2] * b)
        fz = _table(f_table, m[2, 0] * r + m[2, 1] * g + m[2, 2] * b)
        dst[p, 0] = np.float32(116.0) * fy - np.float32(16.0)
        dst[p, 1] = np.float32(500.0) * (fx - fy)
        dst[p, 2] = np.float32(200.0) * (fy - fz)


@nb.njit(parallel=True, fastmath=True, cache=True)
def lab_to_rgb_kernel(src, dst, m, encode_table, clip):
    for p in nb.prange(src.shape[0]):
        fy = (src[p, 0] + np.float32(16.0)) / np.float32(116.0)
        x = _f_inv(fy + src[p, 1] / np.float32(500.0))
        y = _f_inv(fy)
        z = _f_inv(fy - src[p, 2] / np.float32(200.0))
        for c in range(3):
            v = _encode(m[c, 0] * x + m[c, 1] * y + m[c, 2] * z, encode_table)
            if clip:
                v = min(max(v, _ZERO), _ONE)
            dst[p, c] = v
