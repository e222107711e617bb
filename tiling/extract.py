"""Cut tiles out of images: the "split" half of split/merge."""

from __future__ import annotations

from typing import Callable, Optional

import torch

from .layout import IMAGE, Layout
from .plan import TilePlan

Progress = Optional[Callable[[int, int], None]]


def extract_tiles(images: torch.Tensor, plan: TilePlan, layout: Layout = IMAGE, progress: Progress = None) -> torch.Tensor:
    """Copy every tile of every image into one contiguous tile batch.

    Args:
        images: ``layout`` tensor with ``plan.batch`` images of ``plan.height x plan.width``.
        plan: the grid; its ``batch`` must equal the number of images.
        progress: called as ``progress(done, total)`` after each tile (all images at once).

    Returns:
        ``[batch * plan.count, ...]`` in the same layout and dtype, image-major
        (entry ``b * count + k`` is tile ``k`` of image ``b``).
    """
    layout.check(images, "images")
    h, w = layout.size(images)
    if (h, w) != (plan.height, plan.width):
        raise ValueError(f"image is {w} x {h} px but the tile plan is for {plan.width} x {plan.height} px")
    batch = images.shape[0]
    if batch != plan.batch:
        raise ValueError(f"got {batch} images but the tile plan was made for a batch of {plan.batch}")
    n = plan.count
    shape = layout.with_size(images, plan.tile_height, plan.tile_width)
    out = torch.empty((batch, n, *shape[1:]), dtype=images.dtype, device=images.device)
    for t in plan:
        out[:, t.index].copy_(layout.crop(images, t.y, t.x, t.height, t.width))
        if progress is not None:
            progress(t.index + 1, n)
    return out.view(batch * n, *shape[1:])
