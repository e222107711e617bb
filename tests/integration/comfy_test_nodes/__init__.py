"""Test-only ComfyUI custom node (linked by the integration tests, never shipped with the pack).

* Reads a tiny FLUX's dimensions from its weights: ComfyUI's model detection
  assumes the released FLUX sizes (hidden 3072, 24 heads, context 4096).
* Records every FLUX transformer call (input and reference-latent shapes,
  NaN check) for the tests, served at ``GET /tilestitch_test/flux_calls``
  (``DELETE`` resets).
* ``TileStitchTestConditioning``: random text conditioning and pooled vector
  of a given width, as a text encoder would give (no text encoder needed).
"""

import comfy.ldm.flux.model
import comfy.model_detection
import torch
from aiohttp import web
from server import PromptServer

CALLS = []
_detect = comfy.model_detection.detect_unet_config


def _detect_tiny_flux(state_dict, key_prefix, *args, **kwargs):
    config = _detect(state_dict, key_prefix, *args, **kwargs)
    img_in = state_dict.get(f"{key_prefix}img_in.weight")
    if isinstance(config, dict) and config.get("image_model") == "flux" and img_in is not None and img_in.shape[0] != 3072:
        hidden = img_in.shape[0]
        head = state_dict[f"{key_prefix}double_blocks.0.img_attn.norm.query_norm.scale"].shape[0]
        side = (head * 7 // 16) // 2 * 2
        config.update(
            hidden_size=hidden,
            num_heads=hidden // head,
            context_in_dim=state_dict[f"{key_prefix}txt_in.weight"].shape[1],
            mlp_ratio=state_dict[f"{key_prefix}double_blocks.0.img_mlp.0.weight"].shape[0] / hidden,
            axes_dim=[head - 2 * side, side, side],
        )
    return config


comfy.model_detection.detect_unet_config = _detect_tiny_flux
_forward = comfy.ldm.flux.model.Flux._forward


def _recording_forward(self, x, timestep, context, y=None, guidance=None, ref_latents=None, *args, **kwargs):
    out = _forward(self, x, timestep, context, y, guidance, ref_latents, *args, **kwargs)
    CALLS.append({
        "x": list(x.shape),
        "context": list(context.shape),
        "ref_latents": [list(r.shape) for r in ref_latents] if ref_latents is not None else None,
        "finite": bool(torch.isfinite(out).all()),
    })
    return out


comfy.ldm.flux.model.Flux._forward = _recording_forward


@PromptServer.instance.routes.get("/tilestitch_test/flux_calls")
async def _get_calls(request):
    return web.json_response(CALLS)


@PromptServer.instance.routes.delete("/tilestitch_test/flux_calls")
async def _reset_calls(request):
    CALLS.clear()
    return web.json_response([])


class TestConditioning:
    CATEGORY = "TileStitch/testing"
    FUNCTION = "make"
    RETURN_TYPES = ("CONDITIONING",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "seed": ("INT", {"default": 0, "min": 0, "max": 2**31}),
            "tokens": ("INT", {"default": 8, "min": 1, "max": 512}),
            "width": ("INT", {"default": 32, "min": 1, "max": 8192}),
            "pooled_width": ("INT", {"default": 16, "min": 1, "max": 8192}),
        }}

    def make(self, seed, tokens, width, pooled_width):
        g = torch.Generator().manual_seed(seed)
        cond = torch.randn(1, tokens, width, generator=g)
        pooled = torch.randn(1, pooled_width, generator=g)
        return ([[cond, {"pooled_output": pooled}]],)


NODE_CLASS_MAPPINGS = {"TileStitchTestConditioning": TestConditioning}
