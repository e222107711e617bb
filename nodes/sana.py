"""SANA through diffusers: load a local folder, encode text, DC-AE encode/decode, tiled sampling.

ComfyUI core has no SANA; these adapters wrap the pure ``sana`` package.
Types: ``SANA_MODEL`` (``sana.SanaModels``), ``SANA_CONDITIONING``
(``sana.SanaPrompt``); latents travel as ComfyUI LATENTs whose ``samples``
are SANA's scaled DC-AE latents ``[B, 32, H/32, W/32]``, with the image size
they came from under ``tilestitch_sana`` so decoding crops the padding away.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..sana import TILING_MODES, decode_latent, encode_image, encode_prompt, find_sana_folders, load_sana, sample_tiled
from ..sana.models import DTYPES, WHERE_TO_GET, SanaModels
from ..sana.prompt import SanaPrompt
from ..tiling.denoise import DENOISE_WINDOWS
from .models import free_bytes
from .common import (
    DEVICE_TOOLTIP, DEVICES, category, check_finite, check_image, compute_device, latent_samples, module_bytes, progress_hook,
)

SANA_MODEL = "SANA_MODEL"
SANA_CONDITIONING = "SANA_CONDITIONING"
SANA_KEY = "tilestitch_sana"
TILING_TOOLTIP = (
    "dc_ae: diffusers' own DC-AE tiling (tiles every tile_size - overlap px, linear blends; all tiles held on the "
    "device). stream: the pack's streaming (a batch of tiles at a time on the device, cosine partition of unity, "
    "result on the CPU) for 10 000+ px. off: the whole image at once."
)


def _diffusers_roots():
    import folder_paths

    return [Path(p) for p in folder_paths.get_folder_paths("diffusers")]


def _sana_folders():
    try:
        return find_sana_folders(_diffusers_roots())
    except ImportError:  # outside ComfyUI
        return []


def _make_room(device: torch.device, module: torch.nn.Module) -> None:
    """Ask ComfyUI to unload its own models until ``module`` fits on ``device``."""
    if device.type == "cpu":
        return
    try:
        import comfy.model_management as mm
    except ImportError:
        return
    mm.free_memory(int(module_bytes(module) * 1.2) + (512 << 20), device)


def _check_models(sana) -> SanaModels:
    if not isinstance(sana, SanaModels):
        raise ValueError(f"sana must come from Load SANA Model, got {type(sana).__name__}")
    return sana


def _sana_latent(latent, sana: SanaModels, name: str) -> torch.Tensor:
    s = latent_samples(latent, name)
    if s.shape[1] != sana.latent_channels:
        raise ValueError(f"{name} is {tuple(s.shape)}, not a SANA latent [batch, {sana.latent_channels}, h, w]; "
                         f"make it with SANA VAE Encode")
    return s


def _tiling_inputs(tile: int = 1024, overlap: int = 128):
    return {
        "tiling": (list(TILING_MODES), {"default": "dc_ae", "tooltip": TILING_TOOLTIP}),
        "tile_size": ("INT", {"default": tile, "min": 64, "max": 8192, "step": 32, "tooltip": "Tile side in image pixels (a multiple of 32)."}),
        "overlap": ("INT", {"default": overlap, "min": 0, "max": 2048, "step": 32, "tooltip": "Overlap between tiles in image pixels (a multiple of 32)."}),
        "tile_batch_size": ("INT", {"default": 1, "min": 1, "max": 64, "tooltip": "Tiles per VAE call in stream mode."}),
    }


class SanaLoader:
    DESCRIPTION = (
        "Load a SANA model from a diffusers-format folder in models/diffusers/ (transformer, DC-AE VAE, Gemma 2 text "
        "encoder, tokenizer, scheduler), from local files only: nothing is downloaded."
    )
    CATEGORY = category("sana")
    FUNCTION = "load"
    RETURN_TYPES = (SANA_MODEL,)
    RETURN_NAMES = ("sana",)
    OUTPUT_TOOLTIPS = ("The SANA pipeline: connect it to SANA Text Encode, VAE Encode/Decode and Tiled Sampler.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model_folder": (_sana_folders(), {"tooltip": (
                "A SANA diffusers folder under models/diffusers/, e.g. Sana_1600M_1024px_BF16_diffusers "
                "(Efficient-Large-Model on Hugging Face).")}),
            "dtype": (["auto", *DTYPES], {"default": "auto", "tooltip": "auto: bfloat16 on a GPU that supports it (else float16), float32 on the CPU."}),
            "device": (list(DEVICES), {"default": "auto", "tooltip": DEVICE_TOOLTIP}),
        }}

    @classmethod
    def VALIDATE_INPUTS(cls, model_folder):
        found = _sana_folders()
        if model_folder not in found:
            where = ", ".join(str(p) for p in _diffusers_roots())
            listed = ", ".join(found) if found else "none"
            return f"SANA folder '{model_folder}' not found in {where} (SANA folders there: {listed}); {WHERE_TO_GET}"
        return True

    def load(self, model_folder, dtype, device):
        roots = _diffusers_roots()
        path = next((r / model_folder for r in roots if (r / model_folder / "model_index.json").is_file()), roots[0] / model_folder)
        dev = compute_device(device)
        try:
            import comfy.model_management as mm

            offload = mm.unet_offload_device() if dev.type != "cpu" else dev
        except ImportError:
            offload = torch.device("cpu")
        return (load_sana(path, dtype, dev, offload),)


class SanaTextEncode:
    DESCRIPTION = "Encode a prompt and a negative prompt with SANA's Gemma 2 text encoder."
    CATEGORY = category("sana")
    FUNCTION = "encode"
    RETURN_TYPES = (SANA_CONDITIONING,)
    RETURN_NAMES = ("conditioning",)
    OUTPUT_TOOLTIPS = ("Prompt and negative prompt embeddings for the SANA Tiled Sampler.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "sana": (SANA_MODEL, {"tooltip": "From Load SANA Model."}),
            "prompt": ("STRING", {"multiline": True, "default": "", "tooltip": "What the picture shows; every tile gets the whole prompt, so describe textures and materials rather than composition."}),
            "negative_prompt": ("STRING", {"multiline": True, "default": "", "tooltip": "What to steer away from (used when cfg > 1)."}),
            "complex_instruction": ("BOOLEAN", {"default": True, "tooltip": "Prepend SANA's own prompt-enhancing instruction to the prompt, as the release's pipeline does."}),
            "max_tokens": ("INT", {"default": 300, "min": 2, "max": 1024, "tooltip": "Prompt tokens kept (SANA was trained with 300)."}),
        }}

    def encode(self, sana, prompt, negative_prompt, complex_instruction, max_tokens):
        sana = _check_models(sana)
        _make_room(sana.device, sana.pipe.text_encoder)
        return (encode_prompt(sana, prompt, negative_prompt, instruction=complex_instruction, max_tokens=max_tokens),)


class SanaVAEEncode:
    DESCRIPTION = "Encode an image of any size with SANA's DC-AE (32x down, 32 channels), tiled; sizes that are not a multiple of 32 are padded and cropped back on decode."
    CATEGORY = category("sana")
    FUNCTION = "encode"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("samples",)
    OUTPUT_TOOLTIPS = ("A SANA latent (scaled), for the SANA Tiled Sampler.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "sana": (SANA_MODEL, {"tooltip": "From Load SANA Model."}),
            "image": ("IMAGE", {"tooltip": "The picture to refine (e.g. the original upscaled to the target size)."}),
            **_tiling_inputs(),
        }}

    def encode(self, sana, image, tiling, tile_size, overlap, tile_batch_size):
        sana = _check_models(sana)
        image = check_image(image, "image")
        check_finite(image, "image")
        if image.shape[-1] != 3:
            raise ValueError(f"image has {image.shape[-1]} channel(s); SANA's DC-AE encodes RGB images (3 channels)")
        _make_room(sana.device, sana.vae)
        b, h, w, _ = image.shape
        samples = encode_image(sana, image, tiling=tiling, tile=tile_size, overlap=overlap, batch_size=tile_batch_size,
                               progress=progress_hook(b))
        return ({"samples": samples, SANA_KEY: {"height": h, "width": w}},)


class SanaVAEDecode:
    DESCRIPTION = "Decode a SANA latent with the DC-AE, tiled, back to the size it was encoded from."
    CATEGORY = category("sana")
    FUNCTION = "decode"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)
    OUTPUT_TOOLTIPS = ("The decoded picture, 0..1.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "sana": (SANA_MODEL, {"tooltip": "From Load SANA Model."}),
            "samples": ("LATENT", {"tooltip": "A SANA latent (SANA VAE Encode or SANA Tiled Sampler)."}),
            **_tiling_inputs(),
        }}

    def decode(self, sana, samples, tiling, tile_size, overlap, tile_batch_size):
        sana = _check_models(sana)
        z = _sana_latent(samples, sana, "samples")
        size = samples.get(SANA_KEY)
        _make_room(sana.device, sana.vae)
        image = decode_latent(sana, z, tiling=tiling, tile=tile_size, overlap=overlap, batch_size=tile_batch_size,
                              size=(size["height"], size["width"]) if size else None, progress=progress_hook(z.shape[0]))
        return (image,)


class SanaTiledSampler:
    DESCRIPTION = (
        "Sample SANA over a latent of any size, tile by tile at the model's native size: every step blends the tiles' "
        "clean-image predictions (cosine, Mixture of Diffusers or MultiDiffusion weights) and takes one flow-matching "
        "Euler step on the whole latent. denoise < 1 refines the input (img2img); 1 generates from noise."
    )
    CATEGORY = category("sana")
    FUNCTION = "sample"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("samples",)
    OUTPUT_TOOLTIPS = ("The sampled SANA latent (decode it with SANA VAE Decode).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "sana": (SANA_MODEL, {"tooltip": "From Load SANA Model."}),
            "conditioning": (SANA_CONDITIONING, {"tooltip": "From SANA Text Encode."}),
            "samples": ("LATENT", {"tooltip": "The SANA latent to refine (SANA VAE Encode)."}),
            "seed": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF, "control_after_generate": True, "tooltip": "Noise seed (CPU generator: the same on every device)."}),
            "steps": ("INT", {"default": 20, "min": 1, "max": 200, "tooltip": "Steps actually run (with denoise < 1, the last steps of a longer schedule)."}),
            "cfg": ("FLOAT", {"default": 4.5, "min": 1.0, "max": 20.0, "step": 0.1, "tooltip": "Classifier-free guidance scale (1 = prompt only, no negative pass)."}),
            "denoise": ("FLOAT", {"default": 0.4, "min": 0.01, "max": 1.0, "step": 0.01, "tooltip": "How much of the input is re-drawn: 0.2-0.5 refines detail, 1.0 ignores the input."}),
            "flow_shift": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 20.0, "step": 0.1, "tooltip": "Timestep shift; 0 = the release's own (3.0 for SANA 1024)."}),
            "tile_size": ("INT", {"default": 32, "min": 4, "max": 512, "tooltip": "Tile side in latent pixels (32 = 1024 px, SANA 1024's native size)."}),
            "overlap": ("INT", {"default": 8, "min": 0, "max": 256, "tooltip": "Minimum overlap between tiles in latent pixels (8 = 256 px)."}),
            "tile_batch_size": ("INT", {"default": 2, "min": 0, "max": 64, "tooltip": (
                "Tiles per transformer call (x2 with cfg > 1). 0 = as many as fit: the transformer is measured on one "
                "and two tiles and the batch is chosen against the device's free memory (a quarter kept back).")}),
            "blend": (list(DENOISE_WINDOWS), {"default": "cosine", "tooltip": "How overlapping predictions are weighted: cosine ramps; mixture_of_diffusers: Gaussian; multidiffusion: plain average."}),
            "shift_tiles": ("BOOLEAN", {"default": True, "tooltip": "Move the interior tiles by a different amount every step (less than half the overlap) so seams never stay in one place."}),
        }, "optional": {
            "frequency_guidance": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 1.0, "step": 0.05, "tooltip": (
                "Keep each tile's low band on the input latent's (seen at one tile's resolution for the whole "
                "picture), fading with sigma: the tiles add detail but cannot drift in tone or layout (0 = off).")}),
        }}

    def sample(self, sana, conditioning, samples, seed, steps, cfg, denoise, flow_shift, tile_size, overlap,
               tile_batch_size, blend, shift_tiles, frequency_guidance=0.0):
        sana = _check_models(sana)
        if not isinstance(conditioning, SanaPrompt):
            raise ValueError(f"conditioning must come from SANA Text Encode, got {type(conditioning).__name__}")
        z = _sana_latent(samples, sana, "samples")
        if overlap >= tile_size:
            raise ValueError(f"overlap ({overlap}) must be smaller than tile_size ({tile_size})")
        _make_room(sana.device, sana.transformer)
        hook = progress_hook(steps)
        out = sample_tiled(sana, z, conditioning, seed=seed, steps=steps, cfg=cfg, denoise=denoise,
                           shift=flow_shift or None, tile=tile_size, overlap=overlap, tile_batch_size=tile_batch_size,
                           window=DENOISE_WINDOWS[blend], move_tiles=shift_tiles, frequency_guidance=frequency_guidance, progress=hook,
                           free_bytes=lambda: free_bytes(sana.device))
        return ({**{k: v for k, v in samples.items() if k != "samples"}, "samples": out},)


NODE_CLASS_MAPPINGS = {
    "TileStitchSanaLoader": SanaLoader,
    "TileStitchSanaTextEncode": SanaTextEncode,
    "TileStitchSanaVAEEncode": SanaVAEEncode,
    "TileStitchSanaVAEDecode": SanaVAEDecode,
    "TileStitchSanaTiledSampler": SanaTiledSampler,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "TileStitchSanaLoader": "Load SANA Model",
    "TileStitchSanaTextEncode": "SANA Text Encode",
    "TileStitchSanaVAEEncode": "SANA VAE Encode",
    "TileStitchSanaVAEDecode": "SANA VAE Decode",
    "TileStitchSanaTiledSampler": "SANA Tiled Sampler",
}
