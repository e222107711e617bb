"""Tiles processed in order, each one seeing its already-processed neighbours (pure: no ComfyUI).

A ``TileLoop`` holds the canvas (one ``[B, H, W, C]`` tensor, updated in
place), the plan, the order and which tiles are finished. Each step cuts the
next tile from the *current* canvas, so the tile's overlap with finished
tiles already holds their processed pixels (the model continues them instead
of inventing its own version), and gives a ``pending`` mask: 1 wherever no
finished tile lies (those pixels have no processed value yet, so they take
the new tile's whole), 0 inside finished tiles deeper than ``band`` px from
their edge, and between the two a ramp across the finished side's last
``band`` px (a cross-fade of two processed versions). ``paste`` writes the
processed tile back by that mask: pixels the mask leaves at 0 are never
written; with ``keep_finished`` there is no ramp and no finished pixel
changes at all.

A body may return its tile larger by a whole factor ``s`` (an upscaler):
the first such tile fixes ``s``, the result is then an ``s`` x larger
canvas (the mask repeated ``s`` x ``s``), and the input-scale canvas the
next tiles are cut from receives the processed tile area-averaged back to
input scale, so context still flows from the finished neighbours.

A *seam loop* runs over a seam plan's boxes instead (``SeamLoopGrid`` from
``tiling/seam_tiles.py``, with its ``zone``): each box may change only its
seam zone, redrawn over the loop's source image by the zone's weight and
cross-faded with the finished boxes' version by the pending ramp, so a body
that draws the same pixels in every box gives what Seam Tiles Merge gives,
and every pixel outside the zones keeps its value bit for bit.

Orders (``ORDERS``): ``raster`` (row by row), ``serpentine`` (rows
alternating direction: each tile's predecessor is its neighbour),
``centre_out`` (by distance from the image centre), ``chess`` (every other
tile first, then the ones between, which see finished neighbours on all
sides).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import torch
import torch.nn.functional as F

from .plan import TilePlan

ORDERS = ("raster", "serpentine", "centre_out", "chess")


def tile_order(plan: TilePlan, order: str) -> List[int]:
    """Every tile index of ``plan`` (a ``TilePlan`` or a ``SeamLoopGrid``) exactly once, in ``order``."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    tiles = plan.tiles
    if order == "raster":
        return [t.index for t in tiles]
    if order == "serpentine":  # rows by their rank (a seam grid's rows need not be full)
        rows: dict = {}
        for t in tiles:
            rows.setdefault(t.row, []).append(t)
        return [t.index for i, r in enumerate(sorted(rows)) for t in sorted(rows[r], key=lambda t: t.col)[:: 1 if i % 2 == 0 else -1]]
    if order == "centre_out":
        cy, cx = plan.height / 2, plan.width / 2
        return sorted((t.index for t in tiles), key=lambda k: (math.hypot(tiles[k].y + tiles[k].height / 2 - cy,
                                                                          tiles[k].x + tiles[k].width / 2 - cx), k))
    first = [t.index for t in tiles if (t.row + t.col) % 2 == 0]
    return first + [t.index for t in tiles if (t.row + t.col) % 2 == 1]


def prompt_lines(text: str, base: str = "") -> List[str]:
    """The prompt of each line of a multiline ``text`` (empty lines give ``base``; ``{base}`` in a line inserts it)."""
    return [line.strip().replace("{base}", base) if line.strip() else base for line in (text.splitlines() if text else [])]


def join_prompt_list(items: Sequence) -> str:
    """One multiline prompt text from a list of per-tile captions (a captioner run over a tile list): line ``k`` is item
    ``k`` with its own line breaks turned into spaces, so line ``k`` stays tile ``k``'s; ``None`` gives an empty line."""
    lines = []
    for k, item in enumerate(items):
        if item is None:
            item = ""
        if not isinstance(item, str):
            raise ValueError(f"captions[{k}] must be text, got {type(item).__name__}")
        lines.append(" ".join(item.split()))
    return "\n".join(lines)


def parse_prompts(text: str, count: int, base: str = "") -> List[str]:
    """One prompt per tile (plan order) from a multiline ``text``: line ``k`` for tile ``k`` (missing or empty lines give
    ``base``); ``{base}`` in a line is replaced by ``base``."""
    lines = prompt_lines(text, base)
    if len(lines) > count:
        raise ValueError(f"prompts has {len(lines)} lines for {count} tiles: one line per tile, in plan order (row by row)")
    return lines + [base] * (count - len(lines))


@dataclass(repr=False)
class TileLoop:
    """The state of a tile loop: the canvas, the plan, the order, the step, the prompts (see the module docstring)."""

    canvas: torch.Tensor
    plan: TilePlan
    order: List[int]
    prompts: List[str]
    band: int
    keep_finished: bool = False
    step: int = 0
    finished: List[int] = field(default_factory=list)
    start_id: Optional[str] = None  # the ComfyUI node that opened the loop (for the graph expansion)
    chunk_stop: int = 1  # the step after which the graph expansion adds the next chunk of body copies
    handed_out: List[torch.Tensor] = field(default_factory=list)  # the current tile's tensors Start gave the body
    scale: int = 1  # the body's whole upscale factor, fixed by the first processed tile
    output: Optional[torch.Tensor] = None  # the canvas at output scale when scale > 1, else None (canvas is the output)
    zone: Optional[Callable[[int], torch.Tensor]] = None  # per tile, the part it may change (a seam loop), else all of it
    source: Optional[torch.Tensor] = None  # a seam loop's input image (not a copy): what its zones are redrawn from

    @property
    def result(self) -> torch.Tensor:
        """The processed image ``[B, s*H, s*W, C]``."""
        return self.canvas if self.output is None else self.output

    def __repr__(self) -> str:  # short: error reports print their nodes' inputs, and this holds the whole canvas
        b, h, w, c = self.canvas.shape
        return f"TileLoop(tile {self.step} of {len(self.order)} done, canvas {w} x {h} x {c}, batch {b}, x{self.scale})"

    @property
    def done(self) -> bool:
        return self.step >= len(self.order)

    @property
    def current(self) -> int:
        return self.order[self.step]

    def tile(self) -> torch.Tensor:
        """The current tile cut from the canvas as it is now ``[B, th, tw, C]`` (a copy: the body may modify it)."""
        t = self.plan.tiles[self.current]
        return self.canvas[:, t.y : t.y + t.height, t.x : t.x + t.width].clone()

    def pending(self) -> torch.Tensor:
        """``[th, tw]`` float32 in [0, 1]: how much of the current tile is to be drawn (1 wherever no finished tile lies,
        0 inside finished tiles deeper than the band, a linear ramp across the band's finished side; in a seam loop
        times the tile's zone)."""
        pending = self._unfinished()
        return pending if self.zone is None else pending.mul_(self.zone(self.current))

    def _unfinished(self) -> torch.Tensor:
        """``pending()`` without the zone."""
        t = self.plan.tiles[self.current]
        covered = torch.zeros((t.height, t.width), dtype=torch.bool)
        for k in self.finished:
            f = self.plan.tiles[k]
            y0, y1 = max(f.y, t.y) - t.y, min(f.y + f.height, t.y + t.height) - t.y
            x0, x1 = max(f.x, t.x) - t.x, min(f.x + f.width, t.x + t.width) - t.x
            if y0 < y1 and x0 < x1:
                covered[y0:y1, x0:x1] = True
        if not covered.any():
            return torch.ones((t.height, t.width), dtype=torch.float32)
        if self.band <= 0 or self.keep_finished or bool(covered.all()):
            return (~covered).float()
        return _ramp(covered, self.band)

    def paste(self, processed: torch.Tensor) -> None:
        """Write the processed current tile ``[B, s*th, s*tw, C]`` into the canvas by ``pending()``, then step on."""
        t = self.plan.tiles[self.current]
        scale = _whole_scale(tuple(processed.shape[1:3]), (t.height, t.width))
        if scale > 1 and self.zone is not None:
            raise ValueError(f"the processed seam tile is {processed.shape[2]} x {processed.shape[1]} px for a {t.width} x "
                             f"{t.height} tile: a seam loop redraws the image at its own scale, so give the tile back at its size")
        if self.step == 0 and scale > 1:
            self.scale = scale
            b, h, w, c = self.canvas.shape
            self.output = torch.zeros((b, h * scale, w * scale, c), dtype=self.canvas.dtype)
        elif scale != self.scale:
            raise ValueError(f"the processed tile is {processed.shape[2]} x {processed.shape[1]} px for a {t.width} x {t.height} tile "
                             f"(x{scale}); the loop's first tile came back x{self.scale}: every tile must come back at one scale")
        p = processed.to(self.canvas.dtype)
        if self.zone is None:
            m = self.pending()
        else:  # the zone redrawn over the source, then cross-faded with the finished tiles' version like any tile
            redrawn = self.source[:, t.y : t.y + t.height, t.x : t.x + t.width].to(self.canvas.dtype).clone()
            _blend_into(redrawn, p, self.zone(self.current))
            p, m = redrawn, self._unfinished()
        if self.scale > 1:
            s = self.scale
            _blend_into(self.output[:, t.y * s : (t.y + t.height) * s, t.x * s : (t.x + t.width) * s],
                        p, m.repeat_interleave(s, 0).repeat_interleave(s, 1))
            p = F.avg_pool2d(p.movedim(-1, 1), s).movedim(1, -1)  # the context for the next tiles, at input scale
        _blend_into(self.canvas[:, t.y : t.y + t.height, t.x : t.x + t.width], p, m)
        self.finished.append(self.current)
        self.step += 1


def _whole_scale(got, tile) -> int:
    """The whole factor ``s`` with ``got == s * tile`` on both axes, or a clear error."""
    s = got[0] // tile[0]
    if s < 1 or got != (s * tile[0], s * tile[1]):
        raise ValueError(f"the processed tile is {got[1]} x {got[0]} px, the tile {tile[1]} x {tile[0]}: the loop body must give the "
                         f"tile back at its size or a whole multiple of it (x2, x4...) on both sides")
    return s


def _blend_into(region: torch.Tensor, processed: torch.Tensor, m: torch.Tensor) -> None:
    """``region += m * (processed - region)`` in place (``region``, ``processed``: ``[B, h, w, C]``; ``m``: ``[h, w]`` in
    [0, 1]). torch's lerp is exact at both ends: where ``m`` is 0 the region keeps its values bit for bit, where it is 1
    it takes the processed ones."""
    region.lerp_(processed, m[None, :, :, None].to(region.dtype))


def _ramp(covered: torch.Tensor, band: int) -> torch.Tensor:
    """1 off the finished area (``covered``), on it a ramp from 1 at its edge to 0 at ``band`` px depth."""
    import cv2
    import numpy as np

    c = covered.numpy().astype(np.uint8)
    inside = cv2.distanceTransform(c, cv2.DIST_L2, 5)  # finished pixels: distance to the pending area
    ramp = np.where(c > 0, np.clip(1.0 - (inside - 0.5) / band, 0.0, 1.0), 1.0)
    return torch.from_numpy(ramp.astype(np.float32))


def start_loop(image: torch.Tensor, plan: TilePlan, order: str, prompts: Sequence[str], band: int, keep_finished: bool,
               zone: Optional[Callable[[int], torch.Tensor]] = None) -> TileLoop:
    """A loop over ``plan`` (a ``TilePlan``, or a ``SeamLoopGrid`` with its ``zone``) on a copy of ``image`` ``[B, H, W, C]``."""
    if (image.shape[1], image.shape[2]) != (plan.height, plan.width):
        raise ValueError(f"image is {image.shape[2]} x {image.shape[1]} px, the plan is for {plan.width} x {plan.height}")
    return TileLoop(image.detach().float().clone(), plan, tile_order(plan, order), list(prompts), int(band), bool(keep_finished),
                    zone=zone, source=None if zone is None else image.detach())


def run_loop(image: torch.Tensor, plan: TilePlan, process: Callable[[torch.Tensor, torch.Tensor, int, str], torch.Tensor], *,
             order: str = "raster", prompts: Sequence[str] = (), band: int = 16, keep_finished: bool = False,
             zone: Optional[Callable[[int], torch.Tensor]] = None) -> torch.Tensor:
    """The whole loop in one call (the reference the ComfyUI nodes are tested against): ``process(tile, pending, index,
    prompt)`` per tile, in ``order``; returns the result (``[B, s*H, s*W, C]`` for a body that upscales x ``s``)."""
    loop = start_loop(image, plan, order, list(prompts) or [""] * plan.count, band, keep_finished, zone)
    while not loop.done:
        loop.paste(process(loop.tile(), loop.pending(), loop.current, loop.prompts[loop.current]))
    return loop.result
