"""Node of ``tiling/stream.py``: an UPSCALE_MODEL run over a very large image a batch of tiles at a time."""

from __future__ import annotations

from typing import Tuple

import torch

from ..tiling.plan import TilePlan
from ..tiling.stream import STREAM_WINDOWS, stream_tiles
from .common import (
    DEVICE_TOOLTIP, DEVICES, SHRINK_TILES, TILE_PLAN, category, check_finite, check_image, compute_device, plan_from_widgets, plan_inputs,
    progress_hook,
)
from .models import UpscaleModelRunner, lcm


class TiledUpscaleStream:
    """IMAGE + UPSCALE_MODEL -> the upscaled IMAGE, tiles cut, upscaled and blended a batch at a time."""

    DESCRIPTION = (
        "Run an upscale / restoration model over a very large image without holding its tiles: each batch of "
        "tiles is cut, sent to the device, processed and blended straight into the result. Peak memory is the "
        "source + the result + one batch (the split -> model -> merge graph holds every tile twice)."
    )
    CATEGORY = category("memory")
    FUNCTION = "upscale"
    RETURN_TYPES = ("IMAGE", TILE_PLAN)
    RETURN_NAMES = ("image", "plan")
    OUTPUT_TOOLTIPS = ("The processed image at the model's scale.", "The tile grid over the source (for Seam Report).")

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The full-resolution image(s)."}),
                "upscale_model": ("UPSCALE_MODEL", {"tooltip": "The model to run on every tile (Load Upscale Model)."}),
                **plan_inputs(tile=512, overlap=32),
                "batch_size": ("INT", {"default": 4, "min": 1, "max": 256, "tooltip": (
                    "Tiles per model call; connect Tile Size From Memory's batch_size.")}),
                "blend": (list(STREAM_WINDOWS), {"default": "cosine", "tooltip": (
                    "Blend window across overlaps (the per-tile windows; multiband and Poisson need all tiles at "
                    "once: use Tile Split -> model -> Tile Merge for those).")}),
                "output_dtype": (["float32", "float16"], {"default": "float32", "tooltip": (
                    "float16 halves the result's memory but keeps only 11 bits per value (about 1/2000): fine "
                    "for 8-bit output, not for 16-bit masters.")}),
                "device": (list(DEVICES), {"default": "auto", "tooltip": DEVICE_TOOLTIP}),
            },
            "optional": {"shrink_tiles": SHRINK_TILES},
        }

    def upscale(self, image: torch.Tensor, upscale_model, mode: str, tile_width: int, tile_height: int, overlap: int, rows: int,
                cols: int, max_megapixels: float, align: int, batch_size: int, blend: str, output_dtype: str,
                device: str, shrink_tiles: bool = False) -> Tuple[torch.Tensor, TilePlan]:
        image = check_image(image, "image")
        check_finite(image, "image")
        runner = UpscaleModelRunner(upscale_model, compute_device(device))
        if image.shape[-1] != runner.channels:
            raise ValueError(f"image has {image.shape[-1]} channel(s) but the upscale model takes {runner.channels}-channel images")
        b, h, w, _ = image.shape
        plan = plan_from_widgets(h, w, b, shrink_tiles, mode=mode, tile_width=tile_width, tile_height=tile_height, overlap=overlap,
                                 rows=rows, cols=cols, max_megapixels=max_megapixels, align=lcm(align, runner.multiple_of))
        dtype = torch.float16 if output_dtype == "float16" else torch.float32
        with runner:
            out = stream_tiles(image, plan, runner, batch_size=batch_size, window=blend, out_dtype=dtype,
                               progress=progress_hook(plan.batch * plan.count))
        return (out, plan)


NODE_CLASS_MAPPINGS = {"TileStitchTiledUpscaleStream": TiledUpscaleStream}
NODE_DISPLAY_NAME_MAPPINGS = {"TileStitchTiledUpscaleStream": "Streaming Tiled Upscale"}
