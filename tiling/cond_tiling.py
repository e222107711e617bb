"""Conditioning for a batch of latent tiles, in the shape ComfyUI's sampler keeps it.

ComfyUI hands its conditioning to ``calc_cond_batch`` as lists (one per
positive / negative ...) of dicts: ``model_conds`` (name -> COND object with
a ``.cond`` tensor or list and ``_copy_with``), optional ``area``, ``mask``,
``control`` (a ControlNet chain) and more. For tiles stacked tile-major
(``T`` tiles x ``B`` images) this module returns the conditioning each tile
needs, without importing ComfyUI (it relies on those attributes only):

* tensors laid out like the latent (``c_concat``, inpaint masks, ``mask``, and
  pixel-space tensors an integer factor larger) are cropped to each tile and
  stacked; batch-shaped tensors (cross-attention, pooled ``y``, ``guidance``)
  are left for ComfyUI to repeat to the tile batch;
* reference latents (FLUX Kontext ``ref_latents``) the size of the latent
  are cropped to the tile's box (``crop_references``), other sizes are passed
  whole;
* ``area`` conditioning is moved into tile coordinates, and dropped for tiles
  it does not touch (this needs one tile per call);
* ControlNets get a copy per tile batch whose hint is the tile's crop of the
  hint as ComfyUI would have fitted it to the whole latent, so each tile's
  control is computed from its own part of the hint, chains included;
* per-tile text (``TileText``, ``with_tile_text``): the positive's text
  conds (cross-attention, pooled ``y``) replaced by each tile's own, stacked
  tile-major, while everything else (guidance, references, masks) stays the
  positive's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from .plan import Tile

# conform(hint [B, C, h, w], width_px, height_px, method) -> hint fitted to the latent as the ControlNet would
Conform = Callable[[torch.Tensor, int, int, str], torch.Tensor]


def _repeat_batch(t: torch.Tensor, batch: int) -> torch.Tensor:
    if t.shape[0] == batch:
        return t
    reps = -(-batch // t.shape[0])
    return t.repeat((reps,) + (1,) * (t.ndim - 1))[:batch]


def stack_spatial(t: torch.Tensor, tiles: Sequence[Tile], height: int, width: int, batch: int, exact: bool = False) -> Optional[torch.Tensor]:
    """Per-tile crops of ``t`` stacked tile-major ``[T * batch, ...]``, or None if ``t`` is not laid out like the latent.

    ``t``'s last two dims must be the latent's ``height x width`` (times an
    integer factor unless ``exact``); its batch is repeated to ``batch`` first.
    """
    if t.ndim < 3:
        return None
    h, w = t.shape[-2:]
    if h % height or w % width or h // height != w // width or (exact and h != height):
        return None
    r = h // height
    t = _repeat_batch(t, batch)
    return torch.cat([t[..., tl.y * r : (tl.y + tl.height) * r, tl.x * r : (tl.x + tl.width) * r] for tl in tiles])


def tile_model_cond(obj, tiles: Sequence[Tile], height: int, width: int, batch: int, crop_references: bool):
    """A COND object for the tile batch (the same object when nothing spatial is in it)."""
    data = getattr(obj, "cond", None)
    if isinstance(data, torch.Tensor):
        stacked = stack_spatial(data, tiles, height, width, batch) if data.ndim >= 4 else None
        return obj if stacked is None else obj._copy_with(stacked)
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, torch.Tensor) for d in data):
        if not crop_references:
            return obj
        new = [stack_spatial(d, tiles, height, width, batch, exact=True) if d.ndim == 4 else None for d in data]
        if all(n is None for n in new):
            return obj
        return obj._copy_with([n if n is not None else d for n, d in zip(new, data)])
    return obj


def _tile_area(area, tile: Tile):
    """``(h, w, y, x)`` in latent pixels moved into ``tile``'s frame; None if it misses the tile."""
    h, w, y, x = (int(v) for v in area[:4])
    y0, y1 = max(y, tile.y), min(y + h, tile.y + tile.height)
    x0, x1 = max(x, tile.x), min(x + w, tile.x + tile.width)
    if y1 <= y0 or x1 <= x0:
        return None
    return (y1 - y0, x1 - x0, y0 - tile.y, x0 - tile.x)


def needs_single_tiles(conds: Sequence[Optional[Sequence[dict]]]) -> bool:
    """True when some conditioning has an ``area``, which can only be placed one tile at a time."""
    return any("area" in c for cond in conds if cond for c in cond)


class ControlTiler:
    """Per-tile-batch copies of ControlNet chains, cached for the sampling run."""

    def __init__(self, conform: Conform):
        self.conform = conform
        self.cache: Dict[tuple, object] = {}

    def clear(self) -> None:
        self.cache.clear()

    def __call__(self, control, tiles: Sequence[Tile], height: int, width: int, batch: int):
        key = (id(control), tuple(t.index for t in tiles), tuple((t.y, t.x) for t in tiles))
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        tiled = control.copy()
        if getattr(control, "previous_controlnet", None) is not None:
            tiled.set_previous_controlnet(self(control.previous_controlnet, tiles, height, width, batch))
        factor = int(getattr(control, "compression_ratio", 8))
        vae = getattr(control, "vae", None)
        if vae is not None:
            factor *= int(vae.spacial_compression_encode())
        algo = getattr(control, "upscale_algorithm", "nearest-exact")

        def crop(image: torch.Tensor) -> torch.Tensor:
            full = self.conform(image, width * factor, height * factor, algo)
            return stack_spatial(full, tiles, height, width, batch)

        if getattr(control, "cond_hint_original", None) is not None:
            tiled.cond_hint_original = crop(control.cond_hint_original)
        tiled.extra_concat_orig = [crop(e) if e.ndim == 4 and e.shape[-1] > 1 else e for e in getattr(control, "extra_concat_orig", [])]
        for attr in ("timestep_range", "model_sampling_current"):  # set by pre_run on the original
            if hasattr(control, attr):
                setattr(tiled, attr, getattr(control, attr))
        self.cache[key] = tiled
        return tiled


def tile_conds(
    conds: Sequence[Optional[Sequence[dict]]],
    tiles: Sequence[Tile],
    height: int,
    width: int,
    batch: int,
    *,
    crop_references: bool = True,
    control_tiler: Optional[ControlTiler] = None,
) -> List[Optional[List[dict]]]:
    """The conditioning lists for a batch of ``tiles`` of a ``height x width`` latent with ``batch`` images."""
    out: List[Optional[List[dict]]] = []
    for cond in conds:
        if cond is None:
            out.append(None)
            continue
        tiled_list = []
        for c in cond:
            t = dict(c)
            if "area" in t:
                if len(tiles) != 1:
                    raise ValueError("area conditioning needs one tile per model call")
                area = _tile_area(t["area"], tiles[0])
                if area is None:
                    continue
                t["area"] = area
            if "model_conds" in t:
                t["model_conds"] = {k: tile_model_cond(v, tiles, height, width, batch, crop_references) for k, v in t["model_conds"].items()}
            if isinstance(t.get("mask"), torch.Tensor):
                stacked = stack_spatial(t["mask"], tiles, height, width, batch)
                if stacked is not None:
                    t["mask"] = stacked
            if t.get("control") is not None and control_tiler is not None:
                t["control"] = control_tiler(t["control"], tiles, height, width, batch)
            tiled_list.append(t)
        out.append(tiled_list)
    return out


#: the model conds a prompt's text determines (cross-attention states, pooled vector); the rest stays the positive's
TEXT_CONDS = ("c_crossattn", "y")
#: one encoded prompt: ``(cross_attn [1, tokens, dim], extras)`` as a CONDITIONING entry holds it (extras: pooled_output ...)
Encoded = Tuple[torch.Tensor, dict]


@dataclass
class TileText:
    """A prompt per tile of a latent plan (plan order, row by row): ``lines[k]`` for tile ``k``, ``base`` for tiles
    without a line (``None`` or beyond the list)."""

    base: Encoded
    lines: List[Optional[Encoded]]

    def for_tile(self, index: int) -> Encoded:
        line = self.lines[index] if index < len(self.lines) else None
        return self.base if line is None else line

    def check_count(self, count: int) -> None:
        if len(self.lines) > count:
            raise ValueError(f"tile_conditioning has {len(self.lines)} prompt lines, the latent has {count} tiles: one line "
                             f"per tile, row by row (fewer lines leave the rest on the base prompt)")

    @property
    def same_shapes(self) -> bool:
        """True when every prompt's states have one shape (tiles of different prompts can then share a model call)."""
        shapes = {tuple(e[0].shape) for e in [self.base, *(line for line in self.lines if line is not None)]}
        return len(shapes) == 1


def with_tile_text(tiled: Sequence[dict], original: Sequence[dict], tiles: Sequence[Tile], batch: int,
                   encode: Callable[[int, dict], Dict[str, object]]) -> List[dict]:
    """The tile batch's positive (``tiled``, from ``tile_conds``) with its text conds from each tile's own prompt.

    ``original`` is the sampler's positive (the entries ``tiled`` came from);
    ``encode(tile_index, entry)`` gives the tile's ``{name: COND}`` for
    ``TEXT_CONDS``, as the model would have made them from the tile's prompt.
    Each is repeated to ``batch`` images and stacked tile-major.
    """
    if len(original) != 1 or len(tiled) != 1:
        raise ValueError(f"tile_conditioning replaces the positive prompt's text, but the positive has {len(original)} entries "
                         f"(Conditioning Combine, area prompts): give Tiled Denoise's sampler a single positive prompt")
    per_tile = [encode(t.index, original[0]) for t in tiles]
    conds = dict(tiled[0]["model_conds"])
    for name in per_tile[0]:
        parts = [_repeat_batch(p[name].cond, batch) for p in per_tile]
        if len({tuple(x.shape[1:]) for x in parts}) != 1:
            raise ValueError(f"tiles of prompts of different lengths cannot share a model call ({name}): use tile_batch_size 1")
        conds[name] = per_tile[0][name]._copy_with(torch.cat(parts))
    entry = dict(tiled[0])
    entry["model_conds"] = conds
    return [entry]
