"""Ways of joining tiles, chosen by name.

Every blender has the signature ``blend(tiles, plan, *, layout, progress, **options) -> images``:
``tiles`` is an image-major tile batch ``[plan.batch * plan.count, ...]`` in
``layout`` (tiles may have been resized by a constant factor), and the result
is ``[plan.batch, ...]``. A node option maps straight to a registry key.
"""

from __future__ import annotations

from typing import Callable, Dict

import torch

from ..tiling.layout import IMAGE, Layout
from ..tiling.plan import TilePlan
from .feather import blend_cosine, blend_gaussian, blend_linear, blend_none
from .multiband import blend_multiband
from .poisson import blend_poisson

BLENDERS: Dict[str, Callable[..., torch.Tensor]] = {
    "cosine": blend_cosine,
    "linear": blend_linear,
    "gaussian": blend_gaussian,
    "multiband": blend_multiband,
    "poisson": blend_poisson,
    "none": blend_none,
}


def blend(tiles: torch.Tensor, plan: TilePlan, method: str = "cosine", *, layout: Layout = IMAGE, progress=None, **options) -> torch.Tensor:
    """Join ``tiles`` with the blender registered as ``method``."""
    try:
        fn = BLENDERS[method]
    except KeyError:
        raise ValueError(f"unknown blend method {method!r}; choose one of {', '.join(BLENDERS)}") from None
    return fn(tiles, plan, layout=layout, progress=progress, **options)
