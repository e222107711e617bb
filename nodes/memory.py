"""Memory-aware tiling nodes: pick the tile size that fits, and run a model over tiles streamed.

Both take ComfyUI's UPSCALE_MODEL (a spandrel ``ImageModelDescriptor``:
``.model``, ``.scale``, ``.input_channels``, ``.size_requirements``,
``.to(device)``, callable on ``[B, C, H, W]``). The numbers come from
``tiling.budget`` and the streaming from ``tiling.stream``.
"""

from __future__ import annotations

import math

import torch

from ..tiling import plan_by_tile_size
from ..tiling.budget import calibrate, choose_tile
from ..tiling.stream import STREAM_WINDOWS, stream_tiles
from .common import (
    CATEGORY, DEVICE_TOOLTIP, DEVICES, TILE_PLAN, check_finite, check_image, compute_device, module_bytes, progress_hook,
)
from .tiles import _plan_for, plan_inputs

def _free_bytes(device: torch.device) -> int:
    try:
        import comfy.model_management as mm
    except ImportError:
        if device.type == "cuda":
            return int(torch.cuda.mem_get_info(device)[0])
        import psutil

        return int(psutil.virtual_memory().available)
    return int(mm.get_free_memory(device))


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


def _lcm(a: int, b: int) -> int:
    return a * b // math.gcd(a, b)


class TileSizeFromMemory:
    """UPSCALE_MODEL (+ IMAGE) -> the largest tile and batch that fit the device's free memory."""

    DESCRIPTION = (
        "Measure how much memory the upscale model takes per pixel (a few probe runs on small tiles), read the "
        "device's free memory, and output the largest aligned tile size and batch that fit with a safety margin. "
        "Connect tile_size to a split node's tile_width/tile_height and batch_size to Tiled Upscale (streaming)."
    )
    CATEGORY = CATEGORY
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

    def choose(self, upscale_model, device, safety_margin, max_tile, min_tile, align, max_batch, probe_size, image=None, overlap=64):
        dev = compute_device(device)
        runner = UpscaleModelRunner(upscale_model, dev)
        align = _lcm(align, runner.multiple_of)
        min_tile = max(min_tile, runner.minimum)
        reserved = 0
        if dev.type != "cpu" and next(upscale_model.model.parameters()).device != dev:
            reserved = module_bytes(upscale_model.model)  # the weights will join the tiles on the device
        sides = sorted({max(align, int(probe_size * f) // align * align) for f in (1.0, 1.5, 2.0)})
        with runner:
            model, samples = calibrate(runner.probe, dev, sides)
            free = _free_bytes(dev)
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


class TiledUpscaleStream:
    """IMAGE + UPSCALE_MODEL -> the upscaled IMAGE, tiles cut, upscaled and blended a batch at a time."""

    DESCRIPTION = (
        "Run an upscale / restoration model over a very large image without holding its tiles: each batch of "
        "tiles is cut, sent to the device, processed and blended straight into the result. Peak memory is the "
        "source + the result + one batch (the split -> model -> merge graph holds every tile twice)."
    )
    CATEGORY = CATEGORY
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
        }

    def upscale(self, image, upscale_model, mode, tile_width, tile_height, overlap, rows, cols, max_megapixels, align,
                batch_size, blend, output_dtype, device):
        image = check_image(image, "image")
        check_finite(image, "image")
        runner = UpscaleModelRunner(upscale_model, compute_device(device))
        b, h, w, _ = image.shape
        plan = _plan_for((h, w), b, mode=mode, tile_width=tile_width, tile_height=tile_height, overlap=overlap,
                         rows=rows, cols=cols, max_megapixels=max_megapixels, align=_lcm(align, runner.multiple_of))
        dtype = torch.float16 if output_dtype == "float16" else torch.float32
        with runner:
            out = stream_tiles(image, plan, runner, batch_size=batch_size, window=blend, out_dtype=dtype,
                               progress=progress_hook(plan.batch * plan.count))
        return (out, plan)


NODE_CLASS_MAPPINGS = {
    "TileStitchTileSizeFromMemory": TileSizeFromMemory,
    "TileStitchTiledUpscaleStream": TiledUpscaleStream,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "TileStitchTileSizeFromMemory": "Tile Size From Memory",
    "TileStitchTiledUpscaleStream": "Tiled Upscale (streaming)",
}
