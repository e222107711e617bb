"""Adapters for the ComfyUI model objects the nodes drive over tiles.

``UPSCALE_MODEL`` is a spandrel ``ImageModelDescriptor``: ``.model``,
``.scale``, ``.input_channels``, ``.size_requirements``, ``.to(device)``,
callable on ``[B, C, H, W]``.
"""

from __future__ import annotations

import math

import torch


def free_bytes(device: torch.device) -> int:
    """Free memory on ``device`` as ComfyUI counts it (CUDA's or the system's outside ComfyUI)."""
    try:
        import comfy.model_management as mm
    except ImportError:
        if device.type == "cuda":
            return int(torch.cuda.mem_get_info(device)[0])
        import psutil

        return int(psutil.virtual_memory().available)
    return int(mm.get_free_memory(device))


def lcm(a: int, b: int) -> int:
    return a * b // math.gcd(a, b)


class UpscaleModelRunner:
    """Calls an UPSCALE_MODEL on IMAGE tiles: ``[n, h, w, C]`` in, ``[n, h*s, w*s, C]`` out, clamped to [0, 1].

    Tiles move to the model's device and dtype one batch at a time; results come back as float32 on the CPU.
    """

    def __init__(self, descriptor, device: torch.device):
        for attr in ("model", "scale"):
            if not hasattr(descriptor, attr):
                raise ValueError(f"upscale_model must be an UPSCALE_MODEL from Load Upscale Model, got {type(descriptor).__name__}")
        self.descriptor = descriptor
        self.device = device
        self.scale = descriptor.scale
        self.channels = getattr(descriptor, "input_channels", 3)
        req = getattr(descriptor, "size_requirements", None)
        self.multiple_of = max(1, int(getattr(req, "multiple_of", 1) or 1))
        self.minimum = max(1, int(getattr(req, "minimum", 1) or 1))
        self.dtype = next(descriptor.model.parameters()).dtype

    def __enter__(self):
        self.descriptor.to(self.device)
        return self

    def __exit__(self, *exc):
        self.descriptor.to("cpu")
        return False

    def __call__(self, tiles: torch.Tensor) -> torch.Tensor:
        if tiles.shape[-1] != self.channels:
            raise ValueError(f"the upscale model takes {self.channels}-channel images, got {tiles.shape[-1]} channels")
        x = tiles.movedim(-1, -3).to(self.device, self.dtype)
        with torch.inference_mode():
            y = self.descriptor(x)
        return torch.clamp(y.movedim(-3, -1).float(), 0.0, 1.0).cpu()

    def probe(self, side: int, batch: int) -> None:
        """One model call on a random ``batch x side x side`` tile, on the device (for calibration)."""
        x = torch.rand(batch, self.channels, side, side, device=self.device, dtype=self.dtype)
        with torch.inference_mode():
            self.descriptor(x)
