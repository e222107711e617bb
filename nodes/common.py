"""What every TileStitch node shares: categories, type names, progress, input checks, the plan widgets, split and merge.

ComfyUI modules are imported lazily inside functions, so this file (and
every node file) imports without ComfyUI; the pure code never sees ComfyUI.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import torch

from ..blenders import blend, blender
from ..imaging.resample import resize_mask
from ..tiling import IMAGE, MASK, PLAN_MODES, TilePlan, extract_tiles, plan_tiles
from ..tiling.stack import TileStack

PACK = "TileStitch"
TILE_PLAN = "TILE_PLAN"
DEVICES = ("auto", "cpu")
DEVICE_TOOLTIP = "auto: ComfyUI's compute device (the GPU when there is one). cpu: run on the CPU."
Progress = Optional[Callable[[int, int], None]]

#: menu families (``TileStitch/<family>``), in the order of the pipeline
FAMILIES = ("tiles", "merge", "latent", "correct", "qa", "edit", "masks", "memory", "io", "sana")


def category(family: str) -> str:
    """The menu category of a node of ``family`` (one of ``FAMILIES``)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown node family {family!r}")
    return f"{PACK}/{family}"


def compute_device(choice: str = "auto") -> torch.device:
    """``cpu``, or ComfyUI's compute device for ``auto`` (CUDA when available outside ComfyUI)."""
    if choice == "cpu":
        return torch.device("cpu")
    try:
        import comfy.model_management as mm
    except ImportError:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return mm.get_torch_device()


def module_bytes(module: torch.nn.Module) -> int:
    """Bytes of a module's parameters and buffers."""
    return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))


def progress_hook(total: int) -> Progress:
    """A ``progress(done, total)`` callback for the pure code.

    In ComfyUI it advances the node's progress bar and raises ComfyUI's
    interrupt exception when the user pressed Cancel, so loops stop between
    tiles. ``total`` only sizes the bar until the first call (each call
    brings its own). Outside ComfyUI it is ``None`` (no progress reporting).
    """
    try:
        import comfy.model_management as mm
        import comfy.utils
    except ImportError:
        return None
    bar = comfy.utils.ProgressBar(max(1, total))

    def hook(done: int, of: int) -> None:
        mm.throw_exception_if_processing_interrupted()
        bar.update_absolute(done, of)

    return hook


def text_progress(total: int, label: str) -> Progress:
    """A ``progress(done, total)`` callback that writes ``label done/total`` on the running node.

    For loops inside another node's run (the tiled denoiser inside a
    sampler): the sampler keeps its progress bar, the tiles show as text.
    Honours Cancel between calls. ``None`` outside ComfyUI.
    """
    try:
        import comfy.model_management as mm
        from comfy_execution.utils import get_executing_context
        from server import PromptServer
    except ImportError:
        return None

    def hook(done: int, of: int) -> None:
        mm.throw_exception_if_processing_interrupted()
        ctx = get_executing_context()
        if ctx is not None and PromptServer.instance is not None:
            PromptServer.instance.send_progress_text(f"{label} {done}/{of}", ctx.node_id)

    return hook


# -- input checks ----------------------------------------------------------
FINITE_CHUNK = 1 << 20  # values per step of the NaN / Inf scan: stays in cache, no full-size temporary


def _chunks(t: torch.Tensor):
    """``t``'s values in pieces of at most ``FINITE_CHUNK`` (views, never copies; broadcast dims read once).

    A contiguous tensor is cut into flat runs; any other layout (a view of a
    channels-first buffer, a slice) is cut along its leading dimensions only
    until a piece is small enough, and the piece is kept with its strides.
    """
    for d in range(t.ndim):
        if t.stride(d) == 0 and t.shape[d] > 1:
            t = t.narrow(d, 0, 1)
    if t.numel() <= FINITE_CHUNK or t.ndim <= 1:
        yield t
    elif t.is_contiguous():
        flat = t.reshape(-1)
        for start in range(0, flat.numel(), FINITE_CHUNK):
            yield flat[start : start + FINITE_CHUNK]
    else:
        step = max(1, FINITE_CHUNK // max(1, t[0].numel()))
        for start in range(0, t.shape[0], step):
            sub = t[start : start + step]
            yield from (_chunks(sub[0]) if sub.shape[0] == 1 and sub.numel() > FINITE_CHUNK else (sub,))


def per_tile(batch: torch.Tensor, images: int, count: int) -> list:
    """An image-major tile batch ``[images * count, ...]`` as ``count`` entries of ``[images, ...]`` (views, for list outputs)."""
    grouped = batch.view(images, count, *batch.shape[1:])
    return [grouped[:, k] for k in range(count)]


def check_finite(t: torch.Tensor, name: str, per: str = "image") -> None:
    """Raise a ValueError naming the input (and the first bad batch entry) if ``t`` has NaN or Inf.

    Streams over the tensor in cache-sized chunks (a chunk's sum is finite
    when every value is, barring overflow, which an exact check then
    settles), so it allocates nothing the size of the input.
    """
    if not t.is_floating_point() or t.numel() == 0:
        return
    if all(bool(torch.isfinite(part.sum())) or bool(torch.isfinite(part).all()) for part in _chunks(t)):
        return
    bad = next(i for i in range(t.shape[0]) if not all(bool(torch.isfinite(p).all()) for p in _chunks(t[i : i + 1])))
    kind = "NaN" if any(bool(torch.isnan(p).any()) for p in _chunks(t[bad : bad + 1])) else "Inf"
    raise ValueError(f"{name} contains {kind} values ({per} {bad} of {t.shape[0]}); the node that produced it returned invalid pixels")


def check_image(t, name: str) -> torch.Tensor:
    """An IMAGE is ``[B, H, W, C]`` float; say so plainly when it is not."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be an IMAGE tensor, got {type(t).__name__}")
    if t.ndim == 3:  # a single image without batch dimension
        t = t.unsqueeze(0)
    if t.ndim != 4 or min(t.shape) < 1:
        raise ValueError(f"{name} must be an IMAGE of shape [batch, height, width, channels] with no empty side, got {tuple(t.shape)}")
    if not t.is_floating_point():
        raise ValueError(f"{name} must be a float IMAGE, got {t.dtype}")
    return t


def check_mask(t, name: str) -> torch.Tensor:
    """A MASK is ``[B, H, W]`` (``[H, W]`` is accepted as a batch of one); float out. An implicit zero mask stays a view."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a MASK tensor, got {type(t).__name__}")
    if t.ndim == 2:
        t = t.unsqueeze(0)
    if t.ndim == 4 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 3 or min(t.shape) < 1:
        raise ValueError(f"{name} must be a MASK of shape [batch, height, width] with no empty side, got {tuple(t.shape)}")
    return t.float() if not t.is_floating_point() else t


def check_clip(clip, name: str = "clip"):
    """A ComfyUI CLIP (what a text node needs: ``tokenize``), or a clear error naming ``name``."""
    if not callable(getattr(clip, "tokenize", None)):
        raise ValueError(f"{name} must be a CLIP model (a CLIP loader's output), got {type(clip).__name__}")
    return clip


def check_plan(plan) -> TilePlan:
    if not isinstance(plan, TilePlan):
        raise ValueError(f"plan must be a TILE_PLAN from a split node, got {type(plan).__name__}")
    return plan


def latent_samples(latent, name: str) -> torch.Tensor:
    """A LATENT's ``samples`` ``[B, C, H, W]``, checked (a dict with a finite 4-D tensor), with errors naming ``name``."""
    if not isinstance(latent, dict) or not isinstance(latent.get("samples"), torch.Tensor):
        raise ValueError(f"{name} must be a LATENT (a dict with 'samples'), got {type(latent).__name__}")
    s = latent["samples"]
    if s.ndim != 4:
        raise ValueError(f"{name} has samples of shape {tuple(s.shape)}; only image latents [batch, channels, height, width] can be tiled")
    if min(s.shape) < 1:
        raise ValueError(f"{name} has an empty dimension (samples of shape {tuple(s.shape)})")
    check_finite(s, name)
    return s


def zeros_mask(batch: int, height: int, width: int) -> torch.Tensor:
    """An all-zero MASK that takes no memory (a broadcast view)."""
    return torch.zeros((1, 1, 1)).expand(batch, height, width)


def is_zeros_mask(t: torch.Tensor) -> bool:
    """Whether ``t`` is a ``zeros_mask`` view (nothing was given): it stays implicit downstream."""
    return t.ndim == 3 and t.stride() == (0, 0, 0) and t.untyped_storage().nbytes() <= t.element_size() and not bool(t.flatten()[0])


def fit_mask(mask: torch.Tensor, batch: int, height: int, width: int, name: str) -> torch.Tensor:
    """Resize a MASK to ``height x width`` (bilinear) and repeat a single mask over ``batch``."""
    mask = check_mask(mask, name)
    if mask.shape[0] not in (1, batch):
        raise ValueError(f"{name} has {mask.shape[0]} masks for {batch} images; give one mask or one per image")
    check_finite(mask, name, per="mask")
    mask = resize_mask(mask, height, width)
    if mask.shape[0] != batch:
        mask = mask.expand(batch, height, width)
    return mask.contiguous()


# -- the tile grid widgets, split and merge ----------------------------------------
def plan_inputs(unit: str = "px", tile: int = 1024, overlap: int = 128, align: int = 8, max_size: int = 16384) -> Dict[str, tuple]:
    """Widgets that describe a tile grid; shared by every split node (pixel or latent units)."""
    return {
        "mode": (list(PLAN_MODES), {"default": "tile_size", "tooltip": (
            "tile_size: tiles of at most tile_width x tile_height. grid: exactly rows x cols tiles. "
            "megapixels: the fewest tiles of at most max_megapixels each (for models trained near 1 MP).")}),
        "tile_width": ("INT", {"default": tile, "min": 1, "max": max_size, "step": 1, "tooltip": (
            f"Tile width in {unit} (mode tile_size). Rounded down to a multiple of align; a tile wider than "
            "the image becomes one tile across.")}),
        "tile_height": ("INT", {"default": tile, "min": 1, "max": max_size, "step": 1, "tooltip": (
            f"Tile height in {unit} (mode tile_size). Rounded down to a multiple of align.")}),
        "overlap": ("INT", {"default": overlap, "min": 0, "max": max_size - 1, "step": 1, "tooltip": (
            f"Minimum overlap between neighbouring tiles in {unit}; the blend happens here. Tiles are spaced "
            "evenly, so actual overlaps are this or slightly more. Must be smaller than the tile.")}),
        "rows": ("INT", {"default": 2, "min": 1, "max": 256, "tooltip": "Number of tile rows (mode grid)."}),
        "cols": ("INT", {"default": 2, "min": 1, "max": 256, "tooltip": "Number of tile columns (mode grid)."}),
        "max_megapixels": ("FLOAT", {"default": 1.0, "min": 0.01, "max": 256.0, "step": 0.05, "tooltip": (
            "Largest tile area in megapixels (mode megapixels); the grid with the fewest, squarest tiles is chosen.")}),
        "align": ("INT", {"default": align, "min": 1, "max": 512, "tooltip": (
            f"Tile sizes and starts are multiples of this ({unit}). Use 8 or 16 for VAEs and models that need "
            "multiples; a multiple of 2 lets tiles resized by x1.5 map back exactly.")}),
    }


SHRINK_TILES = ("BOOLEAN", {"default": False, "tooltip": (
    "Keep the number of tiles the settings give, but shrink every tile to the smallest size (a multiple of align) that "
    "still overlaps by the overlap: the model processes far fewer pixels (a 1078 px image in 1024 px tiles: 1.14x the "
    "image instead of 3.6x). Leave off for models that need exactly tile_width x tile_height (a diffusion model "
    "trained at 1024).")})


def plan_from_widgets(height: int, width: int, batch: int, shrink_tiles: bool = False, **widgets) -> TilePlan:
    """The plan the ``plan_inputs`` widgets (and ``shrink_tiles``) ask for over ``batch`` images of ``height x width``."""
    return plan_tiles(height, width, batch=batch, shrink=bool(shrink_tiles), **widgets)


def cut_tiles(image: torch.Tensor, plan: TilePlan, mask: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, TilePlan, torch.Tensor]:
    """The split every split node shares: image (+ mask) -> (tiles, plan, mask tiles; an implicit zero view without a mask)."""
    b, h, w, _ = image.shape
    tiles = extract_tiles(image, plan, IMAGE, progress=progress_hook(plan.count))
    if mask is None:
        mask_tiles = zeros_mask(b * plan.count, plan.tile_height, plan.tile_width)
    else:
        mask_tiles = extract_tiles(fit_mask(mask, b, h, w, "mask"), plan, MASK)
    return (tiles, plan, mask_tiles)


def _checked_tiles(tiles, check, name: str, per: str):
    """A tile batch, or a list of per-tile tensors (Tile Split (list)), each checked by ``check`` and for NaN / Inf."""
    if isinstance(tiles, (list, tuple)):
        out = [check(t, f"{name} {k}") for k, t in enumerate(tiles)]
        for k, t in enumerate(out):
            check_finite(t, f"{name} {k}", per="image")
        return out
    tiles = check(tiles, name)
    check_finite(tiles, name, per=per)
    return tiles


def merge_tiles(tiles, plan, blend_method: str, mask_tiles=None, **options) -> Tuple[torch.Tensor, torch.Tensor]:
    """The merge every merge node shares: tiles (+ mask tiles) -> image, mask.

    ``tiles`` is one batch or a list of per-tile tensors (written straight into
    the result, never concatenated). ``options`` go to the blender (band width,
    seam cutter ...); mask tiles are joined with the same method and options
    but the centre-line cut. A missing (or implicit all-zero) mask gives an
    implicit zero mask; nothing is blended for it.
    """
    plan = check_plan(plan)
    blender(blend_method)  # an unknown method is named before any work
    tiles = _checked_tiles(tiles, check_image, "tiles", "tile")
    if mask_tiles is not None:
        mask_tiles = _checked_tiles(mask_tiles, check_mask, "mask_tiles", "tile")
        TileStack(mask_tiles, plan, MASK, "mask_tiles")  # count and size, named before any work
    zero_masks = mask_tiles is None or all(is_zeros_mask(m) for m in (mask_tiles if isinstance(mask_tiles, list) else [mask_tiles]))
    progress = progress_hook(2 * plan.count + plan.rows)
    image = blend(tiles, plan, blend_method, layout=IMAGE, progress=progress, **options)
    out_h, out_w = image.shape[1], image.shape[2]
    if zero_masks:
        return (image, zeros_mask(plan.batch, out_h, out_w))
    mask_options = {k: v for k, v in options.items() if k != "cutter"}
    mask = blend(mask_tiles, plan, blend_method, layout=MASK, progress=progress, **mask_options)
    return (image, resize_mask(mask, out_h, out_w))
