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
  neighbouring tiles must agree
  pixel by pixel in their overlap, and every tile's low frequencies must match
  the reference's (the anchor), with weak priors towards identity. Solving all
  tiles at once (as panorama stitchers compensate exposure) leaves no chained
  pairwise drift. Applied per tile, the gains become a smooth field through
  the merge's partition of unity (the blend weights interpolate them between
  tile centres). RGB is the default because the drift tiled models produce
  (exposure, white balance, black level) is affine per channel there and not
  in Lab: on per-tile auto-levels plus channel gains the RGB fit leaves a
  seam colour jump of 0.2 ΔE00 where the Lab fit leaves 4.9.

Colour is the first three channels (RGB); a fourth (alpha) and any further
channel pass through untouched. One-channel tiles (masks, grey) are
corrected on their value directly. Corrections are applied as a difference
of two Lab -> RGB conversions, so an identity correction returns the tile bit
for bit and the Lab round trip adds no error.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Tuple

import numpy as np
import torch

from ..imaging.color import ciede2000, lab_to_rgb, rgb_to_lab
from ..imaging.filters import lowpass
from ..imaging.resample import resize_planar
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
STATS_PIXELS = 256  # overlaps and anchors are measured at about this many pixels across
LOWFREQ_LEVELS = 3  # octaves of the anchor's low-pass (tile and reference alike)


def _space(planar: torch.Tensor, lab: bool = True) -> torch.Tensor:
    """Planar ``[1, C, h, w]`` -> working space ``[1, K, h, w]``: Lab (or RGB) of the colour, or the grey value (K = 1)."""
    planar = planar.float()
    if planar.shape[1] >= 3:
        return rgb_to_lab(planar[:, :3]) if lab else planar[:, :3]
    return planar[:, :1]


def _colour_space(tile: torch.Tensor, lab: bool = True) -> torch.Tensor:
    """``[h, w, C]`` -> working space ``[1, K, h, w]``."""
    return _space(tile.permute(2, 0, 1)[None], lab)


def _apply_space(tile: torch.Tensor, new: torch.Tensor, old: torch.Tensor, lab: bool = True) -> torch.Tensor:
    """Write the colour change ``old -> new`` (working space) into ``tile`` ``[h, w, C]``, other channels untouched."""
    out = tile.clone()
    if tile.shape[-1] >= 3 and lab:
        delta = lab_to_rgb(new, clip=False) - lab_to_rgb(old, clip=False)
        out[..., :3] += delta[0].permute(1, 2, 0).to(tile.dtype)
    else:
        k = new.shape[1]
        out[..., :k] += (new - old)[0].permute(1, 2, 0).to(tile.dtype)
    return out


def _box(plan: TilePlan, index: int) -> Tuple[int, int, int, int]:
    t = plan.tiles[index % plan.count]
    return t.y, t.x, t.height, t.width


def _reference_size(context: GlobalContext, h: int, w: int) -> Tuple[int, int]:
    """How many reference pixels a source box of ``h x w`` spans (at least 2)."""
    rh, rw = context.reference.shape[1:3]
    return max(2, round(h * rh / context.source_height)), max(2, round(w * rw / context.source_width))


def _area_matrix(start: float, length: float, scale: float, cells: range, n_px: int) -> torch.Tensor:
    """``[len(cells), n_px]``: averaging weights of tile pixels over reference cells.

    Reference cell ``i`` covers source ``[i / scale, (i + 1) / scale)``; the tile's
    pixel ``p`` covers source ``[start + p * length / n_px, start + (p + 1) * length / n_px)``.
    """
    px = length / n_px
    lo = torch.tensor([i / scale for i in cells], dtype=torch.float64)[:, None]
    hi = lo + 1.0 / scale
    p0 = start + torch.arange(n_px, dtype=torch.float64)[None, :] * px
    overlap = (torch.minimum(hi, p0 + px) - torch.maximum(lo, p0)).clamp(min=0.0)
    return overlap / overlap.sum(dim=1, keepdim=True)


def reference_footprints(context: GlobalContext, box: Tuple[int, int, int, int], tile_hw: Tuple[int, int]):
    """Reference pixels lying wholly inside a source ``box``, and how to average a tile over them.

    Returns ``(rows, cols, ay, ax)``: slices into the reference and matrices
    such that ``ay @ tile @ ax.T`` is the tile area-averaged over exactly those
    pixels' footprints (what area downsampling computed for the reference).
    ``None`` when the box holds fewer than 2 x 2 reference pixels.
    """
    y, x, h, w = box
    rh, rw = context.reference.shape[1:3]
    sy, sx = rh / context.source_height, rw / context.source_width
    i0, i1 = int(np.ceil(y * sy - 1e-9)), int(np.floor((y + h) * sy + 1e-9))
    j0, j1 = int(np.ceil(x * sx - 1e-9)), int(np.floor((x + w) * sx + 1e-9))
    if i1 - i0 < 2 or j1 - j0 < 2:
        return None
    ay = _area_matrix(y, h, sy, range(i0, i1), tile_hw[0])
    ax = _area_matrix(x, w, sx, range(j0, j1), tile_hw[1])
    return slice(i0, i1), slice(j0, j1), ay, ax


def _area_average(tile: torch.Tensor, ay: torch.Tensor, ax: torch.Tensor) -> torch.Tensor:
    """``[h, w, C]`` -> planar ``[1, C, ry, rx]`` via the footprint matrices."""
    planar = tile.permute(2, 0, 1).double()
    return (ay @ planar @ ax.T)[None].float()


def _anchor_pair(tile: torch.Tensor, context: GlobalContext, image: int, box) -> Optional[Tuple[torch.Tensor, torch.Tensor]]:
    """The tile and the reference over the same footprints, both low-passed alike: planar ``[1, C, ry, rx]`` each."""
    fp = reference_footprints(context, box, tile.shape[:2])
    if fp is None:
        return None
    rows, cols, ay, ax = fp
    ref = context.reference[min(image, context.batch - 1), rows, cols].permute(2, 0, 1)[None].float()
    cur = _area_average(tile, ay, ax)
    levels = max(0, min(LOWFREQ_LEVELS, int(np.log2(max(1, min(ref.shape[-2:]) // 4)))))
    return lowpass(cur, levels), lowpass(ref, levels)


def reinhard_lab(tile: torch.Tensor, ref: torch.Tensor, strength: float, small: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Match ``tile`` ``[h, w, C]`` to reference crop ``ref`` ``[rh, rw, C]`` in Lab mean / std.

    ``small`` is the tile at the reference's resolution (planar ``[1, C, rh, rw]``)
    where the statistics are compared; by default an area average.
    """
    old = _colour_space(tile)
    tgt = _colour_space(ref)
    small = _space(small) if small is not None else resize_planar(old, *ref.shape[:2], "area")
    mu_t, sd_t = small.mean(dim=(2, 3), keepdim=True), small.std(dim=(2, 3), keepdim=True)
    mu_r, sd_r = tgt.mean(dim=(2, 3), keepdim=True), tgt.std(dim=(2, 3), keepdim=True)
    ratio = torch.where(sd_t > 1e-3, sd_r / sd_t.clamp(min=1e-3), torch.ones_like(sd_t)).clamp(0.5, 2.0)
    gain = 1 + strength * (ratio - 1)
    new = (old - mu_t) * gain + mu_t + strength * (mu_r - mu_t)
    return _apply_space(tile, new, old)


def wavelet_lowfreq(tile: torch.Tensor, ref: torch.Tensor, strength: float) -> torch.Tensor:
    """``tile``'s high frequencies with ``ref``'s low ones (all colour channels; alpha untouched)."""
    k = min(tile.shape[-1], 3) if tile.shape[-1] != 2 else 1
    out = tile.clone()
    out[..., :k] = frequency_merge(tile[None, ..., :k], ref[None, ..., :k], method="wavelet", strength=strength)[0].to(tile.dtype)
    return out


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


def solve_joint_gain(tiles: torch.Tensor, plan: TilePlan, src_plan: TilePlan, context: GlobalContext, image: int, lab: bool = False) -> np.ndarray:
    """Gains and offsets ``[count, K, 2]`` (K = 3 colour channels, or 1) for the tiles of one image.

    ``plan`` is in the tiles' coordinates, ``src_plan`` in source pixels (for
    the reference crops). Residuals are in Lab units, or in RGB x 100 so the
    weights mean the same in both spaces.
    """
    unit = 1.0 if lab else 100.0
    n = plan.count
    first = tiles[image * n]
    k = 3 if first.shape[-1] >= 3 else 1
    a_mat = np.zeros((k, 2 * n, 2 * n))
    rhs = np.zeros((k, 2 * n))
    # neighbours agree pixel by pixel in their overlap
    for i, j in _pairs(plan):
        ya, xa, yb, xb = _overlap(plan, i, j)
        pa, pb = tiles[image * n + i][ya, xa], tiles[image * n + j][yb, xb]
        if pa.numel() == 0:
            continue
        size = _stats_size(*pa.shape[:2])
        la = unit * resize_planar(_colour_space(pa, lab), *size, "area")[0].flatten(1).double()  # [K, P]
        lb = unit * resize_planar(_colour_space(pb, lab), *size, "area")[0].flatten(1).double()
        cnt = la.shape[1]
        saa, sbb, sab = (la * la).sum(1) / cnt, (lb * lb).sum(1) / cnt, (la * lb).sum(1) / cnt
        sa, sb = la.sum(1) / cnt, lb.sum(1) / cnt
        gi, oi, gj, oj = 2 * i, 2 * i + 1, 2 * j, 2 * j + 1
        for c in range(k):
            block = np.array([[saa[c], sa[c], -sab[c], -sa[c]], [sa[c], 1, -sb[c], -1],
                              [-sab[c], -sb[c], sbb[c], sb[c]], [-sa[c], -1, sb[c], 1]])
            idx = np.array([gi, oi, gj, oj])
            a_mat[c][np.ix_(idx, idx)] += block
    # every tile's low frequencies match the reference's over the same footprints (anchors the solution)
    for t in range(n):
        pair = _anchor_pair(tiles[image * n + t], context, image, _box(src_plan, t))
        if pair is None:
            continue
        cur = unit * _space(pair[0], lab)[0].flatten(1).double()
        tgt = unit * _space(pair[1], lab)[0].flatten(1).double()
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


def apply_gain(tile: torch.Tensor, gain_offset: np.ndarray, strength: float, lab: bool = False) -> torch.Tensor:
    """Apply per-channel ``gain_offset`` ``[K, 2]`` (working space) to ``tile`` ``[h, w, C]``."""
    old = _colour_space(tile, lab)
    g = torch.tensor(1 + strength * (gain_offset[:, 0] - 1), dtype=old.dtype).view(1, -1, 1, 1)
    o = torch.tensor(strength * gain_offset[:, 1], dtype=old.dtype).view(1, -1, 1, 1)
    return _apply_space(tile, old * g + o, old, lab)


def check_channels(tiles: torch.Tensor, context: GlobalContext) -> None:
    """Colour tiles (3+ channels) need a colour context, grey tiles (1-2) a grey one; say which is which otherwise."""
    t, r = tiles.shape[-1], context.reference.shape[-1]
    if (t >= 3) != (r >= 3):
        kind = lambda c: "colour" if c >= 3 else "grey"  # noqa: E731
        raise ValueError(f"tiles have {t} channel(s) ({kind(t)}) but the context was built from a {r}-channel ({kind(r)}) "
                         "image; build the context from the image that was split")


def correct_tiles(
    tiles: torch.Tensor,
    plan: TilePlan,
    context: GlobalContext,
    method: str = "joint_gain",
    strength: float = 1.0,
    progress: Progress = None,
) -> torch.Tensor:
    """Colour-correct a tile batch ``[plan.batch * plan.count, h, w, C]`` against ``context``.

    Tiles may be resized relative to the plan (e.g. upscaled); ``context``
    must come from the image that was split. Returns a new tile batch.
    """
    if method not in METHODS:
        raise ValueError(f"unknown colour correction {method!r}; choose one of {', '.join(METHODS)}")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    context.check_source(plan.height, plan.width)
    if context.batch not in (1, plan.batch):
        raise ValueError(f"the global context holds {context.batch} images but the tiles come from {plan.batch}")
    check_channels(tiles, context)
    scaled = plan_for_tiles(plan, tiles, IMAGE)
    out = tiles.clone()
    if strength == 0.0:
        return out
    n = plan.count
    total = plan.batch * n
    joint = method.startswith("joint_gain")
    lab = method == "joint_gain_lab"
    for b in range(plan.batch):
        solution = solve_joint_gain(tiles, scaled, plan, context, b, lab) if joint else None
        for t in range(n):
            k = b * n + t
            if solution is not None:
                out[k] = apply_gain(tiles[k], solution[t], strength, lab)
            elif method == "reinhard_lab":
                box = _box(plan, t)
                fp = reference_footprints(context, box, tiles[k].shape[:2])
                if fp is None:  # fewer than 2 x 2 reference pixels: sample the reference instead
                    ref = context.crop(b, *box, *_reference_size(context, box[2], box[3]))
                    out[k] = reinhard_lab(tiles[k], ref.to(tiles.dtype), strength)
                else:
                    rows, cols, ay, ax = fp
                    ref = context.reference[min(b, context.batch - 1), rows, cols]
                    out[k] = reinhard_lab(tiles[k], ref.to(tiles.dtype), strength, small=_area_average(tiles[k], ay, ax))
            else:
                y, x, h, w = _box(plan, t)
                ref = context.crop(b, y, x, h, w, *_reference_size(context, h, w))
                out[k] = wavelet_lowfreq(tiles[k], ref.to(tiles.dtype), strength)
            if progress is not None:
                progress(k + 1, total)
    return out


def tile_drift(tiles: torch.Tensor, plan: TilePlan, context: GlobalContext) -> torch.Tensor:
    """Per tile, the mean CIEDE2000 between its low frequencies and the reference's: ``[batch * count]``.

    Both are compared over the same reference footprints and low-passed
    alike (as ``joint_gain``'s anchor); 0 means the tile's colours match the
    whole picture. Grey tiles report 100 x the mean absolute difference.
    """
    context.check_source(plan.height, plan.width)
    check_channels(tiles, context)
    out = torch.zeros(tiles.shape[0])
    for k in range(tiles.shape[0]):
        b, t = divmod(k, plan.count)
        pair = _anchor_pair(tiles[k], context, b, _box(plan, t))
        if pair is None:
            continue
        cur, ref = pair
        if tiles.shape[-1] >= 3:
            out[k] = ciede2000(rgb_to_lab(cur[:, :3]), rgb_to_lab(ref[:, :3]), dim=1).mean()
        else:
            out[k] = 100 * (cur[:, :1] - ref[:, :1]).abs().mean()
    return out
