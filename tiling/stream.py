"""Split -> process -> merge in one pass, a batch of tiles at a time.

The graph pipeline (Tile Split -> any node -> Tile Merge) holds every tile
twice (cut and processed) next to the source and the result. For a model
that can be called directly (an upscale or restoration model), streaming
holds only the source, the result and one batch of tiles: tiles are cut,
processed and added into the result with their partition-of-unity weights
(``tiling.windows``), so the result needs no weight buffer and no division.

Peak memory is ``source + result + batch``; with ``out_dtype=float16`` the
result takes half (at 11-bit precision: fine for 8-bit deliverables, not for
16-bit masters).
"""

from __future__ import annotations

from typing import Callable, Iterator, Optional, Sequence

import torch

from .compose import column_weight_tensor, row_weight_tensor, scale_margin
from .layout import IMAGE
from .plan import Tile, TilePlan
from .windows import DEFAULT_GAUSSIAN_SIGMA, axis_weights

Progress = Optional[Callable[[int, int], None]]

#: windows whose weights are per tile, so a tile can be added as soon as it is processed
STREAM_WINDOWS = ("cosine", "linear", "gaussian", "none")


def tile_batches(plan: TilePlan, batch_size: int) -> Iterator[Sequence[Tile]]:
    """The plan's tiles in row-major chunks of at most ``batch_size``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    tiles = plan.tiles
    for i in range(0, len(tiles), batch_size):
        yield tiles[i : i + batch_size]


def stream_tiles(
    images: torch.Tensor,
    plan: TilePlan,
    process: Callable[[torch.Tensor], torch.Tensor],
    *,
    batch_size: int = 4,
    window: str = "cosine",
    sigma: float = DEFAULT_GAUSSIAN_SIGMA,
    margin: int = 0,
    out_dtype: Optional[torch.dtype] = None,
    progress: Progress = None,
) -> torch.Tensor:
    """Run ``process`` over the tiles of ``images`` and blend the results as they arrive.

    Args:
        images: IMAGE ``[plan.batch, H, W, C]`` float (stays where it is; usually CPU).
        plan: the grid over ``H x W``.
        process: ``[n, th, tw, C] -> [n, th * s, tw * s, C']`` for a constant
            scale ``s`` that maps the plan onto whole pixels; may run on
            another device (results are brought back to ``images.device``).
        batch_size: tiles per ``process`` call.
        window: one of ``STREAM_WINDOWS``.
        out_dtype: dtype of the result (default: the processed tiles' dtype).

    Returns:
        IMAGE ``[plan.batch, H * s, W * s, C']``. With ``process`` the identity
        it equals ``images`` to float rounding of the weights (< 1e-6).
    """
    IMAGE.check(images, "images")
    if window not in STREAM_WINDOWS:
        raise ValueError(f"window {window!r} cannot be streamed; choose one of {', '.join(STREAM_WINDOWS)}")
    h, w = IMAGE.size(images)
    if (h, w) != (plan.height, plan.width) or images.shape[0] != plan.batch:
        raise ValueError(
            f"images are {images.shape[0]} x {w} x {h} px but the plan is for {plan.batch} x {plan.width} x {plan.height} px"
        )
    out = None
    out_plan = None
    wy = wx = None
    total = plan.batch * plan.count
    done = 0
    for b in range(plan.batch):
        for chunk in tile_batches(plan, batch_size):
            cut = torch.stack([IMAGE.crop(images[b], t.y, t.x, t.height, t.width) for t in chunk])
            result = process(cut)
            del cut
            if not isinstance(result, torch.Tensor) or result.ndim != 4 or result.shape[0] != len(chunk):
                got = tuple(result.shape) if isinstance(result, torch.Tensor) else type(result).__name__
                raise ValueError(f"the model returned {got} for a batch of {len(chunk)} tiles; expected [{len(chunk)}, H, W, C]")
            if out is None:
                out_plan = plan.for_tile_size(*IMAGE.size(result), what="the model's output tiles")
                margin = scale_margin(margin, plan, out_plan)
                dtype = out_dtype or result.dtype
                out = torch.zeros((plan.batch, out_plan.height, out_plan.width, result.shape[-1]), dtype=dtype, device=images.device)
                wy = [row_weight_tensor(w, dtype) for w in axis_weights(out_plan.rows_axis, window, sigma, margin)]
                wx = [column_weight_tensor(w, result.shape[-1], dtype) for w in axis_weights(out_plan.cols_axis, window, sigma, margin)]
            elif tuple(result.shape[1:]) != (out_plan.tile_height, out_plan.tile_width, out.shape[-1]):
                raise ValueError(f"the model returned tiles of {tuple(result.shape[1:])}, earlier ones were "
                                 f"{(out_plan.tile_height, out_plan.tile_width, out.shape[-1])}")
            result = result.to(device=out.device, dtype=out.dtype)
            for t, tile in zip(chunk, result):
                o = out_plan.tiles[t.index]
                region = out[b, o.y : o.y + o.height, o.x : o.x + o.width].view(o.height, -1)  # [h, w * C], a view
                region.addcmul_(tile.reshape(o.height, -1) * wx[t.col], wy[t.row])
            done += len(chunk)
            if progress is not None:
                progress(done, total)
            del result
    return out

