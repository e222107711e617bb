"""Ways of joining tiles, chosen by name: the one registry (``BLENDERS``).

Every blender is called as ``blend(tiles, plan, method, *, layout, progress, **options)``:
``tiles`` is an image-major tile batch ``[plan.batch * plan.count, ...]`` in
``layout`` (tiles may have been resized by a constant factor; sizes in
options are in the plan's pixels), and the result is ``[plan.batch, ...]``.
Each entry names the options it takes; any other option is an error, never
silently dropped.

Modules: ``feather`` (fixed partition-of-unity windows: none, linear,
cosine, gaussian), ``bands`` (the seam-band skeleton: strips joined one axis
at a time), ``multiband`` and ``poisson`` (band fixes), ``seam_paths`` (where
a cut runs inside a band).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Tuple

import torch

from ..tiling.layout import IMAGE, Layout
from ..tiling.plan import TilePlan
from .feather import blend_cosine, blend_gaussian, blend_linear, blend_none
from .multiband import blend_multiband
from .poisson import blend_poisson


@dataclass(frozen=True)
class Blender:
    """A way of joining tiles: the function, one line for tooltips, and the options it takes."""

    join: Callable[..., torch.Tensor]
    description: str
    options: Tuple[str, ...] = ()


BLENDERS: Dict[str, Blender] = {
    "cosine": Blender(blend_cosine, "raised-cosine ramp across the overlap (exact partition of unity; the default)", ("margin",)),
    "linear": Blender(blend_linear, "straight ramp across the overlap", ("margin",)),
    "gaussian": Blender(blend_gaussian, "each tile weighted by a Gaussian centred on it (Mixture-of-Diffusers style)",
                        ("sigma", "margin")),
    "multiband": Blender(blend_multiband, (
        "Laplacian-pyramid blend inside each seam band: fine detail switches sides sharply, level differences "
        "spread over the whole overlap (best for tiles that disagree)"), ("levels", "half_width", "cutter")),
    "poisson": Blender(blend_poisson, (
        "hard cut, then a Poisson solve in a band around each seam so the join follows both tiles' gradients "
        "(removes level steps on skies and backdrops)"), ("half_width", "cutter")),
    "none": Blender(blend_none, "hard cut at the overlap centre"),
}


def blender(method: str) -> Blender:
    """The registry entry for ``method``, or a ValueError listing the choices."""
    try:
        return BLENDERS[method]
    except KeyError:
        raise ValueError(f"unknown blend method {method!r}; choose one of {', '.join(BLENDERS)}") from None


def blend(tiles: torch.Tensor, plan: TilePlan, method: str = "cosine", *, layout: Layout = IMAGE, progress=None,
          **options) -> torch.Tensor:
    """Join ``tiles`` with the blender registered as ``method`` (see the module docstring)."""
    entry = blender(method)
    unknown = sorted(set(options) - set(entry.options))
    if unknown:
        takes = ", ".join(entry.options) or "no options"
        raise ValueError(f"blend {method!r} does not take {', '.join(unknown)} (it takes {takes})")
    return entry.join(tiles, plan, layout=layout, progress=progress, **options)


def blend_tooltip(methods=None) -> str:
    """The tooltip of a ``blend`` widget, built from the registry (``methods``: a subset, in order)."""
    names = list(methods or BLENDERS)
    return "How overlapping tiles are joined. " + " ".join(f"{m}: {BLENDERS[m].description}." for m in names)


__all__ = ["BLENDERS", "Blender", "blend", "blend_tooltip", "blender"]
