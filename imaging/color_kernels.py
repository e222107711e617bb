"""The fused per-pixel sRGB <-> CIELAB passes of ``imaging.color`` (numba, CPU, float32 ``[n, 3]`` in and out).

Loaded by ``imaging.color`` (through ``imaging.jit``) only when a CPU
float32 conversion runs; it imports nothing of the pack: the tables and
matrices come in as arguments, built by ``imaging.color`` (one definition
of the formulas). A table of ``n + 2`` entries samples its
curve at ``k / n`` (``_uniform``) or at ``(k / n)^2`` (``_sqrt_domain``, for
the sRGB encoding, steep at black). The compiled kernels are
cached on disk (``cache=True``), so later processes skip the compile.
"""

import math

import numba as nb
import numpy as np

_ZERO, _ONE = np.float32(0.0), np.float32(1.0)


@nb.njit(inline="always", fastmath=True, cache=True)
def _uniform(lut, t):
    """``lut`` (samples of a curve at ``k / n``, ``n = len - 2``) at ``t`` in [0, 1], clamped, linear between samples."""
    u = min(max(t, _ZERO), _ONE) * np.float32(lut.shape[0] - 2)
    i = int(u)
    a = lut[i]
    return a + (u - np.float32(i)) * (lut[i + 1] - a)


@nb.njit(inline="always", fastmath=True, cache=True)
def _uniform_in_range(lut, t):
    """``_uniform`` for ``t`` known to lie in [0, 1 + 1 / n] (the guard entry covers the top): no clamping."""
    u = t * np.float32(lut.shape[0] - 2)
    i = int(u)
    a = lut[i]
    return a + (u - np.float32(i)) * (lut[i + 1] - a)


@nb.njit(inline="always", fastmath=True, cache=True)
def _sqrt_domain(lut, t):
    """``lut`` (samples of a curve at ``(k / n)^2``) at ``t`` in [0, 1]: linear in ``sqrt(t)``, for curves steep at 0."""
    u = math.sqrt(min(max(t, _ZERO), _ONE)) * np.float32(lut.shape[0] - 2)
    i = int(u)
    a = lut[i]
    return a + (u - np.float32(i)) * (lut[i + 1] - a)


@nb.njit(inline="always", fastmath=True, cache=True)
def _encode(x, lut):
    """Linear light -> sRGB: the table in [0, 1], the formula outside (unclipped corrections)."""
    if x > _ONE:
        return np.float32(1.055) * x ** np.float32(1 / 2.4) - np.float32(0.055)
    if x < _ZERO:
        return np.float32(12.92) * x
    return _sqrt_domain(lut, x)


@nb.njit(inline="always", fastmath=True, cache=True)
def _f_inv(f, delta):
    return f * f * f if f > delta else np.float32(3.0) * delta * delta * (f - np.float32(4.0 / 29.0))


@nb.njit(inline="always", fastmath=True, cache=True)
def _rgb_to_f(src, p, m00, m01, m02, m10, m11, m12, m20, m21, m22, decode_table, f_table):
    """Pixel ``p`` of ``src`` (sRGB) -> the CIE ``f`` of X/Xn, Y/Yn, Z/Zn."""
    r = _uniform(decode_table, src[p, 0])
    g = _uniform(decode_table, src[p, 1])
    b = _uniform(decode_table, src[p, 2])
    # decoded sRGB in [0, 1] through a white-normalised matrix: X/Xn, Y/Yn, Z/Zn lie in [0, 1] (to rounding)
    return (_uniform_in_range(f_table, m00 * r + m01 * g + m02 * b), _uniform_in_range(f_table, m10 * r + m11 * g + m12 * b),
            _uniform_in_range(f_table, m20 * r + m21 * g + m22 * b))


@nb.njit(inline="always", fastmath=True, cache=True)
def _lab_to_linear(lightness, a, b, delta, m00, m01, m02, m10, m11, m12, m20, m21, m22):
    """(L*, a*, b*) -> linear sRGB (unclipped)."""
    fy = (lightness + np.float32(16.0)) / np.float32(116.0)
    x = _f_inv(fy + a / np.float32(500.0), delta)
    y = _f_inv(fy, delta)
    z = _f_inv(fy - b / np.float32(200.0), delta)
    return m00 * x + m01 * y + m02 * z, m10 * x + m11 * y + m12 * z, m20 * x + m21 * y + m22 * z


@nb.njit(parallel=True, fastmath=True, cache=True)
def rgb_to_lab_kernel(src, dst, m, decode_table, f_table):
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = m[0, 0], m[0, 1], m[0, 2], m[1, 0], m[1, 1], m[1, 2], m[2, 0], m[2, 1], m[2, 2]
    for p in nb.prange(src.shape[0]):
        fx, fy, fz = _rgb_to_f(src, p, m00, m01, m02, m10, m11, m12, m20, m21, m22, decode_table, f_table)
        dst[p, 0] = np.float32(116.0) * fy - np.float32(16.0)
        dst[p, 1] = np.float32(500.0) * (fx - fy)
        dst[p, 2] = np.float32(200.0) * (fy - fz)


@nb.njit(parallel=True, fastmath=True, cache=True)
def lab_to_rgb_kernel(src, dst, m, encode_table, delta, clip):
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = m[0, 0], m[0, 1], m[0, 2], m[1, 0], m[1, 1], m[1, 2], m[2, 0], m[2, 1], m[2, 2]
    for p in nb.prange(src.shape[0]):
        r, g, b = _lab_to_linear(src[p, 0], src[p, 1], src[p, 2], delta, m00, m01, m02, m10, m11, m12, m20, m21, m22)
        r, g, b = _encode(r, encode_table), _encode(g, encode_table), _encode(b, encode_table)
        if clip:
            r, g, b = min(max(r, _ZERO), _ONE), min(max(g, _ZERO), _ONE), min(max(b, _ZERO), _ONE)
        dst[p, 0], dst[p, 1], dst[p, 2] = r, g, b


@nb.njit(parallel=True, fastmath=True, cache=True)
def lab_affine_kernel(src, dst, to_f, from_f, decode_table, f_table, encode_table, delta, gain, offset):
    """``dst = lab_to_rgb(rgb_to_lab(src) * gain + offset)``, unclipped: a per-channel affine map in CIELAB, one pass."""
    a00, a01, a02, a10, a11, a12, a20, a21, a22 = (to_f[0, 0], to_f[0, 1], to_f[0, 2], to_f[1, 0], to_f[1, 1], to_f[1, 2],
                                                   to_f[2, 0], to_f[2, 1], to_f[2, 2])
    b00, b01, b02, b10, b11, b12, b20, b21, b22 = (from_f[0, 0], from_f[0, 1], from_f[0, 2], from_f[1, 0], from_f[1, 1],
                                                   from_f[1, 2], from_f[2, 0], from_f[2, 1], from_f[2, 2])
    g0, g1, g2, o0, o1, o2 = gain[0], gain[1], gain[2], offset[0], offset[1], offset[2]
    for p in nb.prange(src.shape[0]):
        fx, fy, fz = _rgb_to_f(src, p, a00, a01, a02, a10, a11, a12, a20, a21, a22, decode_table, f_table)
        lightness = (np.float32(116.0) * fy - np.float32(16.0)) * g0 + o0
        a = np.float32(500.0) * (fx - fy) * g1 + o1
        b = np.float32(200.0) * (fy - fz) * g2 + o2
        r, g, bl = _lab_to_linear(lightness, a, b, delta, b00, b01, b02, b10, b11, b12, b20, b21, b22)
        dst[p, 0], dst[p, 1], dst[p, 2] = _encode(r, encode_table), _encode(g, encode_table), _encode(bl, encode_table)


@nb.njit(inline="always", cache=True)
def _hue(b, a):
    """``atan2(b, a)`` in [0, 2 pi) (atan2 gives (-pi, pi]: one turn added below 0, as ``% (2 pi)`` does)."""
    h = math.atan2(b, a)
    return h + 2 * math.pi if h < 0 else h


@nb.njit(fastmath=False, cache=True)
def _ciede2000_pair(L1, a1, b1, L2, a2, b2):
    """CIEDE2000 of one pair (Sharma, Wu & Dalal 2005), in float64."""
    pi = math.pi
    c1 = math.sqrt(a1 * a1 + b1 * b1)
    c2 = math.sqrt(a2 * a2 + b2 * b2)
    c7 = (0.5 * (c1 + c2)) ** 7
    g = 0.5 * (1.0 - math.sqrt(c7 / (c7 + 25.0 ** 7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p = math.sqrt(a1p * a1p + b1 * b1)
    c2p = math.sqrt(a2p * a2p + b2 * b2)
    h1p = _hue(b1, a1p) if c1p != 0 else 0.0
    h2p = _hue(b2, a2p) if c2p != 0 else 0.0
    dLp, dCp = L2 - L1, c2p - c1p
    if c1p * c2p == 0:
        dh = 0.0
    else:
        dh = h2p - h1p
        if dh > pi:
            dh -= 2 * pi
        elif dh < -pi:
            dh += 2 * pi
    dHp = 2.0 * math.sqrt(c1p * c2p) * math.sin(dh / 2.0)
    lp = 0.5 * (L1 + L2)
    cp = 0.5 * (c1p + c2p)
    hs = h1p + h2p
    if c1p * c2p == 0:
        hm = hs
    elif abs(h1p - h2p) <= pi + 1e-12:  # exactly 180 degrees apart counts as <= (Sharma pair 10)
        hm = 0.5 * hs
    elif hs < 2 * pi:
        hm = 0.5 * (hs + 2 * pi)
    else:
        hm = 0.5 * (hs - 2 * pi)
    # T's four cosines of multiples of hm, from cos hm and sin hm by the double- and sum-angle identities (two
    # transcendental calls instead of four; equal to float64 round-off)
    cos1, sin1 = math.cos(hm), math.sin(hm)
    cos2, sin2 = 2.0 * cos1 * cos1 - 1.0, 2.0 * sin1 * cos1
    cos3, sin3 = cos1 * cos2 - sin1 * sin2, sin1 * cos2 + cos1 * sin2
    cos4, sin4 = 2.0 * cos2 * cos2 - 1.0, 2.0 * sin2 * cos2
    t = (1.0 - 0.17 * (cos1 * math.cos(math.radians(30)) + sin1 * math.sin(math.radians(30))) + 0.24 * cos2
         + 0.32 * (cos3 * math.cos(math.radians(6)) - sin3 * math.sin(math.radians(6)))
         - 0.20 * (cos4 * math.cos(math.radians(63)) + sin4 * math.sin(math.radians(63))))
    d_theta = math.radians(30) * math.exp(-(((math.degrees(hm) - 275.0) / 25.0) ** 2))
    cp7 = cp ** 7
    rc = 2.0 * math.sqrt(cp7 / (cp7 + 25.0 ** 7))
    sl = 1.0 + 0.015 * (lp - 50.0) ** 2 / math.sqrt(20.0 + (lp - 50.0) ** 2)
    sc = 1.0 + 0.045 * cp
    sh = 1.0 + 0.015 * cp * t
    rt = -math.sin(2.0 * d_theta) * rc
    tl, tc, th = dLp / sl, dCp / sc, dHp / sh
    return math.sqrt(tl * tl + tc * tc + th * th + rt * tc * th)


@nb.njit(parallel=True, cache=True)
def ciede2000_kernel(lab1, lab2, dst):
    """``dst[p]`` = CIEDE2000 of the pairs ``lab1[p]``, ``lab2[p]`` (``[n, 3]`` float32 in, float64 inside)."""
    for p in nb.prange(lab1.shape[0]):
        dst[p] = _ciede2000_pair(np.float64(lab1[p, 0]), np.float64(lab1[p, 1]), np.float64(lab1[p, 2]),
                                 np.float64(lab2[p, 0]), np.float64(lab2[p, 1]), np.float64(lab2[p, 2]))


@nb.njit(parallel=True, fastmath=True, cache=True)
def lightness_curve_kernel(src, dst, curve, to_f, from_f, decode_table, f_table, encode_table, delta, lut, keep_colour):
    """L* through the tabulated curve ``lut`` (``L*/100`` in, out, uniform samples): ``curve[p]`` the new ``L*/100``,
    ``dst`` its sRGB (clipped) with the pixel's a*, b* kept or set to 0 (grey)."""
    a00, a01, a02, a10, a11, a12, a20, a21, a22 = (to_f[0, 0], to_f[0, 1], to_f[0, 2], to_f[1, 0], to_f[1, 1], to_f[1, 2],
                                                   to_f[2, 0], to_f[2, 1], to_f[2, 2])
    b00, b01, b02, b10, b11, b12, b20, b21, b22 = (from_f[0, 0], from_f[0, 1], from_f[0, 2], from_f[1, 0], from_f[1, 1],
                                                   from_f[1, 2], from_f[2, 0], from_f[2, 1], from_f[2, 2])
    for p in nb.prange(src.shape[0]):
        fx, fy, fz = _rgb_to_f(src, p, a00, a01, a02, a10, a11, a12, a20, a21, a22, decode_table, f_table)
        y = _uniform(lut, (np.float32(116.0) * fy - np.float32(16.0)) / np.float32(100.0))
        curve[p] = y
        a = np.float32(500.0) * (fx - fy) if keep_colour else _ZERO
        b = np.float32(200.0) * (fy - fz) if keep_colour else _ZERO
        r, g, bl = _lab_to_linear(np.float32(100.0) * y, a, b, delta, b00, b01, b02, b10, b11, b12, b20, b21, b22)
        dst[p, 0] = min(max(_encode(r, encode_table), _ZERO), _ONE)
        dst[p, 1] = min(max(_encode(g, encode_table), _ZERO), _ONE)
        dst[p, 2] = min(max(_encode(bl, encode_table), _ZERO), _ONE)
