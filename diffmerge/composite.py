"""Full-resolution compositing of changed regions: one Lanczos warp per region, ring colour match, membrane, alpha blend.

The alpha that detection gives at the edit's size is limited at full
resolution to where the edit differs (``edge_alpha``, run in row strips by
``limit_alpha``): a 1 MP edit upsampled 4-5 x
spreads every edge over several original pixels, and the detection's alpha
(dilated at the edit's size) spreads further, so without it thin text
takes a blurry halo of the edit around every stroke and an object its
re-rendered surround. Where the edit changed only colour or tone over the
original's structure, the original's detail finer than the edit is added to
the patch (``add_detail``), so a darkened or recoloured texture stays sharp.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import scipy.fft

from ..imaging.jit import load_kernels

Box = Tuple[int, int, int, int]  # y0, y1, x0, x1 (half-open)

# edge_alpha (CIELAB units, edit pixels): where the edit does not differ, where an edge is crisp, where the original is busy
FLOOR_DELTA_E = (0.5, 2.0)  # alpha at most 0 below 0.5 ΔE76 of difference, unlimited from 2
EDGE_RADIUS = 1.5  # edit px: the reach of an edge's local peak of difference
EDGE_RAMP = (0.4, 0.6)  # alpha 0 -> 1 as the difference rises through these shares of its local peak (half-maximum edge)
EDGE_STRENGTH = (4.0, 8.0)  # the edge rule acts from this peak difference, fully from the second (a ~10 ΔE76 recolour)
FLOOR_BUSY = (1.0, 2.0)  # L* standard deviation of the original over EDGE_RADIUS: the floor acts below the first, not above the second
EDGE_CONTRAST = (3.0, 6.0)  # the edge rule acts where the peak difference is this many times the original's L* spread, fully from the second
TEXTURE_REACH = 3.0  # edit px: how far from a strong change (EDGE_STRENGTH, EDGE_CONTRAST) the texture floor acts ...
REDRAWN = (0.3, 0.6)  # ... where the edit's own L* spread is this share of the original's (texture re-drawn, not inpainted away)
TEXTURE_FLOOR = (1.0, 2.0)  # there alpha is 0 where the difference is at most the original's L* spread, unlimited from twice it
# add_detail: where the edit drew or removed no structure, the original's full-resolution detail is carried into it
DETAIL_STRUCTURE = (1.0, 2.0)  # evidence of changed structure (edit px within DETAIL_REACH): detail carried below, none above
DETAIL_REACH = 2  # edit px: how far a changed structure (an edge drawn, texture removed) keeps the original's detail out
EDGE_STRIP_ROWS = 512  # full-resolution rows per strip of the edge alpha (its temporaries are a strip's size)


def as3x3(m: np.ndarray) -> np.ndarray:
    return np.vstack([m, [0.0, 0.0, 1.0]])


def full_to_small(sy: float, sx: float, y0: int = 0, x0: int = 0) -> np.ndarray:
    """3 x 3 map from full-resolution pixel centres (offset by a region's corner) to the edit-size frame."""
    return np.array([[sx, 0.0, (x0 + 0.5) * sx - 0.5], [0.0, sy, (y0 + 0.5) * sy - 0.5], [0.0, 0.0, 1.0]])


def warp_region(src: np.ndarray, full_to_src: np.ndarray, height: int, width: int, interpolation: int) -> np.ndarray:
    """Sample ``src`` at every pixel of a ``height x width`` region through ``full_to_src`` (3 x 3, region-relative)."""
    import cv2

    return cv2.warpAffine(np.ascontiguousarray(src), full_to_src[:2], (width, height), flags=interpolation | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def region_boxes(support: np.ndarray, pad: int = 2, group_radius: int = 0) -> List[Tuple[Box, np.ndarray]]:
    """``[(box, region mask)]`` for every group of ``support`` (uint8 ``[h, w]``; parts within ``group_radius`` px
    are one region, colour-matched together), boxes padded."""
    from .detect import group_labels, group_stats

    n, labels = group_labels(support, group_radius)
    stats = group_stats(labels, n)
    h, w = support.shape
    out = []
    for k in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[k])
        if area == 0:
            continue
        box = (max(0, y - pad), min(h, y + bh + pad), max(0, x - pad), min(w, x + bw + pad))
        out.append((box, labels == k))
    return out


def scale_box(box: Box, sy: float, sx: float, height: int, width: int) -> Box:
    """An edit-size box in full-resolution pixels (rounded outwards)."""
    y0, y1, x0, x1 = box
    return (max(0, int(np.floor(y0 / sy))), min(height, int(np.ceil(y1 / sy))),
            max(0, int(np.floor(x0 / sx))), min(width, int(np.ceil(x1 / sx))))


def ring_offset(orig_small: np.ndarray, aligned_edit: np.ndarray, component: np.ndarray, support: np.ndarray,
                valid: np.ndarray, width: int) -> np.ndarray:
    """Per-channel median of ``orig - edit`` on a ring of unchanged pixels ``width`` px around ``component``."""
    import cv2

    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    ring = cv2.dilate(component.astype(np.uint8), k).astype(bool) & ~support.astype(bool) & valid
    if ring.sum() < 16:
        return np.zeros(orig_small.shape[-1], np.float32)
    return np.median(orig_small[ring] - aligned_edit[ring], axis=0).astype(np.float32)


def membrane(boundary: np.ndarray) -> np.ndarray:
    """Harmonic interpolation (Laplace, Dirichlet) of the border values of ``boundary`` ``[h, w, C]`` into its inside.

    The 5-point Laplacian with zero Dirichlet boundary is diagonalised by a
    DST-I on both axes; the known border enters as the right-hand side.
    """
    h, w, c = boundary.shape
    out = boundary.astype(np.float64).copy()
    if h < 3 or w < 3:
        return out.astype(np.float32)
    rhs = np.zeros((h - 2, w - 2, c))
    rhs[0] -= boundary[0, 1:-1]
    rhs[-1] -= boundary[-1, 1:-1]
    rhs[:, 0] -= boundary[1:-1, 0]
    rhs[:, -1] -= boundary[1:-1, -1]
    spec = scipy.fft.dstn(rhs, type=1, axes=(0, 1), norm="ortho")
    ly = -4.0 * np.sin(np.pi * np.arange(1, h - 1) / (2.0 * (h - 1))) ** 2
    lx = -4.0 * np.sin(np.pi * np.arange(1, w - 1) / (2.0 * (w - 1))) ** 2
    spec /= (ly[:, None] + lx[None, :])[..., None]
    out[1:-1, 1:-1] = scipy.fft.idstn(spec, type=1, axes=(0, 1), norm="ortho")
    return out.astype(np.float32)


def spread_of(L: np.ndarray) -> np.ndarray:
    """The local standard deviation of ``L`` ``[h, w]`` (L* at the edit's size) over a Gaussian window of ``EDGE_RADIUS``."""
    import cv2

    L = np.ascontiguousarray(L, dtype=np.float32)
    mean = cv2.GaussianBlur(L, (0, 0), EDGE_RADIUS)
    mean_sq = cv2.GaussianBlur(L * L, (0, 0), EDGE_RADIUS)
    return np.sqrt(np.maximum(mean_sq - mean * mean, 0.0)).astype(np.float32)


def lightness_spread(rgb_small: np.ndarray) -> np.ndarray:
    """An image's local L* standard deviation ``[h, w]`` at the edit's size (``spread_of`` its L*)."""
    from ..imaging.color import rgb_to_lab

    return spread_of(rgb_to_lab(np.ascontiguousarray(rgb_small[..., :3], dtype=np.float32), dim=-1)[..., 0])


def redrawn_texture_weight(lab_orig: np.ndarray, lab_edit: np.ndarray, busy: np.ndarray) -> np.ndarray:
    """Where ``edge_alpha``'s texture floor acts, at the edit's size: float32 ``[h, w]`` in [0, 1].

    ``lab_orig`` / ``lab_edit`` ``[h, w, 3]``: the shrunk original and the
    registered edit in CIELAB; ``busy``: ``spread_of`` the original's L*.
    Within ``TEXTURE_REACH`` edit px of a strong change (the CIELAB distance's
    local peak at least ``EDGE_STRENGTH`` and ``EDGE_CONTRAST`` times the
    original's L* spread), where the edit still has texture of its own (its
    L* spread at least ``REDRAWN`` of the original's): the threads beside a
    word's ink, re-drawn by the edit model. Where the texture was inpainted
    away (the edit smooth over a busy original) it is 0.
    """
    import cv2

    diff = lab_edit - lab_orig
    d = cv2.GaussianBlur(np.sqrt(np.einsum("hwc,hwc->hw", diff, diff)), (0, 0), 0.5)
    r = max(1, int(round(TEXTURE_REACH)))
    peak = cv2.dilate(d, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    spread = np.maximum(busy, 1e-3)
    weight = _fade(peak, *EDGE_STRENGTH) * _fade(peak / spread, *EDGE_CONTRAST) * _fade(spread_of(lab_edit[..., 0]) / spread, *REDRAWN)
    return weight.astype(np.float32)


def _fade(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 at or below ``lo``, 1 at or above ``hi``, linear between."""
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def edge_alpha(alpha: np.ndarray, edit: np.ndarray, reference: np.ndarray, busy: np.ndarray, edit_px: float,
               texture: Optional[np.ndarray] = None) -> np.ndarray:
    """A region's full-resolution ``alpha`` ``[h, w]`` limited to where the edit differs from the original, in place.

    ``edit`` and ``reference`` ``[h, w, 3]``: the edit and the original *shrunk to the edit's size*, both resampled to
    the region the same way (so the original's own fine detail does not count as a difference); ``busy``: the
    original's ``lightness_spread`` resampled alike; ``edit_px``: original pixels per edit pixel. With ``d`` their CIELAB
    distance smoothed over half an edit pixel:

    * *floor* (smooth originals): alpha <= ramp(d, ``FLOOR_DELTA_E``): the re-rendered surround of an added object
      and the end of a shadow's tail, where the edit does not differ, keep the original;
    * *edge* (strong changes on fairly smooth originals): alpha <= ramp(d / local peak, ``EDGE_RAMP``): a crisp edge
      (a stroke of text, an object's outline) is put at the half-maximum of the difference, which is where a blurred
      step had its step; the edit's spread beyond it keeps the original;
    * *texture floor* (``texture``: ``redrawn_texture_weight`` resampled alike, near a strong change where the edit
      re-drew the texture): alpha <= ramp(d / busy, ``TEXTURE_FLOOR``): a pixel that differs by no more than the
      original's own texture is re-drawn texture (the threads around a word's ink, farther out than the edge rule's
      reach), and keeps the original.

    Elsewhere busy originals keep the detection's alpha: there the difference is texture, and a patch inpainted over
    texture would get holes. Only lowers alpha, so nothing outside the detection is ever touched.
    """
    import cv2

    from ..imaging.color import rgb_to_lab

    lab_edit = rgb_to_lab(np.ascontiguousarray(edit[..., :3], dtype=np.float32), dim=-1)
    lab_ref = rgb_to_lab(np.ascontiguousarray(reference[..., :3], dtype=np.float32), dim=-1)
    lab_edit -= lab_ref
    d = cv2.GaussianBlur(np.sqrt(np.einsum("hwc,hwc->hw", lab_edit, lab_edit)), (0, 0), 0.5 * edit_px)
    floor = 1.0 - _fade(busy, *FLOOR_BUSY)  # how much the floor acts
    limit = 1.0 - floor * (1.0 - _fade(d, *FLOOR_DELTA_E))
    r = max(1, int(round(EDGE_RADIUS * edit_px)))
    peak = cv2.dilate(d, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    acts = _fade(peak, *EDGE_STRENGTH) * _fade(peak / np.maximum(busy, 1e-3), *EDGE_CONTRAST)
    edge = 1.0 - acts * (1.0 - _fade(d / np.maximum(peak, 1e-6), *EDGE_RAMP))
    if texture is not None:
        np.minimum(edge, 1.0 - texture * (1.0 - _fade(d / np.maximum(busy, 1e-3), *TEXTURE_FLOOR)), out=edge)
    np.minimum(alpha, np.minimum(limit, edge), out=alpha)
    alpha[alpha < 1.0 / 1024] = 0.0
    return alpha


def _rows_frame(f2s: np.ndarray, y0: int) -> np.ndarray:
    """``f2s`` (region -> edit-size frame) for the rows of the region from ``y0`` on."""
    return f2s @ np.array([[1.0, 0.0, 0.0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])


def limit_alpha(alpha: np.ndarray, patch: np.ndarray, orig_small: np.ndarray, busy: np.ndarray, f2s: np.ndarray, edit_px: float,
                rows: int = EDGE_STRIP_ROWS, texture: Optional[np.ndarray] = None, original: Optional[np.ndarray] = None,
                detail: Optional[np.ndarray] = None) -> None:
    """``composite.edge_alpha`` over a region in row strips, in place: the shrunk original, its ``lightness_spread`` and
    the ``texture`` weight (edit size, optional) are resampled per strip (through ``f2s``, region -> edit-size frame),
    each strip with a halo as deep as the edge alpha's blur and peak reach, so the result equals one pass over the
    whole region.

    With ``original`` (the region at full resolution, ``[h, w, >= 3]``) and ``detail`` (``detail_weight``, edit size)
    given, ``add_detail`` is done in the same pass from the same resampled original (one Lanczos resampling of it
    instead of two): the patch rows a later strip's halo still reads get their detail after that strip's alpha.
    """
    import cv2

    if (original is None) != (detail is None):
        raise ValueError("limit_alpha: original and detail are given together or not at all")
    h, w = alpha.shape
    halo = int(math.ceil((2.0 + EDGE_RADIUS) * edit_px)) + 2  # the blur's reach (4 sigma, sigma half an edit px) + the peak's
    done = 0  # the patch rows above this have their detail
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        h0, h1 = max(0, y0 - halo), min(h, y1 + halo)
        strip_f2s = _rows_frame(f2s, h0)
        reference = warp_region(orig_small, strip_f2s, h1 - h0, w, cv2.INTER_LANCZOS4)
        strip_busy = warp_region(busy, strip_f2s, h1 - h0, w, cv2.INTER_LINEAR)
        strip_texture = None if texture is None else warp_region(texture, strip_f2s, h1 - h0, w, cv2.INTER_LINEAR)
        limited = edge_alpha(alpha[h0:h1].copy(), patch[h0:h1], reference, strip_busy, edit_px, strip_texture)
        alpha[y0:y1] = limited[y0 - h0 : y1 - h0]
        if detail is not None:
            end = h if y1 == h else max(done, y1 - halo)  # the next strip reads the patch from y1 - halo on
            if end > done:
                weight = warp_region(detail, _rows_frame(f2s, done), end - done, w, cv2.INTER_LINEAR)
                if weight.any():
                    _add_rows_detail(patch, original, weight, reference[done - h0 : end - h0], done)
            done = end


def _add_rows_detail(patch: np.ndarray, original: np.ndarray, weight_rows: np.ndarray, reference_rows: np.ndarray, y0: int) -> None:
    """``patch[y0:y0 + n] += weight_rows * (original - reference_rows)`` for ``n`` rows of the region (``add_detail``'s
    arithmetic; the weight and the shrunk original already resampled to those rows)."""
    detail = original[y0 : y0 + len(weight_rows), :, :3] - reference_rows
    detail *= weight_rows[..., None]
    patch[y0 : y0 + len(weight_rows)] += detail


def detail_weight(structure: np.ndarray) -> np.ndarray:
    """Where the edit kept the original's structure, at the edit's size: float32 ``[h, w]`` in [0, 1].

    ``structure``: the evidence (in units of noise) that the edit drew or
    removed structure there (``Detection.structure``: the larger of the
    structure and texture cues). 1 where that evidence stays at the noise's
    level within ``DETAIL_REACH`` px (a darkening of brushed metal, a shadow,
    a recoloured cloth: the change is colour and tone over the same
    texture), 0 where it stands out (ink, an added object's outline, a fill
    over removed texture), a ramp over ``DETAIL_STRUCTURE`` between.
    """
    import cv2

    near = cv2.dilate(structure.astype(np.float32), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * DETAIL_REACH + 1,) * 2))
    return (1.0 - _fade(near, *DETAIL_STRUCTURE)).astype(np.float32)


def add_detail(patch: np.ndarray, original: np.ndarray, orig_small: np.ndarray, weight: np.ndarray, f2s: np.ndarray,
               rows: int = EDGE_STRIP_ROWS) -> None:
    """``patch += weight * (original - original shrunk and resampled)`` over a region, in row strips, in place.

    ``patch`` ``[h, w, 3]``: the edit resampled to the region's full
    resolution; ``original`` ``[h, w, >= 3]``: the original's region;
    ``orig_small`` and ``weight`` (``detail_weight``) at the edit's size,
    resampled through ``f2s`` (region -> edit-size frame) as the patch was.
    The difference is the original's detail finer than the edit can carry:
    where the edit kept the structure, the merged pixels keep it too (the
    brushed lines under a darkening, the weave of a recoloured cloth)
    instead of the 1 MP edit's blur. Where the weight is 0 the patch is the
    edit's.
    """
    import cv2

    h, w = patch.shape[:2]
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        strip_f2s = _rows_frame(f2s, y0)
        strip_weight = warp_region(weight, strip_f2s, y1 - y0, w, cv2.INTER_LINEAR)
        if strip_weight.any():
            _add_rows_detail(patch, original, strip_weight, warp_region(orig_small, strip_f2s, y1 - y0, w, cv2.INTER_LANCZOS4), y0)


def blend_into(out: np.ndarray, region: Box, edit: np.ndarray, alpha: np.ndarray) -> None:
    """``out[region, :C] = lerp(out, edit, alpha)`` where ``alpha > 0``; other pixels are not touched.

    ``out`` ``[H, W, >= C]``; ``edit`` ``[h, w, C]`` and ``alpha`` ``[h, w]`` cover ``region``. One parallel pass
    (numba) when all three are float32, as the pipeline's are; numpy's masked gather and scatter otherwise (the same
    arithmetic).
    """
    y0, y1, x0, x1 = region
    c = edit.shape[-1]
    view = out[y0:y1, x0:x1, :c]
    if out.dtype == edit.dtype == alpha.dtype == np.float32:
        load_kernels(Path(__file__).with_name("composite_kernels.py")).blend_kernel(view, np.ascontiguousarray(edit), np.ascontiguousarray(alpha))
        return
    hit = alpha > 0
    a = alpha[hit][:, None]
    base = view[hit]
    view[hit] = base + a * (edit[hit] - base)
