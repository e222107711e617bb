"""SANA through diffusers, for the pack's tiled refine / upscale (pure: no ComfyUI).

ComfyUI has no SANA support of its own; these functions load a local
diffusers folder (``models``), encode prompts (``prompt``), run the DC-AE
over large images (``vae``) and sample tile by tile with the pack's latent
tiler (``sampler``). ``nodes/sana.py`` adapts them to ComfyUI.
"""

from .models import SanaModels, find_sana_folders, load_sana, missing_parts
from .prompt import SanaPrompt, encode_prompt
from .sampler import flow_sigmas, sample_tiled
from .vae import TILING_MODES, decode_latent, encode_image

__all__ = [
    "SanaModels", "SanaPrompt", "TILING_MODES", "decode_latent", "encode_image", "encode_prompt",
    "find_sana_folders", "flow_sigmas", "load_sana", "missing_parts", "sample_tiled",
]
