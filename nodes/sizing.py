"""Node of ``tiling/sizing.py``: the largest tile and batch an UPSCALE_MODEL can run in the device's free memory."""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch

from ..tiling import plan_by_tile_size
from ..tiling.sizing import calibrate, choose_tile
from .common import DEVICE_TOOLTIP, DEVICES, category, check_image, compute_device, module_bytes
from .models import UpscaleModelRunner, free_bytes, lcm


class TileSizeFromMemory:
    """UPSCALE_MODEL (+ IMAGE) -> the largest tile and batch that fit the device's free memory."""

    DESCRIPTION = (
        "Measure how much memory the upscale model takes per pixel (a few probe runs on small tiles), read the "
        "device's free memory, and output the largest aligned tile size and batch that fit with a safety margin. "
        "Connect tile_size to a split node's tile_width/tile_height and batch_size to Streaming Tiled Upscale."
    )
    CATEGORY = category("memory")
    FUNCTION = "choose"
    RETURN_TYPES = ("INT", "INT", "STRING")
    RETURN_NAMES = ("tile_size", "batch_size", "report")
    OUTPUT_TOOLTIPS = (
        "Tile side in px (square tiles), a multiple of align and of the model's own size multiple.",
        "Tiles per model call that still fit next to each other.",
        "The measurements and the prediction, in words.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "upscale_model": ("UPSCALE_MODEL", {"tooltip": "The model that will run on every tile (Load Upscale Model)."}),
                "device": (list(DEVICES), {"default": "auto", "tooltip": DEVICE_TOOLTIP}),
                "safety_margin": ("FLOAT", {"default": 0.25, "min": 0.0, "max": 0.9, "step": 0.05, "tooltip": (
                    "Fraction of the free memory kept back for fragmentation and whatever else runs.")}),
                "max_tile": ("INT", {"default": 1024, "min": 16, "max": 16384, "step": 8, "tooltip": (
                    "Largest tile side to consider: the size the model is meant for (about 1024 for ~1 MP models).")}),
                "min_tile": ("INT", {"default": 128, "min": 8, "max": 16384, "step": 8, "tooltip": (
                    "Smallest acceptable tile; below it the node stops with an error instead of crawling.")}),
                "align": ("INT", {"default": 8, "min": 1, "max": 512, "tooltip": "Tile sides are multiples of this."}),
                "max_batch": ("INT", {"default": 16, "min": 1, "max": 256, "tooltip": "Upper bound on tiles per model call."}),
                "probe_size": ("INT", {"default": 128, "min": 16, "max": 1024, "step": 8, "tooltip": (
                    "Side of the smallest probe tile; probes run at 1, 3/2 and 2 times it. Larger probes fit the "
                    "line better (less noise on the CPU) and take longer.")}),
            },
            "optional": {
                "image": ("IMAGE", {"tooltip": "The image to be tiled: caps the batch at its tile count (overlap below)."}),
                "overlap": ("INT", {"default": 64, "min": 0, "max": 4096, "tooltip": "Overlap used to count the image's tiles."}),
            },
        }

    def choose(self, upscale_model, device: str, safety_margin: float, max_tile: int, min_tile: int, align: int, max_batch: int,
               probe_size: int, image: Optional[torch.Tensor] = None, overlap: int = 64) -> Tuple[int, int, str]:
        dev = compute_device(device)
        runner = UpscaleModelRunner(upscale_model, dev)
        align = lcm(align, runner.multiple_of)
        min_tile = max(min_tile, runner.minimum)
        reserved = 0
        if dev.type != "cpu" and next(upscale_model.model.parameters()).device != dev:
            reserved = module_bytes(upscale_model.model)  # the weights will join the tiles on the device
        sides = sorted({max(align, int(probe_size * f) // align * align) for f in (1.0, 1.5, 2.0)})
        with runner:
            model, samples = calibrate(runner.probe, dev, sides)
            free = free_bytes(dev)
        tiles_needed = None
        if image is not None:
            image = check_image(image, "image")
            b, h, w, _ = image.shape

            def tiles_needed(side, b=b, h=h, w=w):
                return b * plan_by_tile_size(h, w, side, side, min(overlap, side - 1), 1).count

        choice = choose_tile(model, free, safety=safety_margin, reserved_bytes=reserved, align=align,
                             min_tile=min_tile, max_tile=max_tile, max_batch=max_batch, tiles_needed=tiles_needed)
        probes = ", ".join(f"{int(math.isqrt(s.pixels))}px: {s.peak_bytes / 2 ** 20:.1f} MiB" for s in samples)
        report = f"{choice.describe()} on {dev}. Probes (batch 1): {probes}."
        return (choice.tile, choice.batch, report)


NODE_CLASS_MAPPINGS = {"TileStitchTileSizeFromMemory": TileSizeFromMemory}
NODE_DISPLAY_NAME_MAPPINGS = {"TileStitchTileSizeFromMemory": "Tile Size From Memory"}
