"""Change detection at the edit's resolution: evidence over noise from several cues, hysteresis, an alpha that follows it.

``detect_changes`` (see ``cues.py`` for the cues and the noise model):

1. both images lightly blurred, to CIELAB; the edit's global colour shift
   (median ΔLab) removed, then its slowly varying tone field (estimated over
   the pixels a first pass found unchanged);
2. evidence ``z = max(colour, structure, lightness, region, texture)`` in
   units of each cue's noise among pixels equally busy; with a fixed
   ``threshold`` (ΔE00 > 0) the colour cue is measured against it instead
   of the noise;
3. changed = connected areas of ``z >= grow`` that reach ``z >= sensitivity``
   somewhere (hysteresis: soft tails join their change, noise specks do
   not), grouped (parts within a few px, e.g. the letters of a word, count
   together) and kept when a group covers ``min_area``;
4. alpha: how much to take from the edit, per pixel — rising with the
   evidence between ``grow`` and ``sensitivity`` (a fading shadow fades; a
   dip inside a change, narrower than ``2 RAMP_CLOSE`` px, is filled), and
   at a sharp boundary falling where the change's own magnitude drops below
   half of its nearby peak (the boundary of a blurred edge sits where the
   edge is, not a blur width outside it), and beside a strong change falling
   where a pixel's evidence is only the averaged tail of that change
   (``spread_weight``: re-drawn texture next to a word's ink stays the
   original's); a small hole inside a solid change is taken with it
   (``fill_holes``: no remnant of a removed object inside its fill);
5. what was not taken but stands out (``z >= possible``) is reported as a
   possible change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

from ..imaging.color import rgb_to_lab
from .cues import (REGION_SIGMA, BusyBins, busyness, colour_cue, colour_drift, evidence_of, extreme_weight, lightness_cue, region_cue, structure_cue,
                   texture_cue, tone_field, undo_colour_drift)

CUES = ("colour", "structure", "lightness", "region", "texture")
PIXEL_CUES = 3  # the first three of CUES compare single pixels; region and texture average over REGION_SIGMA
SPREAD_REACH = 8  # px: how far a strong change lends region evidence (two REGION_SIGMA)
SPREAD_SHARE = (0.2, 0.45)  # a pixel's region value over the largest within SPREAD_REACH: its own evidence below / above
SPREAD_OWN = (0.7, 1.2)  # per-pixel evidence at which a pixel counts as changed on its own (0 -> 1)
RAMP_CLOSE = 6  # px: dips of the evidence ramp narrower than twice this, inside a change, are filled (grey closing)
HOLE_SHARE = 0.1  # a hole in a taken area is taken too when it is at most this share of the area around it ...
HOLE_BODY = 8  # ... and that area is at least this many px thick somewhere (its largest inscribed radius): not a letter


@dataclass(frozen=True)
class DetectOptions:
    """Detection settings, in edit-resolution pixels unless said otherwise.

    ``threshold``: 0 (default) follows the measured noise; a CIEDE2000 value
    > 0 fixes the colour cue's threshold instead (the other cues still follow
    the noise). ``sensitivity``: evidence (in multiples of the noise level of
    pixels like it) a change must reach somewhere; ``grow``: evidence a pixel
    next to it needs to join it (default: half of ``sensitivity``);
    ``possible``: evidence that gets a region reported as a possible change
    (default: three quarters of ``sensitivity``).
    ``prefilter``: Gaussian sigma before comparing (resampling noise, grain).
    ``min_area``: a change (its parts within ``group_radius`` px together)
    smaller than this fraction of the edit is dropped. ``dilate``: grow the
    taken area by this many px (0: the evidence decides). ``tone_sigma``: the
    scale of the tone drift removed (px). ``least_delta_e``: a change whose
    largest CIEDE2000 stays below this is not taken (no one could see it; it
    is left to the possible changes).
    """

    threshold: float = 0.0
    sensitivity: float = 3.0
    grow: Optional[float] = None
    possible: Optional[float] = None
    prefilter: float = 1.0
    open_radius: int = 0
    min_area: float = 0.0002
    group_radius: int = 4
    dilate: int = 0
    tone_sigma: float = 64.0
    least_delta_e: float = 1.5

    def __post_init__(self):
        if self.grow is None:
            object.__setattr__(self, "grow", self.sensitivity / 2)
        if self.possible is None:
            object.__setattr__(self, "possible", 0.75 * self.sensitivity)
        if not 0 < self.grow <= self.sensitivity:
            raise ValueError(f"grow ({self.grow}) must be above 0 and at most sensitivity ({self.sensitivity})")


@dataclass
class Detection:
    """What ``detect_changes`` found, at the edit's size.

    ``mask`` uint8: the changed areas; ``alpha`` float32 in [0, 1]: how much
    of the edit to take (0 outside ``mask``); ``evidence``: ``z`` per pixel;
    ``delta_e``: CIEDE2000 after the shift and tone removal; ``cue``: which
    cue gave each pixel its evidence (index into ``CUES``); ``shift``: the
    global Lab shift removed; ``noise``: a summary of the noise models;
    ``possible``: regions that stand out but were not taken; ``structure``: the evidence that the edit drew or
    removed structure (the larger of the structure and texture cues'), which compositing reads.
    """

    mask: np.ndarray
    alpha: np.ndarray
    evidence: np.ndarray
    delta_e: np.ndarray
    cue: np.ndarray
    shift: np.ndarray
    noise: dict = field(default_factory=dict)
    possible: List[dict] = field(default_factory=list)
    structure: Optional[np.ndarray] = None


def _disk(radius: int) -> np.ndarray:
    import cv2

    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def global_shift(lab_orig: np.ndarray, lab_edit: np.ndarray, valid: np.ndarray, most: int = 250000) -> np.ndarray:
    """Median of ``edit - orig`` per Lab channel over valid pixels (an even subsample of at most ``most`` of them): the
    edit model's overall colour/exposure drift."""
    flat = np.flatnonzero(valid.ravel())
    if not flat.size:
        return np.zeros(3, np.float32)
    flat = flat[:: max(1, flat.size // most)]
    d = lab_edit.reshape(-1, 3)[flat] - lab_orig.reshape(-1, 3)[flat]
    return np.median(d, axis=0).astype(np.float32)


def hysteresis(strong: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """uint8: the connected areas of ``weak`` that contain a ``strong`` pixel (8-connected)."""
    import cv2

    n, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[strong & weak])] = True
    keep[0] = False
    return keep[labels].astype(np.uint8)


def drop_small_groups(mask: np.ndarray, min_px: float, radius: int) -> np.ndarray:
    """``mask`` without the groups (parts within ``radius`` px of each other) covering fewer than ``min_px`` pixels."""
    if not mask.any() or min_px <= 1:
        return mask
    n, labels = group_labels(mask, radius)
    area = np.bincount(labels[mask > 0], minlength=n)
    keep = area >= min_px
    keep[0] = False
    return (mask & keep[labels].astype(np.uint8)).astype(np.uint8)


def drop_faint_groups(mask: np.ndarray, delta_e: np.ndarray, least: float, radius: int) -> np.ndarray:
    """``mask`` without the groups whose largest CIEDE2000 stays below ``least``: a change no one could see."""
    if not mask.any() or least <= 0:
        return mask
    n, labels = group_labels(mask, radius)
    peak = np.zeros(n, np.float32)
    np.maximum.at(peak, labels[mask > 0], delta_e[mask > 0])
    keep = peak >= least
    keep[0] = False
    return (mask & keep[labels].astype(np.uint8)).astype(np.uint8)


def group_labels(mask: np.ndarray, radius: int) -> Tuple[int, np.ndarray]:
    """``(n, labels)``: int32 ``[h, w]``, one label per group of ``mask``'s parts lying within ``radius`` px of each
    other (the letters of a word), 0 outside ``mask``; ``n`` counts the background label too."""
    import cv2

    mask = mask.astype(np.uint8)
    grouped = cv2.dilate(mask, _disk(radius)) if radius > 0 else mask
    n, labels = cv2.connectedComponents(grouped, connectivity=8)
    labels[mask == 0] = 0
    return n, labels


def boundary_weight(magnitude: np.ndarray, local_mean: np.ndarray) -> np.ndarray:
    """Per pixel, the change's own magnitude over the magnitude of the change averaged around it, ramped to [0, 1] around 0.5.

    Inside a change, and along a smooth fall-off, a pixel's difference is
    about the local average's (ratio ~ 1); just outside a sharp boundary its
    difference is noise while the average still carries the change nearby
    (ratio ~ 0). So the alpha ends where the pixel's own difference drops to
    half of what is around it: at the boundary, not an averaging width
    outside it (the letters of a word stay letters).
    """
    ratio = magnitude / np.maximum(local_mean, 1e-6)
    return np.clip((ratio - 0.35) / 0.3, 0.0, 1.0).astype(np.float32)


def spread_weight(region: np.ndarray, z_pixel: np.ndarray, reach: int = SPREAD_REACH) -> np.ndarray:
    """1 where a pixel's evidence is its own, falling to 0 where it is only the averaged tail of a stronger change nearby.

    The region cue averages the difference over ``REGION_SIGMA`` px, so a
    strong change (the ink of a word, an object's outline) lends its
    neighbours region evidence several pixels out, over texture that was
    merely re-drawn. A pixel keeps its evidence if it stands out on its own
    (``z_pixel``: the per-pixel cues' evidence, ramped over ``SPREAD_OWN``)
    or if its region value is a fair share of the largest within ``reach``
    px (``SPREAD_SHARE``): the plateau of a coherent change (a darkening on
    metal, a removed patch whose fill crosses the original here and there)
    keeps it, the tail beside a word does not. ``[h, w]`` in, float32 [0, 1] out.
    """
    import cv2

    peak = cv2.dilate(region, _disk(reach))
    share = np.clip((region / np.maximum(peak, 1e-6) - SPREAD_SHARE[0]) / (SPREAD_SHARE[1] - SPREAD_SHARE[0]), 0.0, 1.0)
    own = np.clip((z_pixel - SPREAD_OWN[0]) / (SPREAD_OWN[1] - SPREAD_OWN[0]), 0.0, 1.0)
    return np.maximum(share, own).astype(np.float32)


def fill_dips(ramp: np.ndarray, radius: int = RAMP_CLOSE) -> np.ndarray:
    """``ramp`` ``[h, w]`` with its dips narrower than ``2 radius + 1`` px filled (a grey closing); never lower.

    Inside a change the evidence dips where the edit happens to come close
    to the original (a fill crossing the texture it replaced); those pixels
    belong to the change, and their alpha should not fade. A tail that
    falls outwards (a fading shadow), a bump and a plateau's edge are left
    as they are: the alpha still follows the evidence there.
    """
    import cv2

    return cv2.morphologyEx(ramp, cv2.MORPH_CLOSE, _disk(radius))


def fill_holes(alpha: np.ndarray, share: float = HOLE_SHARE, body: int = HOLE_BODY) -> np.ndarray:
    """``alpha`` ``[h, w]`` with the small holes of its taken area (``alpha >= 0.5``) set to 1; a new array.

    Inside a removed object the edit's fill comes close to the original here
    and there (the ring of a removed eye matches the fill's colour at the
    edit's size): those pixels still belong to the change, and keeping the
    original there leaves a remnant of what was removed inside the fill. A
    hole is filled when it is at most ``share`` of the taken area around it
    and that area is a body, not a stroke (at least ``body`` px from its
    edge somewhere): the counters of letters and the inside of a frame or a
    ring stay the original's.
    """
    import cv2

    taken = (alpha >= 0.5).astype(np.uint8)
    contours, hierarchy = cv2.findContours(taken, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    out = alpha.copy()
    if hierarchy is None:
        return out
    links = hierarchy[0]
    holes = [i for i in range(len(contours)) if links[i][3] >= 0]
    if not holes:
        return out
    depth = cv2.distanceTransform(taken, cv2.DIST_L2, 3)
    n, labels = cv2.connectedComponents(taken, connectivity=8)
    thickest = np.zeros(n, np.float32)
    np.maximum.at(thickest, labels.ravel(), depth.ravel())
    fill = np.zeros_like(taken)
    for i in holes:
        parent = links[i][3]
        outer = cv2.contourArea(contours[parent])
        if cv2.contourArea(contours[i]) > share * outer:
            continue
        x, y = contours[parent][0, 0]
        if thickest[labels[y, x]] < body:
            continue
        cv2.drawContours(fill, contours, i, 1, thickness=-1)
    out[(fill > 0) & (taken == 0)] = 1.0  # (the drawn hole includes the body's pixels around it: those keep their alpha)
    return out


def _blurred(rgb: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    rgb = np.ascontiguousarray(rgb[..., :3], np.float32)
    return cv2.GaussianBlur(rgb, (0, 0), sigma) if sigma > 0 else rgb


def _largest(cues) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(z, cue, z_pixel)`` of the evidence maps ``cues`` (in ``CUES`` order, ``[h, w]`` each): their maximum, the
    index of the first cue reaching it (uint8, as ``argmax``), and the maximum of the first ``PIXEL_CUES``."""
    z = cues[0].copy()
    cue = np.zeros(z.shape, np.uint8)
    z_pixel = None
    for k in range(1, len(cues)):
        if k == PIXEL_CUES:
            z_pixel = z.copy()
        cue[cues[k] > z] = k
        np.maximum(z, cues[k], out=z)
    return z, cue, z if z_pixel is None else z_pixel


def _evidence(lab_o: np.ndarray, lab_e: np.ndarray, region: np.ndarray, busy: np.ndarray, busy_wide: np.ndarray,
              quiet: np.ndarray, valid: np.ndarray, opts: DetectOptions, robust: bool = False):
    """``(z, cue index, delta_e, models, z_pixel, z_structure)`` for one pass (``robust``: the first look, nothing known to be changed yet).

    ``busy_wide``: the busyness averaged over ``REGION_SIGMA`` px, which the region and texture cues are binned by
    (they average over that support: the smooth inside of a small bright feature carries its edges' contrast).
    ``region``: ``region_cue`` of the two. ``z_pixel``: the largest evidence of the per-pixel cues alone (the first
    ``PIXEL_CUES``), which ``spread_weight`` reads; ``z_structure``: the larger of the structure and texture cues'
    evidence (``Detection.structure``).
    """
    bins = BusyBins(busy, quiet)
    wide = BusyBins(busy_wide, quiet)
    de = colour_cue(lab_o, lab_e)
    if opts.threshold > 0:  # a fixed ΔE00 threshold: the colour cue reaches `sensitivity` there
        z_colour, m_colour = (de * (opts.sensitivity / opts.threshold)).astype(np.float32), None
    else:
        z_colour, m_colour = evidence_of(de, bins, "colour", robust=robust)
    z_structure, m_structure = evidence_of(structure_cue(lab_o[..., 0], lab_e[..., 0]), bins, "structure", robust=robust)
    weight = np.maximum(extreme_weight(lab_o[..., 0]), extreme_weight(lab_e[..., 0]))
    z_light, m_light = evidence_of(lightness_cue(lab_o[..., 0], lab_e[..., 0], weight=weight), bins, "lightness", weight, robust=robust)
    z_region, m_region = evidence_of(region, wide, "region", robust=robust)
    if robust:  # the texture cue's median says little of its tail (its 99th percentile is up to 26 x the median)
        z_texture, m_texture = np.zeros_like(z_region), None
    else:
        z_texture, m_texture = evidence_of(texture_cue(lab_o[..., 0], lab_e[..., 0]), wide, "texture")
    z, cue, z_pixel = _largest((z_colour, z_structure, z_light, z_region, z_texture))
    z_structure = np.maximum(z_structure, z_texture)
    outside = ~valid
    for arr in (z, cue, z_pixel, z_structure):
        arr[outside] = 0
    m_combined = None
    if not robust:  # the largest of five cues exceeds 1 more often than any one of them: the combination's own level
        z, m_combined = evidence_of(z, bins, "combined")
    de[~valid] = 0.0
    return z, cue, de, {"colour": m_colour, "structure": m_structure, "lightness": m_light, "region": m_region,
                        "texture": m_texture, "combined": m_combined, "bins": bins}, z_pixel, z_structure


def _noise_summary(models: dict, busy: np.ndarray, opts: DetectOptions) -> dict:
    """The colour noise level (ΔE00, 99th percentile) and the ΔE00 a change needs, on smooth and busy pixels (10th / 90th busyness)."""
    out = {"threshold_mode": "fixed" if opts.threshold > 0 else "auto", "sensitivity": opts.sensitivity}
    m = models["colour"]
    if m is None:
        out["delta_e_needed"] = {"smooth": opts.threshold, "busy": opts.threshold}
        return out
    level = models["bins"].per_pixel(m).ravel()
    order = np.argsort(busy.ravel()[:: max(1, busy.size // 100000)])
    sample = level[:: max(1, busy.size // 100000)][order]
    noise = sample[[int(0.1 * (len(sample) - 1)), int(0.9 * (len(sample) - 1))]]
    out["delta_e_noise"] = {"smooth": round(float(noise[0]), 3), "busy": round(float(noise[1]), 3)}
    out["delta_e_needed"] = {"smooth": round(float(opts.sensitivity * noise[0]), 2), "busy": round(float(opts.sensitivity * noise[1]), 2)}
    return out


def group_stats(labels: np.ndarray, n: int) -> np.ndarray:
    """Per label of ``group_labels``: ``[x, y, w, h, area]`` (int64 ``[n, 5]``; row 0 is the background's, unused)."""
    stats = np.zeros((n, 5), np.int64)
    ys, xs = np.nonzero(labels)
    lab = labels[ys, xs]
    stats[:, 4] = np.bincount(lab, minlength=n)
    present = stats[:, 4] > 0
    for col, coord, reduce in ((0, xs, np.minimum), (1, ys, np.minimum)):
        first = np.full(n, np.iinfo(np.int64).max)
        reduce.at(first, lab, coord)
        stats[present, col] = first[present]
    for col, coord, start in ((2, xs, 0), (3, ys, 1)):
        last = np.full(n, -1)
        np.maximum.at(last, lab, coord)
        stats[present, col] = last[present] - stats[present, start] + 1
    return stats


def regions_of(mask: np.ndarray, values: dict, limit: int = 64, cue: Optional[np.ndarray] = None,
               group_radius: int = 0) -> List[dict]:
    """The groups of ``mask`` (parts within ``group_radius`` px count as one), largest first: box ``[x, y, w, h]``,
    area, the mean / max of each map in ``values`` and the cue that found most of it."""
    n, labels = group_labels(mask, group_radius)
    stats = group_stats(labels, n)
    order = (np.argsort(-stats[1:, 4], kind="stable") + 1)[:limit]
    out = []
    for k in order:
        x, y, w, h, area = (int(v) for v in stats[k])
        if area == 0:
            continue
        sel = labels[y : y + h, x : x + w] == k
        entry = {"box": [x, y, w, h], "area_px": area}
        for name, arr in values.items():
            v = arr[y : y + h, x : x + w][sel]
            entry[name] = [round(float(v.mean()), 2), round(float(v.max()), 2)]
        if cue is not None:
            entry["cue"] = CUES[int(np.bincount(cue[y : y + h, x : x + w][sel], minlength=len(CUES)).argmax())]
        out.append(entry)
    return out


def _decide(z: np.ndarray, opts: DetectOptions) -> np.ndarray:
    """uint8: hysteresis of the evidence, small groups dropped."""
    mask = hysteresis(z >= opts.sensitivity, z >= opts.grow)
    if opts.open_radius > 0:
        import cv2

        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _disk(opts.open_radius))
    return drop_small_groups(mask, opts.min_area * mask.size, opts.group_radius)


def detect_changes(orig_small: np.ndarray, aligned_edit: np.ndarray, valid: np.ndarray, opts: DetectOptions,
                   include: Optional[np.ndarray] = None, protect: Optional[np.ndarray] = None) -> Detection:
    """Find what the edit changed (see the module docstring); ``include`` / ``protect`` (bool ``[h, w]``) force pixels in / out."""
    import cv2

    rgb_o, rgb_e = _blurred(orig_small, opts.prefilter), _blurred(aligned_edit, opts.prefilter)
    lab_o = rgb_to_lab(rgb_o, dim=-1)
    lab_e = rgb_to_lab(rgb_e, dim=-1)  # a least-squares colour fit is not robust to a large change: a median shift first
    shift = global_shift(lab_o, lab_e, valid)
    lab_e -= shift
    busy = busyness(lab_o[..., 0])
    busy_wide = cv2.GaussianBlur(busy, (0, 0), REGION_SIGMA)
    z, cue, de, models, _, _ = _evidence(lab_o, lab_e, region_cue(lab_o, lab_e), busy, busy_wide, valid, valid, opts, robust=True)
    # pass 2: the colour and tone drift and the noise measured without what the first look found changed
    quiet = valid & ~(cv2.dilate(_decide(z, opts), _disk(6)) > 0)
    lab_e = rgb_to_lab(undo_colour_drift(rgb_e, colour_drift(rgb_o, rgb_e, quiet)), dim=-1)
    shift = global_shift(lab_o, lab_e, quiet)
    lab_e -= shift
    if opts.tone_sigma > 0:
        lab_e -= tone_field(lab_o, lab_e, quiet, opts.tone_sigma)
    region = region_cue(lab_o, lab_e)
    z, cue, de, models, z_pixel, z_structure = _evidence(lab_o, lab_e, region, busy, busy_wide, quiet, valid, opts)
    mask = drop_faint_groups(_decide(z, opts), de, opts.least_delta_e, opts.group_radius)
    magnitude = np.sqrt(((lab_e - lab_o) ** 2).sum(-1)).astype(np.float32)
    ramp = np.clip((z - opts.grow) / max(opts.sensitivity - opts.grow, 1e-3), 0.0, 1.0)
    ramp = fill_dips(ramp.astype(np.float32, copy=False))
    edge = boundary_weight(magnitude, region)
    edge = np.minimum(edge, spread_weight(region, z_pixel))
    if opts.dilate > 0 and mask.any():  # a hard area: the change up to its own boundary, grown
        mask = cv2.dilate(mask & (edge >= 0.5).astype(np.uint8), _disk(opts.dilate))
        alpha = mask.astype(np.float32)
    else:
        alpha = (mask * np.minimum(ramp, edge)).astype(np.float32)
    if mask.any():
        alpha = fill_holes(alpha)
        mask |= (alpha > 0).astype(np.uint8)
    if include is not None:
        mask |= include.astype(np.uint8)
        alpha[include] = 1.0
    if protect is not None:
        mask &= (~protect).astype(np.uint8)
        alpha[protect] = 0.0
    alpha[mask == 0] = 0.0
    possible_mask = drop_small_groups(((z >= opts.possible) & (mask == 0) & valid).astype(np.uint8),
                                      opts.min_area * mask.size / 4, opts.group_radius)
    possible = regions_of(possible_mask, {"delta_e": de, "evidence": z}, limit=16, cue=cue, group_radius=opts.group_radius)
    return Detection(mask, alpha, z, de, cue, shift, _noise_summary(models, busy, opts), possible, z_structure)
