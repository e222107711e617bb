"""The processed tiles of a plan as every merge reads them, however they arrived.

A graph hands a merge either one image-major tile batch ``[batch * count, ...]``
(Tile Split -> any node) or one tensor per tile ``[batch, ...]`` (Tile Split
(list) -> a node run once per tile). ``TileStack`` gives both the same face,
``stack[k]`` = tile ``k`` of every image, without concatenating a list into
a batch (that copy would hold every tile twice).
"""

from __future__ import annotations

from typing import Sequence, Union

import torch

from .layout import Layout
from .plan import TilePlan

Tiles = Union[torch.Tensor, Sequence[torch.Tensor]]


class TileStack:
    """``plan``'s tiles (checked: count, layout, one size), in the coordinates of their size (``self.plan``)."""

    def __init__(self, tiles: Tiles, plan: TilePlan, layout: Layout, what: str = "tiles"):
        self.layout = layout
        if isinstance(tiles, torch.Tensor):
            layout.check(tiles, what)
            self.plan = plan.for_tiles(tiles.shape[0], *layout.size(tiles), what)
            self._batch = tiles.contiguous().view(plan.batch, plan.count, *tiles.shape[1:])
            self._list = None
            first = self._batch[:, 0]
        else:
            tiles = list(tiles)
            if len(tiles) != plan.count:
                raise ValueError(f"got a list of {len(tiles)} {what} but the tile plan has {plan.count} tiles")
            for k, t in enumerate(tiles):
                layout.check(t, f"{what} {k}")
                if t.shape[0] != plan.batch:
                    raise ValueError(f"{what} {k} holds {t.shape[0]} images, the plan was cut from {plan.batch}")
                if t.shape != tiles[0].shape or t.dtype != tiles[0].dtype:
                    raise ValueError(f"{what} {k} is {tuple(t.shape)} {t.dtype}, tile 0 is {tuple(tiles[0].shape)} {tiles[0].dtype}; "
                                     "every tile must come back the same size")
            self.plan = plan.for_tile_size(*layout.size(tiles[0]), what)
            self._batch = None
            self._list = tiles
            first = tiles[0]
        self.dtype, self.device = first.dtype, first.device
        self.tile_shape = tuple(first.shape)  # [batch, ...] of one tile

    def __len__(self) -> int:
        return self.plan.count

    def __getitem__(self, k: int) -> torch.Tensor:
        """Tile ``k`` of every image, ``[batch, ...]`` (a view of the batch, or the list entry made contiguous)."""
        if self._batch is not None:
            return self._batch[:, k]
        t = self._list[k]
        return t if t.is_contiguous() else t.contiguous()
