"""Global context encoder: one look at the whole image, kept for every tile."""

from __future__ import annotations

import json

from ..blenders.global_context import build_context
from .common import CATEGORY, check_finite, check_image

GLOBAL_CONTEXT = "GLOBAL_CONTEXT"


class GlobalContextEncode:
    DESCRIPTION = (
        "Summarise the full-resolution image once: a downsampled reference, its CIELAB statistics, a low-frequency "
        "reference and a 64-number descriptor (optionally also the reference's VAE latent and its channel "
        "statistics). Colour correction, frequency merge and the latent tiler use it to keep every tile true to "
        "the whole picture."
    )
    CATEGORY = CATEGORY
    FUNCTION = "encode"
    RETURN_TYPES = (GLOBAL_CONTEXT, "IMAGE", "STRING")
    RETURN_NAMES = ("context", "reference", "summary")
    OUTPUT_TOOLTIPS = (
        "The global context; connect it to Tile Color Correct (and the tiled denoise node).",
        "The downsampled reference image (area-averaged), e.g. for Frequency Merge or a preview.",
        "The context's numbers as JSON (sizes, Lab mean/std, latent statistics).",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The full-resolution image you will split (the same image, not a crop)."}),
                "max_side": ("INT", {"default": 1024, "min": 64, "max": 8192, "step": 64, "tooltip": (
                    "Longest side of the reference in pixels. 1024 captures colour and exposure of any photo; "
                    "larger keeps more mid-frequency detail for the correction.")}),
            },
            "optional": {
                "vae": ("VAE", {"tooltip": "Optional: also encode the reference with this VAE, for latent-space colour guidance."}),
            },
        }

    def encode(self, image, max_side, vae=None):
        image = check_image(image, "image")
        check_finite(image, "image")
        context = build_context(image, max_side)
        if vae is not None:
            pixels = context.reference[..., :3] if context.reference.shape[-1] >= 3 else context.reference[..., :1].expand(-1, -1, -1, 3)
            context = context.with_latent(vae.encode(pixels))
        return (context, context.reference, json.dumps(context.summary()))


NODE_CLASS_MAPPINGS = {"TileStitchGlobalContext": GlobalContextEncode}
NODE_DISPLAY_NAME_MAPPINGS = {"TileStitchGlobalContext": "Global Context Encode"}
