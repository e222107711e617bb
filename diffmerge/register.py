"""Registration of an edit to the original at the edit's resolution: a translation, then an affine refinement."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Alignment:
    """Where the edit's content sits in the (shrunk) original's frame: ``o = A e + (dx, dy)``.

    ``matrix`` is the 2 x 3 affine mapping edit pixel coordinates to original-
    at-edit-size coordinates; ``method`` says which estimate was kept.
    """

    matrix: np.ndarray
    method: str
    response: float

    @property
    def shift(self):
        return float(self.matrix[0, 2]), float(self.matrix[1, 2])

    @property
    def scale(self) -> float:
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))


IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _grey(img: np.ndarray) -> np.ndarray:
    g = img[..., :3].mean(axis=-1) if img.ndim == 3 else img
    return np.ascontiguousarray(g, dtype=np.float32)


def _detail(grey: np.ndarray) -> np.ndarray:
    """Band-passed grey: registration keys on structure, not on the global colour shift."""
    import cv2

    return grey - cv2.GaussianBlur(grey, (0, 0), 8.0)


def phase_shift(a: np.ndarray, b: np.ndarray):
    """``(dx, dy, response)`` with ``a(x + d) ~ b(x)`` for band-passed grey images (sub-pixel phase correlation)."""
    import cv2

    window = cv2.createHanningWindow(a.shape[::-1], cv2.CV_32F)
    (dx, dy), response = cv2.phaseCorrelate(b, a, window)
    return float(dx), float(dy), float(response)


def register(reference: np.ndarray, moving: np.ndarray, method: str = "affine", max_shift: float = 0.05,
             max_scale: float = 0.05) -> Alignment:
    """Align ``moving`` (the edit, ``[h, w, C]``) to ``reference`` (the original at the same size).

    ``method``: ``none``, ``translation`` (phase correlation) or
    ``affine`` (phase correlation, refined by ECC: shift, scale, rotation
    and shear on the band-passed grey images). An estimate that moves more
    than ``max_shift`` of the size or scales by more than ``max_scale`` is
    rejected for the simpler one: edit models shift by a few pixels, not more.
    """
    if method == "none":
        return Alignment(IDENTITY.copy(), "none", 1.0)
    if method not in ("translation", "affine"):
        raise ValueError(f"registration must be none, translation or affine, got {method!r}")
    h, w = reference.shape[:2]
    a, b = _detail(_grey(reference)), _detail(_grey(moving))
    dx, dy, response = phase_shift(a, b)
    if abs(dx) > max_shift * w or abs(dy) > max_shift * h:
        return Alignment(IDENTITY.copy(), "none (shift estimate out of range)", response)
    m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
    best = Alignment(m, "translation", response)
    if method == "translation":
        return best
    import cv2

    side = max(h, w)
    f = min(1.0, 768.0 / side)
    if f < 1.0:
        a = cv2.resize(a, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        b = cv2.resize(b, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    warp = np.array([[1.0, 0.0, dx * f], [0.0, 1.0, dy * f]], dtype=np.float32)
    # ECC's warp maps template (reference) coordinates to input (moving) coordinates: start from the inverse shift
    warp[:, 2] *= -1
    try:
        cc, warp = cv2.findTransformECC(a, b, warp, cv2.MOTION_AFFINE,
                                        (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-6), None, 5)
    except cv2.error:
        return best
    inv = cv2.invertAffineTransform(warp.astype(np.float64))
    inv[:, 2] /= f
    cand = Alignment(inv, "affine", float(cc))
    sx, sy = cand.shift
    if abs(cand.scale - 1.0) > max_scale or abs(sx) > max_shift * w or abs(sy) > max_shift * h:
        return best
    return cand
