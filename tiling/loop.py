"""Tiles processed in order, each one seeing its already-processed neighbours (pure: no ComfyUI).

A ``TileLoop`` holds the canvas (one ``[B, H, W, C]`` tensor, updated in
place), the plan, the order and which tiles are finished. Each step cuts the
next tile from the *current* canvas, so the tile's overlap with finished
tiles already holds their processed pixels (the model continues them instead
of inventing its own version), and gives a ``pending`` mask: 1 where no
finished tile lies, 0 inside finished tiles, a ramp across ``band`` px at
their edge. ``paste`` writes the processed tile back by that mask: pixels
the mask leaves at 0 (finished pixels deeper than the band) are never
written; with ``keep_finished`` the ramp lies wholly on the pending side, so
no finished pixel changes at all.

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

from .plan import TilePlan

ORDERS = ("raster", "serpentine", "centre_out", "chess")


def tile_order(plan: TilePlan, order: str) -> List[int]:
    """Every tile index of ``plan`` exactly once, in ``order``."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    tiles = plan.tiles
    if order == "raster":
        return [t.index for t in tiles]
    if order == "serpentine":
        return [t.index for r in range(plan.rows) for t in (tiles[r * plan.cols:(r + 1) * plan.cols][:: 1 if r % 2 == 0 else -1])]
    if order == "centre_out":
        cy, cx = plan.height / 2, plan.width / 2
        return sorted((t.index for t in tiles), key=lambda k: (math.hypot(tiles[k].y + tiles[k].height / 2 - cy,
                                                                          tiles[k].x + tiles[k].width / 2 - cx), k))
    first = [t.index for t in tiles if (t.row + t.col) % 2 == 0]
    return first + [t.index for t in tiles if (t.row + t.col) % 2 == 1]


def parse_prompts(text: str, count: int, base: str = "") -> List[str]:
    """One prompt per tile (plan order) from a multiline ``text``: line ``k`` for tile ``k`` (missing or empty lines give
    ``base``); ``{base}`` in a line is replaced by ``base``."""
    lines = text.splitlines() if text else []
    if len(lines) > count:
        raise ValueError(f"prompts has {len(lines)} lines for {count} tiles: one line per tile, in plan order (row by row)")
    out = []
    for k in range(count):
        line = lines[k].strip() if k < len(lines) else ""
        out.append(line.replace("{base}", base) if line else base)
    return out


@dataclass
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
        """``[th, tw]`` float32: how much of the current tile is still to be drawn (1 far from finished tiles, 0 inside
        them beyond the band, a linear ramp across the band at their edge)."""
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
        if self.band <= 0:
            return (~covered).float()
        return _ramp(covered, self.band, self.keep_finished)

    def paste(self, processed: torch.Tensor) -> None:
        """Write the processed current tile ``[B, th, tw, C]`` into the canvas by ``pending()``, then step on."""
        t = self.plan.tiles[self.current]
        if tuple(processed.shape[1:3]) != (t.height, t.width):
            raise ValueError(f"the processed tile is {processed.shape[2]} x {processed.shape[1]} px, the tile {t.width} x {t.height}: "
                             f"the loop body must give the tile back at its size")
        m = self.pending()
        region = self.canvas[:, t.y : t.y + t.height, t.x : t.x + t.width]
        sel = m > 0
        p = processed.to(region.dtype)
        region[:, sel] = region[:, sel] + m[sel][None, :, None] * (p[:, sel] - region[:, sel])
        self.finished.append(self.current)
        self.step += 1


def _ramp(covered: torch.Tensor, band: int, keep_finished: bool) -> torch.Tensor:
    """A ramp from the finished area (``covered``) into the pending one, by the distance to the finished area's edge."""
    import cv2
    import numpy as np

    c = covered.numpy().astype(np.uint8)
    outside = cv2.distanceTransform(1 - c, cv2.DIST_L2, 5)  # pending pixels: distance to the finished area
    inside = cv2.distanceTransform(c, cv2.DIST_L2, 5)  # finished pixels: distance to the pending area
    if keep_finished:
        ramp = np.where(c > 0, 0.0, np.clip(outside / band, 0.0, 1.0))
    else:
        signed = np.where(c > 0, -inside + 0.5, outside - 0.5)
        ramp = np.clip(0.5 + signed / band, 0.0, 1.0)
    return torch.from_numpy(ramp.astype(np.float32))


def start_loop(image: torch.Tensor, plan: TilePlan, order: str, prompts: Sequence[str], band: int, keep_finished: bool) -> TileLoop:
    """A loop over ``plan`` on a copy of ``image`` ``[B, H, W, C]``."""
    if (image.shape[1], image.shape[2]) != (plan.height, plan.width):
        raise ValueError(f"image is {image.shape[2]} x {image.shape[1]} px, the plan is for {plan.width} x {plan.height}")
    return TileLoop(image.detach().float().clone(), plan, tile_order(plan, order), list(prompts), int(band), bool(keep_finished))


def run_loop(image: torch.Tensor, plan: TilePlan, process: Callable[[torch.Tensor, torch.Tensor, int, str], torch.Tensor], *,
             order: str = "raster", prompts: Sequence[str] = (), band: int = 16, keep_finished: bool = False) -> torch.Tensor:
    """The whole loop in one call (the reference the ComfyUI nodes are tested against): ``process(tile, pending, index,
    prompt)`` per tile, in ``order``; returns the canvas."""
    loop = start_loop(image, plan, order, list(prompts) or [""] * plan.count, band, keep_finished)
    while not loop.done:
        loop.paste(process(loop.tile(), loop.pending(), loop.current, loop.prompts[loop.current]))
    return loop.canvas
