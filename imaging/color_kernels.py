"""The fused per-pixel sRGB <-> CIELAB passes of ``imaging.color`` (numba, CPU, float32 ``[n, 3]`` in and out).

Loaded by ``imaging.color`` only when a CPU float32 conversion runs, under
one fixed module name whatever the pack's folder is called (numba's disk
cache refers to the module by name), and it imports nothing of the pack:
the tables, the matrix and the table size come in as arguments, built by
``imaging.color`` (one definition of the formulas). The compiled kernels are
cached on disk (``cache=True``), so later processes skip the compile.
"""

import math

import numba as nb
import numpy as np

_ZERO, _ONE = np.float32(0.0), np.float32(1.0)


@nb.njit(inline="always", fastmath=True, cache=True)
def _table(lut, n, t):
    """``lut`` (``n + 2`` samples of a curve at ``u^2``, ``u = k / n``) at ``t`` in [0, 1], clamped: linear in ``sqrt(t)``."""
    u = math.sqrt(min(max(t, _ZERO), _ONE)) * n
    i = int(u)
    frac = u - np.float32(i)
    a = lut[i]
    return a + frac * (lut[i + 1] - a)


@nb.njit(inline="always", fastmath=True, cache=True)
def _encode(x, lut, n):
    """Linear light -> sRGB: the table in [0, 1], the formula outside (unclipped corrections)."""
    if x > _ONE:
        return np.float32(1.055) * x ** np.float32(1 / 2.4) - np.float32(0.055)
    if x < _ZERO:
        return np.float32(12.92) * x
    return _table(lut, n, x)


@nb.njit(inline="always", fastmath=True, cache=True)
def _f_inv(f, delta):
    return f * f * f if f > delta else np.float32(3.0) * delta * delta * (f - np.float32(4.0 / 29.0))


@nb.njit(parallel=True, fastmath=True, cache=True)
def rgb_to_lab_kernel(src, dst, m, decode_table, f_table, n):
    for p in nb.prange(src.shape[0]):
        r = _table(decode_table, n, src[p, 0])
        g = _table(decode_table, n, src[p, 1])
        b = _table(decode_table, n, src[p, 2])
        fx = _table(f_table, n, m[0, 0] * r + m[0, 1] * g + m[0, 2] * b)
        fy = _table(f_table, n, m[1, 0] * r + m[1, 1] * g + m[1, 2] * b)
        fz = _table(f_table, n, m[2, 0] * r + m[2, 1] * g + m[2, 2] * b)
        dst[p, 0] = np.float32(116.0) * fy - np.float32(16.0)
        dst[p, 1] = np.float32(500.0) * (fx - fy)
        dst[p, 2] = np.float32(200.0) * (fy - fz)


@nb.njit(parallel=True, fastmath=True, cache=True)
def lab_to_rgb_kernel(src, dst, m, encode_table, n, delta, clip):
    for p in nb.prange(src.shape[0]):
        fy = (src[p, 0] + np.float32(16.0)) / np.float32(116.0)
        x = _f_inv(fy + src[p, 1] / np.float32(500.0), delta)
        y = _f_inv(fy, delta)
        z = _f_inv(fy - src[p, 2] / np.float32(200.0), delta)
        for c in range(3):
            v = _encode(m[c, 0] * x + m[c, 1] * y + m[c, 2] * z, encode_table, n)
            if clip:
                v = min(max(v, _ZERO), _ONE)
            dst[p, c] = v
