"""Feather blenders: fixed partition-of-unity windows (see ``tiling.windows``).

``none`` cuts at the overlap centre, ``linear`` and ``cosine`` ramp across the
overlap, ``gaussian`` weights each tile by a Gaussian centred on it
(Mixture-of-Diffusers style). All four are exact partitions of unity, so an
identity per-tile process gives back the input.
"""

from __future__ import annotations

from functools import partial

import torch

from ..tiling.compose import compose
from ..tiling.layout import IMAGE, Layout
from ..tiling.plan import TilePlan
from ..tiling.stack import Tiles
from ..tiling.windows import DEFAULT_GAUSSIAN_SIGMA


def blend_window(
    tiles: Tiles,
    plan: TilePlan,
    *,
    window: str,
    sigma: float = DEFAULT_GAUSSIAN_SIGMA,
    margin: int = 0,
    layout: Layout = IMAGE,
    progress=None,
) -> torch.Tensor:
    """Weighted composition of ``tiles`` with the named window; returns ``[plan.batch, ...]``.

    ``margin`` (plan px, scaled with the tiles) ignores that much of each tile's interior edges;
    ``sigma`` is the gaussian window's standard deviation as a fraction of the tile.
    """
    return compose(tiles, plan, window, sigma=sigma, margin=margin, layout=layout, progress=progress)


blend_none = partial(blend_window, window="none")
blend_linear = partial(blend_window, window="linear")
blend_cosine = partial(blend_window, window="cosine")
blend_gaussian = partial(blend_window, window="gaussian")
