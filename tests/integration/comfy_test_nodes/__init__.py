"""Test-only ComfyUI custom node (linked by the integration tests, never shipped with the pack).

* Reads the tiny models' dimensions from their weights, where ComfyUI
  assumes the released sizes: FLUX (hidden 3072, 24 heads, context 4096),
  CLIP-L (width 768, 12 layers) and T5-XXL (width 4096, 24 blocks) in
  DualCLIPLoader, the FLUX autoencoder (128 channels, x1/2/4/4) in VAELoader.
* Records every FLUX transformer call (input and reference-latent shapes,
  NaN check) for the tests, served at ``GET /tilestitch_test/flux_calls``
  (``DELETE`` resets).
* ``TileStitchTestConditioning``: random text conditioning and pooled vector
  of a given width, as a text encoder would give (no text encoder needed).
"""

import comfy.ldm.flux.model
import comfy.ldm.modules.diffusionmodules.model as vae_model
import comfy.model_detection
import comfy.sd
import comfy.text_encoders.long_clipl
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
_load_text_encoders = comfy.sd.load_text_encoder_state_dicts


def _load_tiny_text_encoders(state_dicts=[], embedding_directory=None, clip_type=comfy.sd.CLIPType.STABLE_DIFFUSION, model_options={}):
    options = dict(model_options)
    for sd in state_dicts:
        emb = sd.get("text_model.embeddings.token_embedding.weight")
        if emb is not None and emb.shape[1] != 768:
            layers = len({k.split(".")[3] for k in sd if k.startswith("text_model.encoder.layers.")})
            options["clip_l_model_config"] = dict(
                hidden_size=emb.shape[1], intermediate_size=sd["text_model.encoder.layers.0.mlp.fc1.weight"].shape[0],
                num_attention_heads=2, num_hidden_layers=layers, projection_dim=emb.shape[1])
        k = sd.get("encoder.block.0.layer.0.SelfAttention.k.weight")
        if k is not None and k.shape[1] != 4096:
            heads = sd["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"].shape[1]
            options["t5xxl_model_config"] = dict(
                d_model=k.shape[1], d_kv=k.shape[0] // heads, num_heads=heads,
                d_ff=sd["encoder.block.0.layer.1.DenseReluDense.wi_0.weight"].shape[0],
                num_layers=len({key.split(".")[2] for key in sd if key.startswith("encoder.block.")}))
    return _load_text_encoders(state_dicts, embedding_directory=embedding_directory, clip_type=clip_type, model_options=options)


comfy.sd.load_text_encoder_state_dicts = _load_tiny_text_encoders
_long_clip = comfy.text_encoders.long_clipl.model_options_long_clip


def _keep_tiny_clip_config(sd, tokenizer_data, model_options):
    """ComfyUI replaces clip_l_model_config with the position count read from the weights; keep the tiny sizes too."""
    tiny = model_options.get("clip_l_model_config", {})
    tokenizer_data, model_options = _long_clip(sd, tokenizer_data, model_options)
    if tiny:
        model_options = {**model_options, "clip_l_model_config": {**tiny, **model_options.get("clip_l_model_config", {})}}
    return tokenizer_data, model_options


comfy.text_encoders.long_clipl.model_options_long_clip = _keep_tiny_clip_config
TINY_AE = {}  # the tiny autoencoder's sizes while comfy.sd.VAE builds it
_vae_init = comfy.sd.VAE.__init__


def _tiny_vae_init(self, sd=None, *args, **kwargs):
    conv_in = (sd or {}).get("decoder.conv_in.weight")
    if conv_in is not None and conv_in.shape[1] == 16 and conv_in.shape[0] != 512:
        TINY_AE.update(ch=conv_in.shape[0], ch_mult=[1, 1, 1, 1],
                       num_res_blocks=len({k.split(".")[3] for k in sd if k.startswith("encoder.down.0.block.")}))
    try:
        _vae_init(self, sd, *args, **kwargs)
    finally:
        TINY_AE.clear()


def _sized(cls):
    class Tiny(cls):
        def __init__(self, **config):
            super().__init__(**{**config, **TINY_AE})

    Tiny.__name__ = cls.__name__
    return Tiny


comfy.sd.VAE.__init__ = _tiny_vae_init
vae_model.Encoder = _sized(vae_model.Encoder)
vae_model.Decoder = _sized(vae_model.Decoder)
_forward = comfy.ldm.flux.model.Flux._forward


def _recording_forward(self, x, timestep, context, y=None, guidance=None, ref_latents=None, *args, **kwargs):
    out = _forward(self, x, timestep, context, y, guidance, ref_latents, *args, **kwargs)
    CALLS.append({
        "x": list(x.shape),
        "context": list(context.shape),
        "context_sum": float(context.double().sum()),  # a fingerprint of the text states (per-tile prompts)
        "context_rows": [round(float(c.double().sum()), 6) for c in context],  # the same per batch item (tile)
        "ref_latents": [list(r.shape) for r in ref_latents] if ref_latents is not None else None,
        "finite": bool(torch.isfinite(out).all()),
    })
    return out


comfy.ldm.flux.model.Flux._forward = _recording_forward


@PromptServer.instance.routes.get("/tilestitch_test/flux_calls")
async def _get_calls(request):
    return web.json_response(CALLS)


@PromptServer.instance.routes.get("/tilestitch_test/live_tensor_bytes")
async def _live_tensor_bytes(request):
    """Bytes of every distinct tensor storage alive in the server (what ComfyUI's caches and nodes still hold), and with
    ``?shape=1,1024,1024,3`` how many distinct live storages hold a tensor of that shape."""
    import gc

    shape = tuple(int(v) for v in request.query["shape"].split(",")) if "shape" in request.query else None
    seen, total, count = set(), 0, 0
    for obj in gc.get_objects():
        if isinstance(obj, torch.Tensor) and obj.device.type == "cpu":
            storage = obj.untyped_storage()
            if storage.data_ptr() and storage.data_ptr() not in seen:
                seen.add(storage.data_ptr())
                total += storage.nbytes()
                count += shape is not None and tuple(obj.shape) == shape
    return web.json_response({"bytes": total, "count": count})


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


class TestCaption:
    """A stand-in captioner: the text of an image's mean value (a caption node run over a tile list)."""
    CATEGORY = "TileStitch/testing"
    FUNCTION = "caption"
    RETURN_TYPES = ("STRING",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",)}}

    def caption(self, image):
        return (f"mean\n{float(image.double().mean()):.9f}",)


class TestFillFromPrompt:
    """A loop body that reads its prompt: the tile filled with the number the prompt's last word spells."""
    CATEGORY = "TileStitch/testing"
    FUNCTION = "fill"
    RETURN_TYPES = ("IMAGE",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",), "prompt": ("STRING", {"forceInput": True})}}

    def fill(self, image, prompt):
        return (torch.full_like(image, float(prompt.split()[-1])),)


NODE_CLASS_MAPPINGS = {"TileStitchTestConditioning": TestConditioning, "TileStitchTestCaption": TestCaption,
                       "TileStitchTestFillFromPrompt": TestFillFromPrompt}
