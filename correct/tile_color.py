"""Per-tile colour correction against a GLOBAL_CONTEXT, before the tiles are merged.

Methods (``METHODS``), each with a ``strength`` in [0, 1]:

* ``reinhard_lab`` — match each tile's CIELAB mean and standard deviation to
  the co-located crop of the reference (Reinhard et al. 2001). Both standard
  deviations are measured at the reference's resolution, so fine detail the
  thumbnail cannot see is not flattened.
* ``wavelet_lowfreq`` — keep the tile's high frequencies and take the low
  ones from the reference crop (a wavelet approximation-band swap, as the
  StableSR colour fix does), float, all colour channels.
* ``joint_gain`` / ``joint_gain_lab`` — one least-squares problem over every
  tile for a per-tile, per-channel gain and offset, in RGB or in CIELAB:
  neighbouring tiles must agree pixel by pixel in their overlap, and every
  tile's low frequencies must match the reference's (the anchor), with weak
  priors towards identity. Solving all tiles at once (as panorama stitchers
  compensate exposure) leaves no chained pairwise drift. Applied per tile,
  the gains become a smooth field through the merge's partition of unity
  (the blend weights interpolate them between tile centres). RGB is the
  default because the drift tiled models produce (exposure, white balance,
  black level) is affine per channel there and not in Lab: on per-tile
  auto-levels plus channel gains the RGB fit leaves a seam colour jump of
  0.2 ΔE00 where the Lab fit leaves 4.9.

**Anchors.** A tile and the reference are compared over *the same
footprints*: the reference pixels lying wholly inside the tile's source box,
with the tile area-averaged over exactly those pixels (a sparse averaging
operator per axis, ``Footprints``), both low-passed alike. An unchanged tile
thus matches the reference exactly, and the anchors of a tile are computed
once per call: the solve, the drift before and (for the RGB gains, which
commute with averaging) the drift after all read them. The reference's own
low-passed crops are cached on the context, which never changes.

Colour is the first three channels (RGB); a fourth (alpha) and any further
channel pass through untouched. One-channel tiles (masks, grey) are
corrected on their value directly. The Lab methods apply a per-channel
affine map in CIELAB in one fused pass (``imaging.color.lab_affine``); an
identity correction returns the tile bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch

from ..imaging.color import ciede2000, lab_affine, rgb_to_lab
from ..imaging.filters import lowpass
from ..imaging.resample import resize_image, resize_planar
from ..tiling.compose import plan_for_tiles
from ..tiling.layout import IMAGE
from ..tiling.plan import TilePlan
from .frequency import frequency_merge
from .global_context import GlobalContext

METHODS = ("reinhard_lab", "wavelet_lowfreq", "joint_gain", "joint_gain_lab")
Progress = Optional[Callable[[int, int], None]]

# joint_gain weights (residuals in Lab units, each term a mean over its pixels)
ANCHOR_WEIGHT = 0.5
GAIN_PRIOR = 1e-2
OFFSET_PRIOR = 1e-4
STATS_PIXELS = 256  # overlaps are measured at about this many pixels across
LOWFREQ_LEVELS = 3  # octaves of the anchor's low-pass (tile and reference alike)

Box = Tuple[int, int, int, int]  # y, x, height, width in source pixels


# -- footprints and anchors ---------------------------------------------------------
def _area_operator(start: float, length: float, scale: float, cells: range, n_px: int) -> torch.Tensor:
    """Sparse ``[len(cells), n_px]``: the averaging weights of tile pixels over reference cells.

    Reference cell ``i`` covers source ``[i / scale, (i + 1) / scale)``; the tile's
    pixel ``p`` covers source ``[start + p * length / n_px, start + (p + 1) * length / n_px)``.
    """
    px = length / n_px
    lo = np.array([i / scale for i in cells])[:, None]
    first = np.clip(np.floor((lo[:, 0] - start) / px).astype(int), 0, n_px - 1)
    span = int(np.ceil((1.0 / scale) / px)) + 2  # pixels a cell can touch
    p = np.clip(first[:, None] + np.arange(span)[None, :], 0, n_px - 1)
    p0 = start + p * px
    weight = (np.minimum(lo + 1.0 / scale, p0 + px) - np.maximum(lo, p0)).clip(min=0.0)
    weight[:, 1:][p[:, 1:] == p[:, :-1]] = 0.0  # clipped indices repeat at the tile's edge: count them once
    weight /= weight.sum(axis=1, keepdims=True)
    rows = np.repeat(np.arange(len(cells)), span)
    index = torch.from_numpy(np.stack([rows, p.ravel()]))
    values = torch.from_numpy(weight.ravel().astype(np.float32))
    return torch.sparse_coo_tensor(index, values, (len(cells), n_px), check_invariants=False).coalesce()


@dataclass(frozen=True)
class Footprints:
    """Reference cells wholly inside a tile's source box and the averaging operators onto them (``[ry, th]``, ``[rx, tw]``)."""

    rows: slice
    cols: slice
    ay: torch.Tensor
    ax: torch.Tensor

    def average(self, tile: torch.Tensor) -> torch.Tensor:
        """``tile`` ``[h, w, C]`` area-averaged over the footprints: planar ``[1, C, ry, rx]`` float32."""
        h, w, c = tile.shape
        rows = torch.sparse.mm(self.ay, tile.reshape(h, w * c).float())  # [ry, w * C]
        ry = rows.shape[0]
        rows = rows.view(ry, w, c).permute(1, 0, 2).reshape(w, ry * c)
        cells = torch.sparse.mm(self.ax, rows)  # [rx, ry * C]
        return cells.view(-1, ry, c).permute(2, 1, 0)[None].contiguous()


def reference_footprints(context: GlobalContext, box: Box, tile_hw: Tuple[int, int]) -> Optional[Footprints]:
    """The footprints of a source ``box`` for tiles of ``tile_hw``; ``None`` when it holds fewer than 2 x 2 reference pixels."""
    y, x, h, w = box
    rh, rw = context.reference.shape[1:3]
    sy, sx = rh / context.source_height, rw / context.source_width
    i0, i1 = int(np.ceil(y * sy - 1e-9)), int(np.floor((y + h) * sy + 1e-9))
    j0, j1 = int(np.ceil(x * sx - 1e-9)), int(np.floor((x + w) * sx + 1e-9))
    if i1 - i0 < 2 or j1 - j0 < 2:
        return None
    return Footprints(slice(i0, i1), slice(j0, j1), _area_operator(y, h, sy, range(i0, i1), tile_hw[0]),
                      _area_operator(x, w, sx, range(j0, j1), tile_hw[1]))


def _levels(ry: int, rx: int) -> int:
    return max(0, min(LOWFREQ_LEVELS, int(np.log2(max(1, min(ry, rx) // 4)))))


@dataclass
class Anchor:
    """A tile (``current``) and the reference (``reference``) over the same footprints, low-passed alike: ``[1, C, ry, rx]``."""

    footprints: Footprints
    current: torch.Tensor
    reference: torch.Tensor

    def current_of(self, tile: torch.Tensor) -> torch.Tensor:
        """The same measurement of another version of the tile (e.g. after correction)."""
        return lowpass(self.footprints.average(tile), _levels(*self.current.shape[-2:]))


def _reference_low(context: GlobalContext, image: int, fp: Footprints) -> torch.Tensor:
    """The reference crop under ``fp``, low-passed: computed once per context (it never changes)."""
    key = (min(image, context.batch - 1), fp.rows.start, fp.rows.stop, fp.cols.start, fp.cols.stop)
    cache = context.derived.setdefault("tile_color.reference_low", {})
    if key not in cache:
        ref = context.reference[key[0], fp.rows, fp.cols].permute(2, 0, 1)[None].float()
        cache[key] = lowpass(ref, _levels(*ref.shape[-2:]))
    return cache[key]


def anchor(tile: torch.Tensor, context: GlobalContext, image: int, box: Box) -> Optional[Anchor]:
    fp = reference_footprints(context, box, tile.shape[:2])
    if fp is None:
        return None
    ref = _reference_low(context, image, fp)
    return Anchor(fp, lowpass(fp.average(tile), _levels(*ref.shape[-2:])), ref)


def _space(planar: torch.Tensor, lab: bool) -> torch.Tensor:
    """Planar ``[1, C, h, w]`` -> working space ``[1, K, h, w]``: Lab (or RGB) of the colour, or the grey value (K = 1)."""
    planar = planar.float()
    if planar.shape[1] >= 3:
        return rgb_to_lab(planar[:, :3]) if lab else planar[:, :3]
    return planar[:, :1]


def _drift(current: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean CIEDE2000 between two low-passed measurements (grey: 100 x the mean absolute difference).

    The measurements hold nothing finer than ``2^levels`` px (they were
    low-passed that far), so they are compared on that grid.
    """
    step = 2 ** _levels(*current.shape[-2:])
    current, reference = current[..., step // 2 :: step, step // 2 :: step], reference[..., step // 2 :: step, step // 2 :: step]
    if current.shape[1] >= 3:
        return float(ciede2000(rgb_to_lab(current[:, :3]), rgb_to_lab(reference[:, :3]), dim=1).mean())
    return float(100 * (current[:, :1] - reference[:, :1]).abs().mean())


# -- the methods --------------------------------------------------------------------
def _box(plan: TilePlan, index: int) -> Box:
    t = plan.tiles[index % plan.count]
    return t.y, t.x, t.height, t.width


def _reference_size(context: GlobalContext, h: int, w: int) -> Tuple[int, int]:
    """How many reference pixels a source box of ``h x w`` spans (at least 2)."""
    rh, rw = context.reference.shape[1:3]
    return max(2, round(h * rh / context.source_height)), max(2, round(w * rw / context.source_width))


def _pairs(plan: TilePlan) -> List[Tuple[int, int]]:
    """Neighbouring tile pairs (right and bottom neighbours)."""
    out = []
    for t in plan:
        nb = plan.neighbours(t.index)
        for key in ("right", "bottom"):
            if nb[key] is not None:
                out.append((t.index, nb[key]))
    return out


def _overlap(plan: TilePlan, i: int, j: int) -> Tuple[slice, slice, slice, slice]:
    """Local slices of the overlap of tiles ``i`` and ``j`` inside each of them."""
    a, b = plan.tiles[i], plan.tiles[j]
    y0, y1 = max(a.y, b.y), min(a.y + a.height, b.y + b.height)
    x0, x1 = max(a.x, b.x), min(a.x + a.width, b.x + b.width)
    return (slice(y0 - a.y, y1 - a.y), slice(x0 - a.x, x1 - a.x), slice(y0 - b.y, y1 - b.y), slice(x0 - b.x, x1 - b.x))


def _stats_size(h: int, w: int) -> Tuple[int, int]:
    f = max(1.0, max(h, w) / STATS_PIXELS)
    return max(1, round(h / f)), max(1, round(w / f))


def _overlap_stats(strip: torch.Tensor, lab: bool, unit: float) -> torch.Tensor:
    """An overlap strip ``[h, w, C]`` at about ``STATS_PIXELS`` across, in the working space: ``[K, P]`` float64."""
    small = resize_image(strip[None], *_stats_size(*strip.shape[:2]), "area")
    return unit * _space(small.permute(0, 3, 1, 2), lab)[0].flatten(1).double()


def solve_joint_gain(tiles: torch.Tensor, plan: TilePlan, anchors: List[Optional[Anchor]], image: int, lab: bool = False) -> np.ndarray:
    """Gains and offsets ``[count, K, 2]`` (K = 3 colour channels, or 1) for the tiles of one image.

    ``plan`` is in the tiles' coordinates; ``anchors`` are the image's tiles'
    anchors. Residuals are in Lab units, or in RGB x 100 so the weights mean
    the same in both spaces.
    """
    unit = 1.0 if lab else 100.0
    n = plan.count
    k = 3 if tiles.shape[-1] >= 3 else 1
    a_mat = np.zeros((k, 2 * n, 2 * n))
    rhs = np.zeros((k, 2 * n))
    # neighbours agree pixel by pixel in their overlap (measured in the colour space of the fit; Lab is not linear,
    # so its strips are averaged in RGB first: both tiles alike)
    for i, j in _pairs(plan):
        ya, xa, yb, xb = _overlap(plan, i, j)
        pa, pb = tiles[image * n + i][ya, xa], tiles[image * n + j][yb, xb]
        if pa.numel() == 0:
            continue
        la, lb = _overlap_stats(pa, lab, unit), _overlap_stats(pb, lab, unit)
        cnt = la.shape[1]
        saa, sbb, sab = (la * la).sum(1) / cnt, (lb * lb).sum(1) / cnt, (la * lb).sum(1) / cnt
        sa, sb = la.sum(1) / cnt, lb.sum(1) / cnt
        idx = np.array([2 * i, 2 * i + 1, 2 * j, 2 * j + 1])
        for c in range(k):
            block = np.array([[saa[c], sa[c], -sab[c], -sa[c]], [sa[c], 1, -sb[c], -1],
                              [-sab[c], -sb[c], sbb[c], sb[c]], [-sa[c], -1, sb[c], 1]])
            a_mat[c][np.ix_(idx, idx)] += block
    # every tile's low frequencies match the reference's over the same footprints (anchors the solution)
    for t, anc in enumerate(anchors):
        if anc is None:
            continue
        cur = unit * _space(anc.current, lab)[0].flatten(1).double()
        tgt = unit * _space(anc.reference, lab)[0].flatten(1).double()
        cnt = cur.shape[1]
        g, o = 2 * t, 2 * t + 1
        for c in range(k):
            a_mat[c][g, g] += ANCHOR_WEIGHT * float((cur[c] * cur[c]).sum()) / cnt
            a_mat[c][g, o] += ANCHOR_WEIGHT * float(cur[c].sum()) / cnt
            a_mat[c][o, g] += ANCHOR_WEIGHT * float(cur[c].sum()) / cnt
            a_mat[c][o, o] += ANCHOR_WEIGHT
            rhs[c][g] += ANCHOR_WEIGHT * float((cur[c] * tgt[c]).sum()) / cnt
            rhs[c][o] += ANCHOR_WEIGHT * float(tgt[c].sum()) / cnt
    for c in range(k):  # weak priors: gain 1, offset 0
        a_mat[c][np.arange(0, 2 * n, 2), np.arange(0, 2 * n, 2)] += GAIN_PRIOR
        rhs[c][0::2] += GAIN_PRIOR
        a_mat[c][np.arange(1, 2 * n, 2), np.arange(1, 2 * n, 2)] += OFFSET_PRIOR
    sol = np.stack([np.linalg.solve(a_mat[c], rhs[c]) for c in range(k)])  # [K, 2n]
    sol = sol.reshape(k, n, 2).transpose(1, 0, 2).copy()
    sol[..., 1] /= unit
    return sol


def _affine_rgb(tile: torch.Tensor, gain: np.ndarray, offset: np.ndarray, out: torch.Tensor) -> None:
    """``out = tile * gain + offset`` on the first ``len(gain)`` channels (one pass on the row view), the rest copied."""
    h, w, c = tile.shape
    k = len(gain)
    g = torch.ones(c, dtype=tile.dtype)
    o = torch.zeros(c, dtype=tile.dtype)
    g[:k], o[:k] = torch.from_numpy(gain.astype(np.float32)), torch.from_numpy(offset.astype(np.float32))
    torch.addcmul(o.repeat(w), tile.reshape(h, w * c), g.repeat(w), out=out.view(h, w * c))


def _affine_lab(tile: torch.Tensor, gain: np.ndarray, offset: np.ndarray, out: torch.Tensor) -> None:
    """The same map in CIELAB for colour tiles (grey tiles: on the value), extra channels copied."""
    if tile.shape[-1] < 3:
        return _affine_rgb(tile, gain, offset, out)
    out[..., :3] = lab_affine(tile[..., :3], gain, offset, dim=-1).to(tile.dtype)
    out[..., 3:] = tile[..., 3:]


def fit_to_surround(tile: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, ridge: float = 1e-4) -> Tuple[np.ndarray, np.ndarray]:
    """Per-channel gain and offset (colour channels: the first three, or one for grey) taking ``tile`` to ``target``
    by least squares weighted by ``weight`` (``[h, w]`` in [0, 1]; ``tile`` / ``target`` ``[h, w, C]``, same size).

    ``ridge`` pulls the gain towards 1 where the weighted pixels hardly vary
    (a white wall: only the offset is fitted there); the gain is kept within
    [0.5, 2]. Weights summing to under one pixel give the identity.
    """
    k = min(tile.shape[-1], 3) if tile.shape[-1] != 2 else 1
    w = weight.double().reshape(-1, 1)
    total = float(w.sum())
    if total < 1.0:
        return np.ones(k), np.zeros(k)
    x = tile[..., :k].double().reshape(-1, k)
    y = target[..., :k].double().reshape(-1, k)
    mx, my = (w * x).sum(0) / total, (w * y).sum(0) / total
    vx = (w * (x - mx) ** 2).sum(0) / total
    cxy = (w * (x - mx) * (y - my)).sum(0) / total
    gain = ((cxy + ridge) / (vx + ridge)).clamp(0.5, 2.0)
    return gain.numpy(), (my - gain * mx).numpy()


def match_to_surround(tiles: torch.Tensor, targets: Callable[[int], torch.Tensor], weights: Callable[[int], torch.Tensor],
                      progress: Progress = None) -> torch.Tensor:
    """``tiles`` ``[N, h, w, C]`` each mapped by the gain and offset (``fit_to_surround``) that make it match
    ``targets(k)`` where ``weights(k)`` is high: e.g. a redrawn seam tile made to agree with the merged image around
    the zone it redraws. A new contiguous tensor; extra channels (alpha) are copied."""
    out = torch.empty(tiles.shape, dtype=tiles.dtype, device=tiles.device)
    for k in range(tiles.shape[0]):
        gain, offset = fit_to_surround(tiles[k], targets(k), weights(k))
        _affine_rgb(tiles[k], gain, offset, out[k])
        if progress is not None:
            progress(k + 1, tiles.shape[0])
    return out


def _reinhard_map(anc: Optional[Anchor], tile: torch.Tensor, ref: torch.Tensor, strength: float) -> Tuple[np.ndarray, np.ndarray]:
    """Per-channel gain and offset (Lab, or the grey value) matching the tile's mean / spread to the reference crop's.

    The tile's statistics are taken at the reference's resolution: over the
    anchor's footprints, or an area average to the crop's size.
    """
    small = anc.footprints.average(tile) if anc is not None else resize_planar(tile.permute(2, 0, 1)[None].float(), *ref.shape[:2], "area")
    cur = _space(small, True)
    tgt = _space(ref.permute(2, 0, 1)[None], True)
    mu_t, sd_t = cur.mean(dim=(2, 3)), cur.std(dim=(2, 3))
    mu_r, sd_r = tgt.mean(dim=(2, 3)), tgt.std(dim=(2, 3))
    ratio = torch.where(sd_t > 1e-3, sd_r / sd_t.clamp(min=1e-3), torch.ones_like(sd_t)).clamp(0.5, 2.0)
    gain = 1 + strength * (ratio - 1)
    offset = mu_t * (1 - gain) + strength * (mu_r - mu_t)
    return gain[0].double().numpy(), offset[0].double().numpy()


def wavelet_lowfreq(tile: torch.Tensor, ref: torch.Tensor, strength: float) -> torch.Tensor:
    """``tile``'s high frequencies with ``ref``'s low ones (all colour channels; alpha untouched)."""
    k = min(tile.shape[-1], 3) if tile.shape[-1] != 2 else 1
    out = tile.clone()
    out[..., :k] = frequency_merge(tile[None, ..., :k], ref[None, ..., :k], method="wavelet", strength=strength)[0].to(tile.dtype)
    return out


def check_channels(tiles: torch.Tensor, context: GlobalContext) -> None:
    """Colour tiles (3+ channels) need a colour context, grey tiles (1-2) a grey one; say which is which otherwise."""
    t, r = tiles.shape[-1], context.reference.shape[-1]
    if (t >= 3) != (r >= 3):
        kind = lambda c: "colour" if c >= 3 else "grey"  # noqa: E731
        raise ValueError(f"tiles have {t} channel(s) ({kind(t)}) but the context was built from a {r}-channel ({kind(r)}) "
                         "image; build the context from the image that was split")


def _check(tiles: torch.Tensor, plan: TilePlan, context: GlobalContext) -> TilePlan:
    context.check_source(plan.height, plan.width)
    if context.batch not in (1, plan.batch):
        raise ValueError(f"the global context holds {context.batch} images but the tiles come from {plan.batch}")
    check_channels(tiles, context)
    return plan_for_tiles(plan, tiles, IMAGE)


@dataclass
class Correction:
    """What ``correct_and_measure`` returns: the tiles, and each tile's drift from the reference before and after."""

    tiles: torch.Tensor
    drift_before: torch.Tensor  # [batch * count], mean CIEDE2000 of low frequencies (grey: 100 x mean abs)
    drift_after: torch.Tensor


def correct_and_measure(tiles: torch.Tensor, plan: TilePlan, context: GlobalContext, method: str = "joint_gain",
                        strength: float = 1.0, progress: Progress = None) -> Correction:
    """Colour-correct a tile batch ``[plan.batch * plan.count, h, w, C]`` against ``context``, and report the drift.

    Tiles may be resized relative to the plan (e.g. upscaled); ``context``
    must come from the image that was split. Every tile's anchor is measured
    once and serves the solve and both drift reports.
    """
    if method not in METHODS:
        raise ValueError(f"unknown colour correction {method!r}; choose one of {', '.join(METHODS)}")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    scaled = _check(tiles, plan, context)
    n, total = plan.count, plan.batch * plan.count
    out = torch.empty(tiles.shape, dtype=tiles.dtype, device=tiles.device)  # contiguous, whatever the input's layout
    before, after = torch.zeros(total), torch.zeros(total)
    for b in range(plan.batch):
        anchors = [anchor(tiles[b * n + t], context, b, _box(plan, t)) for t in range(n)]
        for t, anc in enumerate(anchors):
            if anc is not None:
                before[b * n + t] = _drift(anc.current, anc.reference)
        solution = solve_joint_gain(tiles, scaled, anchors, b, method == "joint_gain_lab") if method.startswith("joint_gain") else None
        for t, anc in enumerate(anchors):
            k = b * n + t
            tile = tiles[k]
            if strength == 0.0:
                out[k] = tile
            elif solution is not None:
                gain = 1 + strength * (solution[t, :, 0] - 1)
                offset = strength * solution[t, :, 1]
                (_affine_lab if method == "joint_gain_lab" else _affine_rgb)(tile, gain, offset, out[k])
                if anc is not None and method == "joint_gain":  # averaging and the low-pass commute with the gains
                    view = [1, -1, 1, 1]
                    current = anc.current.clone()
                    current[:, : len(gain)] = (current[:, : len(gain)] * torch.from_numpy(gain.astype(np.float32)).view(view)
                                               + torch.from_numpy(offset.astype(np.float32)).view(view))
                    after[k] = _drift(current, anc.reference)
                    anc = None
            elif method == "reinhard_lab":
                box = _box(plan, t)
                ref = (context.reference[min(b, context.batch - 1), anc.footprints.rows, anc.footprints.cols] if anc is not None
                       else context.crop(b, *box, *_reference_size(context, box[2], box[3])))
                gain, offset = _reinhard_map(anc, tile, ref.to(tiles.dtype), strength)
                _affine_lab(tile, gain, offset, out[k])
            else:
                y, x, h, w = _box(plan, t)
                out[k] = wavelet_lowfreq(tile, context.crop(b, y, x, h, w, *_reference_size(context, h, w)).to(tiles.dtype), strength)
            if anc is not None:
                after[k] = _drift(anc.current_of(out[k]), anc.reference)
            if progress is not None:
                progress(k + 1, total)
    return Correction(out, before, after)


def correct_tiles(tiles: torch.Tensor, plan: TilePlan, context: GlobalContext, method: str = "joint_gain", strength: float = 1.0,
                  progress: Progress = None) -> torch.Tensor:
    """``correct_and_measure``'s tiles (a new batch; ``strength`` 0 gives a copy)."""
    return correct_and_measure(tiles, plan, context, method, strength, progress).tiles


def tile_drift(tiles: torch.Tensor, plan: TilePlan, context: GlobalContext) -> torch.Tensor:
    """Per tile, the mean CIEDE2000 between its low frequencies and the reference's: ``[batch * count]``.

    Both are compared over the same reference footprints and low-passed
    alike (as ``joint_gain``'s anchor); 0 means the tile's colours match the
    whole picture. Grey tiles report 100 x the mean absolute difference.
    """
    _check(tiles, plan, context)
    out = torch.zeros(tiles.shape[0])
    for k in range(tiles.shape[0]):
        b, t = divmod(k, plan.count)
        anc = anchor(tiles[k], context, b, _box(plan, t))
        if anc is not None:
            out[k] = _drift(anc.current, anc.reference)
    return out


__all__ = ["METHODS", "Anchor", "Correction", "Footprints", "anchor", "check_channels", "correct_and_measure", "correct_tiles",
           "reference_footprints", "solve_joint_gain", "tile_drift", "wavelet_lowfreq"]
