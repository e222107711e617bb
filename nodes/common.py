"""What every TileStitch node shares: type names, category, progress, input checks.

ComfyUI modules are imported lazily inside functions, so this file (and
every node file) imports without ComfyUI; the pure code never sees ComfyUI.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

CATEGORY = "TileStitch"
TILE_PLAN = "TILE_PLAN"
DEVICES = ("auto", "cpu")
DEVICE_TOOLTIP = "auto: ComfyUI's compute device (the GPU when there is one). cpu: run on the CPU."


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


def progress_hook(total: int) -> Optional[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback for the pure code.

    In ComfyUI it advances the node's progress bar and raises ComfyUI's
    interrupt exception when the user pressed Cancel, so loops stop between
    tiles. Outside ComfyUI it is ``None`` (no progress reporting).
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


def text_progress(total: int, label: str) -> Optional[Callable[[int, int], None]]:
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


def check_finite(t: torch.Tensor, name: str, per: str = "image") -> None:
    """Raise a ValueError naming the input (and the first bad batch entry) if ``t`` has NaN or Inf."""
    if bool(torch.isfinite(t).all()):
        return
    flat = t.reshape(t.shape[0], -1)
    bad = int((~torch.isfinite(flat)).any(dim=1).nonzero()[0, 0])
    kind = "NaN" if bool(torch.isnan(flat[bad]).any()) else "Inf"
    raise ValueError(f"{name} contains {kind} values ({per} {bad} of {t.shape[0]}); the node that produced it returned invalid pixels")


def check_image(t, name: str) -> torch.Tensor:
    """An IMAGE is ``[B, H, W, C]`` float; say so plainly when it is not."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be an IMAGE tensor, got {type(t).__name__}")
    if t.ndim == 3:  # a single image without batch dimension
        t = t.unsqueeze(0)
    if t.ndim != 4 or t.shape[-1] < 1 or t.shape[1] < 1 or t.shape[2] < 1:
        raise ValueError(f"{name} must be an IMAGE of shape [batch, height, width, channels], got {tuple(t.shape)}")
    if not t.is_floating_point():
        raise ValueError(f"{name} must be a float IMAGE, got {t.dtype}")
    return t


def check_mask(t, name: str) -> torch.Tensor:
    """A MASK is ``[B, H, W]`` (``[H, W]`` is accepted as a batch of one)."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a MASK tensor, got {type(t).__name__}")
    if t.ndim == 2:
        t = t.unsqueeze(0)
    if t.ndim == 4 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 3:
        raise ValueError(f"{name} must be a MASK of shape [batch, height, width], got {tuple(t.shape)}")
    return t.float() if not t.is_floating_point() else t


def fit_mask(mask: torch.Tensor, batch: int, height: int, width: int, name: str) -> torch.Tensor:
    """Resize a MASK to ``height x width`` (bilinear) and repeat a single mask over ``batch``."""
    mask = check_mask(mask, name)
    if mask.shape[0] not in (1, batch):
        raise ValueError(f"{name} has {mask.shape[0]} masks for {batch} images; give one mask or one per image")
    if mask.shape[-2:] != (height, width):
        mask = torch.nn.functional.interpolate(mask.unsqueeze(1), size=(height, width), mode="bilinear", align_corners=False)[:, 0]
    if mask.shape[0] != batch:
        mask = mask.expand(batch, height, width)
    return mask.contiguous()


def zeros_mask(batch: int, height: int, width: int) -> torch.Tensor:
    """An all-zero MASK that takes no memory (a broadcast view)."""
    return torch.zeros((1, 1, 1)).expand(batch, height, width)
