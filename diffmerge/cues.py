"""Evidence of change between the original and the registered edit, at the edit's resolution, in units of noise.

An edit model re-renders the whole picture: every pixel differs a little,
more where the picture is busy (fur, foliage, brushed metal) than where it
is smooth (a white sweep, sky). So each cue is measured against the noise
*of pixels like it*: pixels are binned by how busy the original is there
(``busyness``, ``BusyBins``), and in each bin the cue's 99th percentile
over the pixels that plainly did not change becomes its noise level (the
cues are magnitudes with long tails, so a high quantile, not a spread, says
where noise ends); a pixel's evidence is ``cue / level`` of its bin
(``evidence_of``): 1 is as large as the largest 1 % of noise like it.

The cues (all ``[h, w]`` float32, larger = more changed):

* ``colour_cue`` — CIEDE2000 of the blurred colours: recolouring, added and
  removed objects, text;
* ``structure_cue`` — the change of the lightness gradient: a crisp edge
  where there was none (a light grey object on white, whose colour is close
  to the wall's) or an edge gone;
* ``lightness_cue`` — in very light and very dark areas only, the lightness
  difference seen through a pair of solar curves in quadrature
  (``sin``/``cos`` of ``π m L*/100``), which stretches a small ΔL* by
  ``π m / 2`` with no blind spot: white-on-white and black-on-black changes
  that CIEDE2000 weighs down (its lightness weight is smallest there);
* ``region_cue`` — the Lab difference averaged over a few pixels: re-rendering
  noise averages out, a coherent change does not (a low-contrast darkening on
  brushed metal or fur, a soft shadow);
* ``texture_cue`` — the change of local gradient energy: texture removed (an
  object inpainted away) or added, while re-drawn texture of the same
  strength does not count.

``tone_field`` estimates the edit model's slowly varying tone drift from the
unchanged pixels, so it can be removed before the cues are measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from ..imaging.color import ciede2000

# busyness bins by quantile: even in the bulk, finer in the tail (the busiest pixels - strong edges, speculars - differ most)
BIN_QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.88, 0.93, 0.96, 0.98, 0.99, 0.995, 0.998, 1.0)
NOISE_QUANTILE = 0.99
# the first look, before anything is known to be changed: 5 x the median (the 99th percentile of re-rendering noise is
# 2-4.6 x its median for the colour, structure and region cues on real photos), which holds while a change covers
# less than half of the pixels of any busyness (a 90th percentile breaks once a change covers a tenth)
ROBUST = {"quantile": 0.5, "scale": 5.0}
LEVEL_FLOOR = {"colour": 0.4, "structure": 0.25, "lightness": 0.4, "region": 0.3, "texture": 0.15,  # least noise level per cue
               "combined": 1.0}  # the largest of the normalised cues: never below one cue's own level
GROWTH_SLACK = 1.25  # how much faster than busyness a bin's noise may rise (monotone_capped)
REGION_SIGMA = 4.0  # px over which the region and texture cues average
SOLAR_CYCLES = 6  # m = 2 * 6 + 1 = 13 folds over L* 0..100 (qa/solar.py's default)
EXTREME_L = (20.0, 82.0)  # L* below / above which the lightness cue applies (fully 8 L* beyond)


def busyness(L: np.ndarray) -> np.ndarray:
    """How busy the original is around each pixel: local spread of L* (σ 2 px) plus the gradient magnitude, ``[h, w]``."""
    import cv2

    mean = cv2.GaussianBlur(L, (0, 0), 2.0)
    var = cv2.GaussianBlur(L * L, (0, 0), 2.0) - mean * mean
    gx = cv2.Sobel(L, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(L, cv2.CV_32F, 0, 1, ksize=3) / 8
    return (np.sqrt(np.maximum(var, 0)) + np.sqrt(gx * gx + gy * gy)).astype(np.float32)


def colour_cue(lab_orig: np.ndarray, lab_edit: np.ndarray) -> np.ndarray:
    """CIEDE2000 between the two Lab images ``[h, w, 3]``."""
    return ciede2000(torch.from_numpy(lab_orig), torch.from_numpy(lab_edit), dim=-1).numpy()


def structure_cue(L_orig: np.ndarray, L_edit: np.ndarray) -> np.ndarray:
    """Length of the change of the L* gradient (L* per px, 3 x 3 Sobel), lightly blurred (σ 0.7 px)."""
    import cv2

    d = (L_edit - L_orig).astype(np.float32)
    gx = cv2.Sobel(d, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(d, cv2.CV_32F, 0, 1, ksize=3) / 8
    return cv2.GaussianBlur(np.sqrt(gx * gx + gy * gy), (0, 0), 0.7)


def extreme_weight(L: np.ndarray) -> np.ndarray:
    """1 in very light / very dark areas, 0 in the mid-tones, a ramp of 8 L* between."""
    lo, hi = EXTREME_L
    return np.clip(np.maximum(lo - L, L - hi) / 8.0 + 1.0, 0.0, 1.0).astype(np.float32)


def lightness_cue(L_orig: np.ndarray, L_edit: np.ndarray, cycles: int = SOLAR_CYCLES, weight: Optional[np.ndarray] = None) -> np.ndarray:
    """The solar-curve pair's distance between the two lightnesses, in L* units, where either is very light or dark.

    With ``m = 2 cycles + 1``, ``(sin, cos)(π m L/100)`` of both images are
    ``2 |sin(π m ΔL / 200)|`` apart: ``π m / 100 · |ΔL|`` for small ΔL (the
    solar stretch, scaled back by ``100 / π`` so it reads in L*·m units) and
    never zero for a ΔL below ``200 / m``. ``weight``: the larger
    ``extreme_weight`` of the two, when the caller has it already.
    """
    m = 2 * cycles + 1
    phase = np.pi * m / 100.0
    d = 2.0 * np.abs(np.sin(0.5 * phase * (L_edit - L_orig))) * (100.0 / np.pi)
    if weight is None:
        weight = np.maximum(extreme_weight(L_orig), extreme_weight(L_edit))
    return (d * weight).astype(np.float32)


def region_cue(lab_orig: np.ndarray, lab_edit: np.ndarray, sigma: float = REGION_SIGMA) -> np.ndarray:
    """Length of the Lab difference averaged over a Gaussian of ``sigma`` px, ``[h, w]``.

    Chroma differences are weighed down where the colour is saturated, as
    CIE94 / CIEDE2000 do (``Δa, Δb / (1 + 0.045 C*)``): a vivid colour drifts
    by more ΔE76 for the same visible change.
    """
    import cv2

    diff = (lab_edit - lab_orig).astype(np.float32)
    chroma = np.sqrt(lab_orig[..., 1] ** 2 + lab_orig[..., 2] ** 2)
    diff[..., 1:] /= (1.0 + 0.045 * chroma)[..., None]
    mean = cv2.GaussianBlur(diff, (0, 0), sigma)
    return np.sqrt((mean * mean).sum(-1)).astype(np.float32)


def texture_cue(L_orig: np.ndarray, L_edit: np.ndarray, sigma: float = REGION_SIGMA) -> np.ndarray:
    """How much the local gradient energy changed: ``|rms(∇L_edit) - rms(∇L_orig)|`` over a Gaussian of ``sigma`` px."""
    import cv2

    def rms_gradient(L):
        gx = cv2.Sobel(L, cv2.CV_32F, 1, 0, ksize=3) / 8
        gy = cv2.Sobel(L, cv2.CV_32F, 0, 1, ksize=3) / 8
        return np.sqrt(cv2.GaussianBlur(gx * gx + gy * gy, (0, 0), sigma))

    return np.abs(rms_gradient(L_edit) - rms_gradient(L_orig)).astype(np.float32)


@dataclass
class NoiseModel:
    """Per busyness bin: the bin's upper edge and the cue's noise level (``scale`` x a quantile over unchanged pixels)."""

    edges: np.ndarray
    level: np.ndarray


def monotone_capped(level: np.ndarray, edges: np.ndarray, slack: float = GROWTH_SLACK) -> np.ndarray:
    """Per-bin noise levels made to rise with busyness, but no faster than busyness itself (times ``slack`` per bin).

    Noise does not fall as the picture gets busier and grows about in
    proportion to busyness (a sub-pixel misalignment times the gradient). A
    bin whose level breaks that is a bin crowded by a change, not noise: a
    large flat recoloured area can fill the smoothest bins (their level is
    brought down to the least level of any busier bin), the edges of changes
    crowd the busiest bins (their rise is capped at busyness's own rise).
    """
    out = np.minimum.accumulate(level.astype(np.float32)[::-1])[::-1].copy()
    for b in range(1, len(out)):
        growth = max(1.0, float(edges[b]) / max(float(edges[b - 1]), 1e-6)) * slack
        out[b] = min(max(out[b], out[b - 1]), out[b - 1] * growth)
    return out


class BusyBins:
    """The pixels grouped by busyness once, for every cue of a pass: where each quiet pixel's bin is, and per pixel
    the two bin centres it is interpolated between.

    ``busy`` ``[h, w]``; ``quiet`` bool ``[h, w]``: the pixels noise is measured
    on (valid, not found changed). A subsample of at most 600 000 quiet pixels
    is plenty: the smallest bin keeps about a thousand.
    """

    def __init__(self, busy: np.ndarray, quiet: np.ndarray):
        flat = np.flatnonzero(quiet.ravel())
        self.enough = flat.size >= 50000
        self.sample = flat[:: max(1, flat.size // 600000)]
        level = busy.ravel()[self.sample]
        self.edges = np.quantile(level if self.enough else busy.ravel(), BIN_QUANTILES).astype(np.float32)
        bins = len(self.edges)
        which = np.minimum(np.searchsorted(self.edges, level), bins - 1).astype(np.int8)
        self.order = np.argsort(which, kind="stable")  # a radix sort of small integers: the sample grouped by bin
        self.counts = np.bincount(which, minlength=bins)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)])
        centres = np.concatenate([[self.edges[0] / 2], 0.5 * (self.edges[1:] + self.edges[:-1])])
        b = busy.ravel()
        hi = np.clip(np.searchsorted(centres, b), 1, bins - 1)
        lo = hi - 1
        frac = np.clip((b - centres[lo]) / np.maximum(centres[hi] - centres[lo], 1e-12), 0.0, 1.0)
        self.lo, self.hi, self.frac, self.shape = lo.astype(np.int8), hi.astype(np.int8), frac.astype(np.float32), busy.shape

    def model(self, cue: np.ndarray, floor: float, quantile: float = NOISE_QUANTILE, scale: float = 1.0,
              among: Optional[np.ndarray] = None) -> NoiseModel:
        """The cue's noise level per bin; ``among`` (bool ``[h, w]``) narrows the quiet pixels further (e.g. light areas)."""
        bins = len(self.edges)
        noise = np.full(bins, floor, np.float32)
        if not self.enough:
            return NoiseModel(self.edges, noise)
        grouped = cue.ravel()[self.sample][self.order]
        keep = among.ravel()[self.sample][self.order] if among is not None else None
        for b in range(bins):
            part = grouped[self.starts[b] : self.starts[b + 1]]
            if keep is not None:
                part = part[keep[self.starts[b] : self.starts[b + 1]]]
            if part.size:
                k = min(part.size - 1, int(quantile * part.size))
                noise[b] = max(floor, scale * float(np.partition(part, k)[k]))
        return NoiseModel(self.edges, monotone_capped(noise, self.edges))

    def per_pixel(self, model: NoiseModel) -> np.ndarray:
        """The model's level at every pixel, interpolated between bin centres, ``[h, w]``."""
        level = model.level
        return (level[self.lo] * (1 - self.frac) + level[self.hi] * self.frac).reshape(self.shape)


def evidence_of(cue: np.ndarray, bins: BusyBins, kind: str, weight: Optional[np.ndarray] = None, robust: bool = False):
    """``(z, model)``: ``cue`` over its noise level among equally busy quiet pixels (``weight``: where the cue applies;
    ``robust``: the first look, see ``ROBUST``)."""
    model = bins.model(cue, LEVEL_FLOOR[kind], among=None if weight is None else weight > 0.5, **(ROBUST if robust else {}))
    z = cue / bins.per_pixel(model)
    if weight is not None:
        z = z * weight
    return z.astype(np.float32), model


def tone_field(lab_orig: np.ndarray, lab_edit: np.ndarray, quiet: np.ndarray, sigma: float) -> np.ndarray:
    """The edit's slowly varying Lab drift ``[h, w, 3]``: ``edit - orig`` averaged (Gaussian ``sigma`` px) over ``quiet`` pixels only.

    Normalised convolution: changed pixels (not ``quiet``) neither pull the
    field nor leave a hole in it; the field over them is filled from around.
    """
    import cv2

    h, w = quiet.shape
    k = max(1, int(sigma // 5))  # on a grid k times coarser: the field is smooth, the blur k^2 times cheaper
    small = (max(1, w // k), max(1, h // k))
    weight = cv2.resize(quiet.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    diff = cv2.resize(((lab_edit - lab_orig) * quiet[..., None]).astype(np.float32), small, interpolation=cv2.INTER_AREA)
    den = cv2.GaussianBlur(weight, (0, 0), sigma / k)
    num = cv2.GaussianBlur(diff, (0, 0), sigma / k)
    field = (num / np.maximum(den, 1e-3)[..., None]).astype(np.float32)
    far = den <= 1e-3  # no quiet pixel within reach: the median drift of all quiet pixels
    if far.any():
        field[far] = np.median((lab_edit - lab_orig)[quiet], axis=0) if quiet.any() else 0.0
    return cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)


def colour_drift(orig_rgb: np.ndarray, edit_rgb: np.ndarray, where: np.ndarray, trim: float = 0.8, rounds: int = 2) -> np.ndarray:
    """The edit model's global colour drift, fitted on ``where``: ``[2, 3]``, per channel the exponent and the log gain
    of ``orig = gain * edit ** exponent``.

    Per channel, a gain and a gamma (what an edit model's re-rendering does
    to every colour at once), fitted by least squares in log space over at
    most 200 000 of the ``where`` pixels whose values are above 0.02 in both
    images; ``rounds`` times, the pixels with the largest residuals (beyond
    the ``trim`` quantile) are dropped and the fit is repeated, so changed
    pixels the mask missed do not pull it. Two parameters per channel, not a
    polynomial: a flexible fit made on a photo's dominant colours (dark
    water) bends the rare ones (a white beak) by more than the drift it
    removes, a power law does not. Apply with ``undo_colour_drift``.
    Identity when fewer than 1 000 pixels are usable.
    """
    identity = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]], np.float32)
    flat = np.flatnonzero(where.ravel())
    flat = flat[:: max(1, flat.size // 200000)]
    x = edit_rgb[..., :3].reshape(-1, 3)[flat].astype(np.float64)
    y = orig_rgb[..., :3].reshape(-1, 3)[flat].astype(np.float64)
    weights = identity.astype(np.float64)
    for c in range(3):
        usable = (x[:, c] > 0.02) & (y[:, c] > 0.02)
        if usable.sum() < 1000:
            continue
        lx, ly = np.log(x[usable, c]), np.log(y[usable, c])
        basis = np.stack([lx, np.ones_like(lx)], axis=1)
        keep = np.ones(len(lx), bool)
        for r in range(rounds + 1):
            weights[:, c] = np.linalg.lstsq(basis[keep], ly[keep], rcond=None)[0]
            if r < rounds:
                residual = np.abs(basis @ weights[:, c] - ly)
                keep = residual <= np.quantile(residual[keep], trim)
    return weights.astype(np.float32)


def undo_colour_drift(edit_rgb: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The edit ``[h, w, 3]`` with the drift ``colour_drift`` fitted removed (float32, not clipped)."""
    e = np.maximum(edit_rgb[..., :3].astype(np.float32), 1e-4)
    return (np.exp(weights[1]) * e ** weights[0]).astype(np.float32)
