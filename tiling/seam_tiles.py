"""Seam tiles: tiles that sit on the seams of a merged image, for a second pass that redraws only the seam zones.

A blend hides a seam when the tiles agree; when a generative model drew
different things on both sides, the seam has to be redrawn. From a
``TilePlan`` (scaled to the merged image), ``plan_seam_tiles`` places equal
boxes on the seams:

* ``bands``: along every seam line, boxes centred on it, cut along the line
  into pieces that overlap by ``overlap`` px;
* ``offset_grid``: the tile grid shifted by half a tile — box centres on the
  seam lines along both axes (half boxes at the image's edges), so each box
  centre is a seam crossing or lies on a seam between two crossings;
* ``crossings``: only the boxes centred where four tiles meet.

``seams`` (``SEAM_DIRECTIONS``) picks which seam lines a ``bands`` plan
redraws: ``both``, or only the ``vertical`` (column cuts) or ``horizontal``
ones. One direction lets the boxes be narrow across the seam and long along
it (e.g. 256 x 1024 for the vertical seams, then 1024 x 256 for the
horizontal ones in a second pass), so the model is shown about twice the
zone instead of the whole image again, while every batch keeps one tile size.

The *zone* is what may change: a band of ``zone_width`` px centred on each
seam line (1 for the middle half of the band, a raised-cosine fall to 0 at
its edges, 0 beyond), and in ``crossings`` mode only inside the crossing
boxes (falling to 0 towards their inner edges). ``merge_seam_tiles`` pastes
the redrawn boxes back: inside the zone, the boxes' normalised feathered
average blended in by the zone weight; outside the zone nothing is written,
so every pixel there stays bit-identical to the merged image. Row strips
keep the temporaries at a strip's size, not the image's.

All images are ``[B, H, W, C]`` float tensors; boxes ``[y, x]`` top-left.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import torch

from .plan import Tile, TilePlan

SEAM_MODES = ("bands", "offset_grid", "crossings")
SEAM_DIRECTIONS = ("both", "vertical", "horizontal")


@dataclass(frozen=True)
class SeamTilePlan:
    """Equal boxes of ``tile_height x tile_width`` on the seams of an ``height x width`` image, and the zone they redraw.

    ``x_seams`` / ``y_seams``: the seam lines (column cuts, row cuts) of the
    merged image's plan; ``boxes``: ``(y, x)`` per seam tile, row-major;
    ``zone_width``: the band's full width in px; ``overlap``: how far
    neighbouring boxes along a line overlap (the feather between them is half
    of it); ``batch``: images the tile batch holds (image-major).
    """

    height: int
    width: int
    tile_height: int
    tile_width: int
    boxes: Tuple[Tuple[int, int], ...]
    x_seams: Tuple[int, ...]
    y_seams: Tuple[int, ...]
    zone_width: int
    overlap: int
    mode: str
    batch: int = 1

    @property
    def count(self) -> int:
        return len(self.boxes)

    def to_dict(self) -> dict:
        return {"kind": "seam_tiles", "version": 1, "height": self.height, "width": self.width,
                "tile_height": self.tile_height, "tile_width": self.tile_width, "boxes": [list(b) for b in self.boxes],
                "x_seams": list(self.x_seams), "y_seams": list(self.y_seams), "zone_width": self.zone_width,
                "overlap": self.overlap, "mode": self.mode, "batch": self.batch}

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d: dict) -> "SeamTilePlan":
        return cls(int(d["height"]), int(d["width"]), int(d["tile_height"]), int(d["tile_width"]),
                   tuple((int(y), int(x)) for y, x in d["boxes"]), tuple(int(v) for v in d["x_seams"]),
                   tuple(int(v) for v in d["y_seams"]), int(d["zone_width"]), int(d["overlap"]), str(d["mode"]),
                   int(d.get("batch", 1)))

    def describe(self) -> str:
        zone = zone_share(self)
        covered = self.count * self.tile_height * self.tile_width / (self.height * self.width)
        return (f"{self.count} seam tiles of {self.tile_width} x {self.tile_height} ({self.mode}) over "
                f"{self.width} x {self.height}: the zone ({self.zone_width} px wide) is {100 * zone:.1f} % of the image, "
                f"the tiles show the model {100 * covered:.0f} % of it")


def _centred(centre: float, size: int, length: int) -> int:
    return int(min(max(round(centre - size / 2), 0), length - size))


def _fill(a: int, b: int, size: int, overlap: int, length: int) -> List[int]:
    """Evenly spaced starts of boxes of ``size`` covering ``[a, b)``, neighbours overlapping by at least ``overlap``."""
    if b <= a:
        return []
    # one box more only when the gap beats a box by more than an eighth of the overlap (the feather barely dips)
    n = 1 if b - a <= size + overlap // 8 else max(1, math.ceil((b - a - overlap) / (size - overlap)))
    if n == 1:
        return [min(max(0, a if a == 0 else (a + b - size) // 2), length - size) if b < length else length - size]
    return [min(max(0, round(a + i * (b - a - size) / (n - 1))), length - size) for i in range(n)]


def _cover(length: int, size: int, overlap: int, centres: Sequence[int]) -> List[int]:
    """Starts of boxes of ``size`` centred on ``centres`` plus the boxes that fill the gaps between them, so that every
    pixel of ``[0, length)`` is covered and neighbouring boxes overlap by at least ``overlap``."""
    anchors = sorted({_centred(c, size, length) for c in centres})
    out: List[int] = []
    end = 0  # [0, end) is covered
    for anchor in anchors:
        if not out and anchor > 0:
            out += _fill(0, anchor + overlap, size, overlap, length)
        elif out and anchor > end - overlap:
            out += _fill(end - overlap, anchor + overlap, size, overlap, length)
        out.append(anchor)
        end = anchor + size
    if end < length:
        out += _fill(max(0, end - overlap) if out else 0, length, size, overlap, length)
    return sorted(set(out))


def plan_seam_tiles(plan: TilePlan, mode: str, zone_width: int, tile_height: int, tile_width: int,
                    overlap: int = 64, seams: str = "both") -> SeamTilePlan:
    """The seam tiles of ``plan`` (in the merged image's pixels); see the module docstring for the modes and ``seams``."""
    if mode not in SEAM_MODES:
        raise ValueError(f"mode must be one of {', '.join(SEAM_MODES)}, got {mode!r}")
    if seams not in SEAM_DIRECTIONS:
        raise ValueError(f"seams must be one of {', '.join(SEAM_DIRECTIONS)}, got {seams!r}")
    if seams != "both" and mode != "bands":
        raise ValueError(f"seams {seams!r} needs mode bands ({mode} places boxes on both kinds of seam)")
    H, W = plan.height, plan.width
    x_seams, y_seams = tuple(plan.cols_axis.seams), tuple(plan.rows_axis.seams)
    if not x_seams and not y_seams:
        raise ValueError(f"the plan has a single tile ({W} x {H}): there are no seams to redraw")
    if seams != "both":
        x_seams, y_seams = (x_seams, ()) if seams == "vertical" else ((), y_seams)
        if not x_seams and not y_seams:
            raise ValueError(f"the plan ({plan.rows} x {plan.cols} tiles) has no {seams} seams: use seams "
                             f"{'horizontal' if seams == 'vertical' else 'vertical'} or both")
    th, tw = min(tile_height, H), min(tile_width, W)
    if zone_width < 2:
        raise ValueError(f"zone_width must be at least 2 px, got {zone_width}")
    limit = min(tw if x_seams else th, th if y_seams else tw)
    if zone_width > limit:
        raise ValueError(f"zone_width ({zone_width} px) must fit inside a seam tile ({tw} x {th} px): make the seam tiles "
                         f"larger or the zone narrower")
    if not 0 <= overlap < min(th, tw):
        raise ValueError(f"overlap must be at least 0 and less than the seam tile ({tw} x {th}), got {overlap}")
    boxes: List[Tuple[int, int]] = []
    if mode == "bands":
        along_y = _cover(H, th, overlap, [])
        along_x = _cover(W, tw, overlap, [])
        for p in x_seams:
            boxes += [(y, _centred(p, tw, W)) for y in along_y]
        for q in y_seams:
            boxes += [(_centred(q, th, H), x) for x in along_x]
    elif mode == "offset_grid":
        ys = _cover(H, th, overlap, y_seams) if y_seams else [_centred(H / 2, th, H)]
        xs = _cover(W, tw, overlap, x_seams) if x_seams else [_centred(W / 2, tw, W)]
        boxes = [(y, x) for y in ys for x in xs]
    else:
        if not x_seams or not y_seams:
            raise ValueError("crossings need seams along both axes (a grid of at least 2 x 2 tiles); use bands")
        boxes = [(_centred(q, th, H), _centred(p, tw, W)) for q in y_seams for p in x_seams]
    sp = SeamTilePlan(H, W, th, tw, (), x_seams, y_seams, int(zone_width), int(overlap), mode, plan.batch)
    kept = tuple(sorted({b for b in boxes if float(zone_weight(sp, b[0], b[0] + th, b[1], b[1] + tw, boxes=boxes).max()) > 0}))
    return SeamTilePlan(H, W, th, tw, kept, x_seams, y_seams, int(zone_width), int(overlap), mode, plan.batch)


def band_profile(coords: torch.Tensor, lines: Sequence[int], zone_width: int) -> torch.Tensor:
    """Per coordinate, the largest band weight over ``lines``: 1 within a quarter of ``zone_width`` of a line, a
    raised-cosine fall to 0 at half of it, 0 beyond (float32 ``[n]``)."""
    out = torch.zeros(coords.shape[0], dtype=torch.float32)
    half = zone_width / 2.0
    flat = half / 2.0
    for p in lines:
        d = (coords.float() + 0.5 - p).abs()  # pixel centres; the cut lies between pixels p - 1 and p
        w = torch.where(d <= flat, torch.ones_like(d), 0.5 + 0.5 * torch.cos(math.pi * (d - flat) / (half - flat)))
        w = torch.where(d < half, w, torch.zeros_like(d))
        out = torch.maximum(out, w)
    return out


def box_taper(sp: SeamTilePlan, y: int, x: int, y0: int, y1: int, x0: int, x1: int) -> torch.Tensor:
    """The feather of box ``(y, x)`` over the window ``[y0, y1) x [x0, x1)``: rising over half the overlap from each
    side that is not on the image's edge, 1 inside, 0 outside the box (float32 ``[y1 - y0, x1 - x0]``)."""
    ramp = max(1.0, sp.overlap / 2.0)

    def axis(lo: int, hi: int, start: int, size: int, length: int) -> torch.Tensor:
        c = torch.arange(lo, hi, dtype=torch.float32) + 0.5
        inside = (c > start) & (c < start + size)
        rise = torch.ones_like(c) if start == 0 else ((c - start) / ramp).clamp(0, 1)
        fall = torch.ones_like(c) if start + size >= length else ((start + size - c) / ramp).clamp(0, 1)
        return torch.where(inside, torch.minimum(rise, fall), torch.zeros_like(c))

    return axis(y0, y1, y, sp.tile_height, sp.height)[:, None] * axis(x0, x1, x, sp.tile_width, sp.width)[None, :]


def zone_weight(sp: SeamTilePlan, y0: int, y1: int, x0: int, x1: int, boxes: Optional[Sequence[Tuple[int, int]]] = None) -> torch.Tensor:
    """How much of the seam pass each pixel of ``[y0, y1) x [x0, x1)`` takes, in [0, 1] (float32 ``[y1 - y0, x1 - x0]``).

    The band around the seam lines, times the boxes' cover (in ``crossings``
    mode the boxes do not cover whole lines: the zone fades inside them).
    """
    px = band_profile(torch.arange(x0, x1), sp.x_seams, sp.zone_width)
    py = band_profile(torch.arange(y0, y1), sp.y_seams, sp.zone_width)
    zone = torch.maximum(py[:, None].expand(-1, x1 - x0), px[None, :].expand(y1 - y0, -1))
    cover = torch.zeros_like(zone)
    for by, bx in (sp.boxes if boxes is None else boxes):
        ry0, ry1 = max(y0, by), min(y1, by + sp.tile_height)
        rx0, rx1 = max(x0, bx), min(x1, bx + sp.tile_width)
        if ry0 < ry1 and rx0 < rx1:  # the taper over the box's part of the window only
            part = cover[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0]
            torch.maximum(part, box_taper(sp, by, bx, ry0, ry1, rx0, rx1), out=part)
    return zone.mul_(cover) if zone.is_contiguous() else (zone * cover).contiguous()


def zone_share(sp: SeamTilePlan) -> float:
    """The share of the image's pixels the zone can change (weight > 0)."""
    total = 0
    step = max(1, sp.tile_height)
    for y0 in range(0, sp.height, step):
        total += int((zone_weight(sp, y0, min(sp.height, y0 + step), 0, sp.width) > 0).sum())
    return total / (sp.height * sp.width)


def extract_seam_tiles(image: torch.Tensor, sp: SeamTilePlan) -> torch.Tensor:
    """``[B * count, tile_height, tile_width, C]``: the boxes cut from each image of the batch (image-major)."""
    th, tw = sp.tile_height, sp.tile_width
    return torch.stack([image[b, y : y + th, x : x + tw] for b in range(image.shape[0]) for y, x in sp.boxes])


def seam_tile_masks(sp: SeamTilePlan, batch: int = 1) -> torch.Tensor:
    """``[batch * count, tile_height, tile_width]``: per seam tile, the zone it may change (soft at the edges)."""
    th, tw = sp.tile_height, sp.tile_width
    one = [zone_weight(sp, y, y + th, x, x + tw) for y, x in sp.boxes]
    return torch.stack(one * batch) if batch > 1 else torch.stack(one)


def merge_seam_tiles(image: torch.Tensor, tiles: torch.Tensor, sp: SeamTilePlan,
                     progress: Optional[Callable[[int, int], None]] = None) -> torch.Tensor:
    """``image`` ``[B, H, W, C]`` with the redrawn ``tiles`` ``[B * count, th, tw, C]`` blended in inside the zone.

    Pixels whose zone weight is 0 are never written: they are bit-identical to
    ``image``. ``progress(done, total)`` is called per row strip (and may raise
    to cancel).
    """
    B, H, W, C = image.shape
    th, tw = sp.tile_height, sp.tile_width
    out = image.clone()
    strips = list(range(0, H, th))
    for i, y0 in enumerate(strips):
        y1 = min(H, y0 + th)
        zone = zone_weight(sp, y0, y1, 0, W)
        if bool((zone > 0).any()):
            hit = [(k, by, bx) for k, (by, bx) in enumerate(sp.boxes) if by < y1 and by + th > y0]
            for b in range(B):
                num = torch.zeros((y1 - y0, W, C), dtype=torch.float32)
                den = torch.zeros((y1 - y0, W), dtype=torch.float32)
                for k, by, bx in hit:
                    w = box_taper(sp, by, bx, y0, y1, bx, bx + tw) + 1e-3  # > 0 anywhere the box is
                    ry0, ry1 = max(y0, by), min(y1, by + th)
                    w = w[ry0 - y0 : ry1 - y0]
                    tile = tiles[b * sp.count + k, ry0 - by : ry1 - by].float()
                    num[ry0 - y0 : ry1 - y0, bx : bx + tw].addcmul_(tile, w[..., None])
                    den[ry0 - y0 : ry1 - y0, bx : bx + tw].add_(w)
                sel = zone > 0
                base = image[b, y0:y1][sel].float()
                redrawn = num[sel] / den[sel][:, None]
                out[b, y0:y1][sel] = (base + zone[sel][:, None] * (redrawn - base)).to(image.dtype)
        if progress is not None:
            progress(i + 1, len(strips))
    return out


@dataclass(frozen=True)
class SeamLoopGrid:
    """A seam plan's boxes as the tiles of a Tile Loop (``tiling/loop.py``): ``tiles`` in the plan's box order, their
    ``row`` / ``col`` the rank of their top / left edge (so the loop's orders apply), and ``zone(k)`` what tile ``k``
    may change: the zone Seam Tiles Merge pastes by, over box ``k``. Where boxes overlap, their zones agree, so a body
    that draws the same pixels in every box gives what Seam Tiles Merge gives.
    """

    seam_plan: SeamTilePlan
    tiles: Tuple[Tile, ...]

    @property
    def height(self) -> int:
        return self.seam_plan.height

    @property
    def width(self) -> int:
        return self.seam_plan.width

    @property
    def count(self) -> int:
        return len(self.tiles)

    def zone(self, k: int) -> torch.Tensor:
        """``[tile_height, tile_width]`` float32 in [0, 1]: the part of seam tile ``k`` the loop may change (Seam Tiles
        Merge's zone over the tile's box)."""
        t = self.tiles[k]
        return zone_weight(self.seam_plan, t.y, t.y + t.height, t.x, t.x + t.width)


def seam_loop_grid(sp: SeamTilePlan) -> SeamLoopGrid:
    """The ``SeamLoopGrid`` of ``sp``'s boxes."""
    ys = {y: r for r, y in enumerate(sorted({y for y, _ in sp.boxes}))}
    xs = {x: c for c, x in enumerate(sorted({x for _, x in sp.boxes}))}
    tiles = tuple(Tile(k, ys[y], xs[x], y, x, sp.tile_height, sp.tile_width) for k, (y, x) in enumerate(sp.boxes))
    return SeamLoopGrid(sp, tiles)
