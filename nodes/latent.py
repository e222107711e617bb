"""Nodes of latent tiling (``tiling/denoise.py``, ``tiling/cond_tiling.py``): split / merge LATENT tiles, and a MODEL patch that denoises tile by tile."""

from __future__ import annotations

from typing import Optional, Tuple

import torch

from ..blenders import BLENDERS, blend_tooltip
from ..blenders import blend as blend_tiles
from ..correct.global_context import GlobalContext
from ..imaging.resample import resize_planar
from ..tiling import LATENT, MASK, TilePlan, extract_tiles
from ..tiling.cond_tiling import TEXT_CONDS, ControlTiler, TileText, needs_single_tiles, tile_conds, with_tile_text
from ..tiling.denoise import DENOISE_WINDOWS, GlobalGuidance, latent_plan, low_band_grid, shifted_plan, tiled_predict
from ..tiling.loop import prompt_lines
from ..tiling.sizing import AUTO_SAFETY, largest_batch
from .common import SHRINK_TILES, TILE_PLAN, category, check_clip, check_plan, latent_samples, plan_from_widgets, plan_inputs, text_progress
from .correct import GLOBAL_CONTEXT

SOURCE_BATCH_INDEX = "tilestitch_source_batch_index"


TILE_CONDITIONING = "TILE_CONDITIONING"


def _mask_planar(mask: torch.Tensor, batch: int, height: int, width: int) -> Tuple[torch.Tensor, int]:
    """A LATENT ``noise_mask`` as ``([batch, r*height, r*width], r)``: kept at an integer multiple of the latent size, else resized to it."""
    m = mask.reshape(-1, mask.shape[-2], mask.shape[-1]).float()
    r = m.shape[-2] // height
    if m.shape[-2] % height or m.shape[-1] % width or r != m.shape[-1] // width or r < 1:
        m = resize_planar(m.unsqueeze(1), height, width)[:, 0]
        r = 1
    if m.shape[0] != batch:
        m = m.repeat(-(-batch // m.shape[0]), 1, 1)[:batch]
    return m.contiguous(), r


class LatentSplit:
    DESCRIPTION = (
        "Cut a LATENT into overlapping latent tiles (one batch) and a TILE_PLAN, e.g. to sample each tile at the "
        "model's native size and merge them back with Latent Tile Merge. noise_mask and batch_index follow the tiles."
    )
    CATEGORY = category("latent")
    FUNCTION = "split"
    RETURN_TYPES = ("LATENT", TILE_PLAN)
    RETURN_NAMES = ("tiles", "plan")
    OUTPUT_TOOLTIPS = (
        "All latent tiles as one LATENT batch (image-major, row-major); noise masks cut the same way.",
        "The tile grid in latent pixels; connect it to Latent Tile Merge.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "samples": ("LATENT", {"tooltip": "The latent to tile (e.g. VAE Encode of the full image)."}),
            **plan_inputs(unit="latent px", tile=128, overlap=32, align=2, max_size=8192),
        }, "optional": {"shrink_tiles": SHRINK_TILES}}

    def split(self, samples: dict, mode: str, tile_width: int, tile_height: int, overlap: int, rows: int, cols: int,
              max_megapixels: float, align: int, shrink_tiles: bool = False) -> Tuple[dict, TilePlan]:
        s = latent_samples(samples, "samples")
        b, _, h, w = s.shape
        plan = plan_from_widgets(h, w, b, shrink_tiles, mode=mode, tile_width=tile_width, tile_height=tile_height, overlap=overlap,
                                 rows=rows, cols=cols, max_megapixels=max_megapixels, align=align)
        out = {k: v for k, v in samples.items() if k not in ("samples", "noise_mask", "batch_index")}
        out["samples"] = extract_tiles(s, plan, LATENT)
        if "noise_mask" in samples:
            mask, r = _mask_planar(samples["noise_mask"], b, h, w)
            out["noise_mask"] = extract_tiles(mask, plan.scaled(r, r), MASK).unsqueeze(1)
        if "batch_index" in samples:  # every tile its own noise, still tied to its source image's index
            source = list(samples["batch_index"])
            out["batch_index"] = [source[i] * plan.count + k for i in range(b) for k in range(plan.count)]
            out[SOURCE_BATCH_INDEX] = source
        return (out, plan)


class LatentMerge:
    DESCRIPTION = "Join latent tiles back into one LATENT with the same blenders as the pixel path (before one VAE decode)."
    CATEGORY = category("latent")
    FUNCTION = "merge"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("samples",)
    OUTPUT_TOOLTIPS = ("The merged latent, with its noise mask and batch_index restored.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "tiles": ("LATENT", {"tooltip": "The latent tiles, in the order Latent Tile Split produced them."}),
            "plan": (TILE_PLAN, {"tooltip": "The plan from Latent Tile Split."}),
            "blend": (list(BLENDERS), {"default": "cosine", "tooltip": blend_tooltip()}),
        }}

    def merge(self, tiles: dict, plan: TilePlan, blend: str) -> Tuple[dict]:
        plan = check_plan(plan)
        s = latent_samples(tiles, "tiles")
        out = {k: v for k, v in tiles.items() if k not in ("samples", "noise_mask", "batch_index", SOURCE_BATCH_INDEX)}
        out["samples"] = blend_tiles(s.contiguous(), plan, blend, layout=LATENT)
        if "noise_mask" in tiles:
            m = tiles["noise_mask"].reshape(-1, tiles["noise_mask"].shape[-2], tiles["noise_mask"].shape[-1]).float()
            out["noise_mask"] = blend_tiles(m.contiguous(), plan, blend, layout=MASK).unsqueeze(1)
        if SOURCE_BATCH_INDEX in tiles:
            out["batch_index"] = list(tiles[SOURCE_BATCH_INDEX])
        return (out,)


def _conform_hint(image: torch.Tensor, width: int, height: int, method: str) -> torch.Tensor:
    import comfy.utils

    return comfy.utils.common_upscale(image, width, height, method, "center")


class TiledDenoiseState:
    """The CALC_COND_BATCH wrapper a patched model carries: every conditioning batch is evaluated tile by tile."""

    def __init__(self, tile_height, tile_width, overlap, align, window, margin, tile_batch_size, shift, crop_references, guidance,
                 tile_text: Optional[TileText] = None, low_band_size: Optional[Tuple[int, int]] = None):
        self.tile_height, self.tile_width, self.overlap, self.align = tile_height, tile_width, overlap, align
        self.window, self.margin, self.tile_batch_size, self.shift = window, margin, tile_batch_size, shift
        self.crop_references = crop_references
        self.guidance = guidance
        self.tile_text = tile_text
        self.low_band_size = low_band_size  # (h, w) of low_band_latent: the latent sampled must have it
        self.text_cache: dict = {}  # (tile, positive entry) -> the tile's text conds, for one sampling run
        self.control_tiler = ControlTiler(_conform_hint)
        self.last_sigma = None
        self.calls = 0  # model evaluations requested (tile batches), for tests and logs
        self.chosen_batch = None  # the batch tile_batch_size 0 chose last (ComfyUI's estimate against free memory)

    def auto_batch(self, model, x_in: torch.Tensor, conds, plan) -> int:
        """``tile_batch_size`` 0: the most tiles per call that ComfyUI's own estimate for this model fits in free memory."""
        estimate = getattr(model, "memory_required", None)
        if estimate is None:
            return 1
        import comfy.model_management as mm

        b, c = x_in.shape[:2]
        n_conds = max(1, len(conds))
        free = mm.get_free_memory(x_in.device)
        self.chosen_batch = largest_batch(lambda n: estimate([n * b * n_conds, c, plan.tile_height, plan.tile_width]), free,
                                          safety=AUTO_SAFETY, upper=plan.count)
        return self.chosen_batch

    def __call__(self, executor, model, conds, x_in, timestep, model_options):
        if x_in.ndim != 4:
            return executor(model, conds, x_in, timestep, model_options)
        sigma = float(timestep.max())
        if self.last_sigma is None or sigma > self.last_sigma:  # a new sampling run
            self.control_tiler.clear()
            self.text_cache.clear()
            if self.guidance is not None:
                self.guidance.sigma_max = None
        self.last_sigma = sigma
        b, _, h, w = x_in.shape
        if self.low_band_size is not None and (h, w) != self.low_band_size:
            raise ValueError(f"low_band_latent is {self.low_band_size[1]} x {self.low_band_size[0]} latent px, the latent being sampled "
                             f"{w} x {h}: give Tiled Denoise the latent of this image at this size")
        plan = latent_plan(h, w, self.tile_height, self.tile_width, self.overlap, self.align, b)
        if plan.count == 1:
            return executor(model, conds, x_in, timestep, model_options)
        if self.shift:
            plan = shifted_plan(plan, sigma)
        text = self.tile_text if conds and conds[0] is not None else None
        if text is not None:
            text.check_count(plan.count)
        single = needs_single_tiles(conds) or (text is not None and not text.same_shapes)
        batch = 1 if single else self.tile_batch_size or self.auto_batch(model, x_in, conds, plan)

        def predict(x_tiles, tiles):
            self.calls += 1
            tiled = tile_conds(conds, tiles, h, w, b, crop_references=self.crop_references, control_tiler=self.control_tiler)
            if text is not None:
                tiled[0] = with_tile_text(tiled[0], conds[0], tiles, b, lambda k, entry: self.text_conds(model, entry, k, x_in))
            return executor(model, tiled, x_tiles, timestep.repeat(len(tiles)), model_options)

        return tiled_predict(predict, x_in, plan, window=self.window, margin=self.margin, tile_batch_size=batch,
                             sigma=sigma, guidance=self.guidance, progress=text_progress(plan.count, "tiles"))


    def text_conds(self, model, entry: dict, index: int, x_in: torch.Tensor) -> dict:
        """Tile ``index``'s text conds, made by the model's own ``extra_conds`` from the positive ``entry`` with the tile's
        prompt in place of the positive's (so guidance, references and the model's own processing are as for the whole)."""
        key = (index, id(entry))
        hit = self.text_cache.get(key)
        if hit is None:
            cross, extras = self.tile_text.for_tile(index)
            params = {k: v for k, v in entry.items() if k != "model_conds"}
            params.update({k: v.to(x_in.device) if isinstance(v, torch.Tensor) else v for k, v in extras.items()})
            params.update(cross_attn=cross.to(x_in.device), device=x_in.device, noise=x_in,
                          width=params.get("width", x_in.shape[3] * 8), height=params.get("height", x_in.shape[2] * 8),
                          prompt_type=params.get("prompt_type", "positive"))
            made = model.extra_conds(**params)
            hit = self.text_cache[key] = {k: made[k] for k in TEXT_CONDS if k in made}
        return hit


def model_patch_size(model) -> int:
    diffusion_model = getattr(getattr(model, "model", None), "diffusion_model", None)
    return int(getattr(diffusion_model, "patch_size", 1) or 1)


class TiledDenoise:
    DESCRIPTION = (
        "Patch a MODEL so every denoising step runs on overlapping latent tiles of the model's native size and "
        "blends their x0 predictions (cosine, Mixture of Diffusers or MultiDiffusion weights). Works with any "
        "sampler (KSampler, SamplerCustomAdvanced). Conditioning follows each tile: c_concat and masks are "
        "cropped, FLUX Kontext reference latents are cropped to the tile, ControlNet hints are cropped per tile."
    )
    CATEGORY = category("latent")
    FUNCTION = "patch"
    RETURN_TYPES = ("MODEL",)
    RETURN_NAMES = ("model",)
    OUTPUT_TOOLTIPS = ("A patched copy of the model (the input model is not changed).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "model": ("MODEL", {"tooltip": "The diffusion model to tile (FLUX, FLUX Kontext, SD, SDXL ...)."}),
                "tile_width": ("INT", {"default": 128, "min": 8, "max": 1024, "step": 2, "tooltip": "Tile width in latent pixels (128 = 1024 image pixels with an 8x VAE): the model's native size."}),
                "tile_height": ("INT", {"default": 128, "min": 8, "max": 1024, "step": 2, "tooltip": "Tile height in latent pixels."}),
                "overlap": ("INT", {"default": 32, "min": 0, "max": 512, "step": 2, "tooltip": "Minimum overlap between tiles in latent pixels; predictions are blended across it."}),
                "tile_batch_size": ("INT", {"default": 4, "min": 0, "max": 64, "tooltip": (
                    "Tiles evaluated per model call; memory grows with it, not with the image size. 0 = as many as fit: "
                    "ComfyUI's own memory estimate for this model at the tile batch's shape, against the device's free "
                    "memory (a quarter kept back), chosen again at every step.")}),
                "blend": (list(DENOISE_WINDOWS), {"default": "cosine", "tooltip": (
                    "How overlapping x0 predictions are weighted: cosine ramps across the overlap; mixture_of_diffusers: "
                    "Gaussian weights centred on each tile; multidiffusion: a plain average.")}),
                "shift": ("BOOLEAN", {"default": False, "tooltip": (
                    "Move the interior tiles by a different amount at every noise level (less than half the overlap, "
                    "no wrap-around), so seams never stay in one place (SpotDiffusion-style).")}),
                "reference_latents": (["crop", "whole"], {"default": "crop", "tooltip": (
                    "FLUX Kontext reference latents the size of the latent: crop each to its tile (crop), or give "
                    "every tile the whole reference (whole). References of another size are always passed whole.")}),
                "edge_margin": ("INT", {"default": 0, "min": 0, "max": 256, "tooltip": (
                    "Latent pixels at each tile's inner edges that get no weight (at most half the overlap); helps "
                    "convolutional models whose tile edges see padding.")}),
            },
            "optional": {
                "context": (GLOBAL_CONTEXT, {"tooltip": "Global Context Encode with a VAE: enables the three pulls below."}),
                "adain_strength": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 1.0, "step": 0.05, "tooltip": (
                    "Pull each tile's latent channel mean/std towards the global latent at the same place, fading with "
                    "sigma (0 = off). Costs one small pooling per tile and step.")}),
                "skip_residual": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 1.0, "step": 0.05, "tooltip": (
                    "Mix the upsampled global latent into the prediction in early steps, fading with sigma "
                    "(DemoFusion-style skip residual; 0 = off). Costs one bilinear upsample per step.")}),
                "frequency_guidance": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 1.0, "step": 0.05, "tooltip": (
                    "Replace the low band of each tile's prediction by the whole picture's at the same place (HiWave / "
                    "FreeScale style): below a sixth of a tile the tiles follow the whole picture, finer detail is theirs; "
                    "fades with sigma (0 = off). Connect low_band_latent (recommended); without it the context's latent "
                    "of the shrunk picture is used, which a real VAE does not make consistent with the full-size latent "
                    "(tone follows, texture can change). Costs one upsample per step, one area-average per tile.")}),
                "low_band_latent": ("LATENT", {"tooltip": (
                    "Frequency guidance's target: the whole image's latent at full resolution, e.g. the VAE Encode that "
                    "feeds the sampler (img2img, refine), or a Kontext edit made at 1 MP, upscaled in pixels and encoded "
                    "(VAE Encode (Tiled)) to carry the edit's tone. Must be the sampled latent's size.")}),
                "tile_conditioning": (TILE_CONDITIONING, {"tooltip": (
                    "From Tile Text Encode: a prompt per tile. Each tile's model call gets its own text (cross-attention "
                    "and pooled vector) in place of the positive prompt's; guidance, Kontext references and masks stay "
                    "the positive's. Tiles whose prompts differ in length are evaluated one per call.")}),
            },
        }

    def patch(self, model, tile_width: int, tile_height: int, overlap: int, tile_batch_size: int, blend: str, shift: bool,
              reference_latents: str, edge_margin: int, context: Optional[GlobalContext] = None, adain_strength: float = 0.0,
              skip_residual: float = 0.0, frequency_guidance: float = 0.0, tile_conditioning: Optional[TileText] = None,
              low_band_latent: Optional[dict] = None) -> Tuple[object]:
        import comfy.patcher_extension

        if not all(callable(getattr(model, a, None)) for a in ("clone", "add_wrapper_with_key")) or not hasattr(model, "model"):
            raise ValueError(f"model must be a MODEL (from Load Diffusion Model or a checkpoint loader), got {type(model).__name__}")
        align = model_patch_size(model)
        if tile_width % align or tile_height % align:
            raise ValueError(f"tile_width and tile_height must be multiples of the model's patch size {align}")
        if overlap >= min(tile_width, tile_height):
            raise ValueError(f"overlap ({overlap}) must be smaller than the tile ({tile_width} x {tile_height})")
        if 2 * edge_margin > overlap:
            raise ValueError(f"edge_margin ({edge_margin}) must be at most half the overlap ({overlap})")
        guidance, low, low_size = None, None, None
        if low_band_latent is not None:
            if frequency_guidance <= 0:
                raise ValueError("low_band_latent is connected but frequency_guidance is 0: set frequency_guidance, or disconnect it")
            low_samples = latent_samples(low_band_latent, "low_band_latent")
            low_size = tuple(low_samples.shape[-2:])
            low = model.model.latent_format.process_in(low_band_grid(low_samples, tile_height, tile_width))
        has_context = isinstance(context, GlobalContext) and context.latent is not None
        if (adain_strength > 0 or skip_residual > 0 or (frequency_guidance > 0 and low is None)) and not has_context:
            raise ValueError("adain_strength and skip_residual need a context from Global Context Encode with a VAE connected; "
                             "frequency_guidance needs low_band_latent (or that context)")
        if adain_strength > 0 or skip_residual > 0 or frequency_guidance > 0:
            latent = model.model.latent_format.process_in(context.latent.clone()) if has_context else None
            guidance = GlobalGuidance(latent, adain=adain_strength, skip_residual=skip_residual, low_band=frequency_guidance,
                                      low_band_latent=low)
        if tile_conditioning is not None and not isinstance(tile_conditioning, TileText):
            raise ValueError(f"tile_conditioning must come from Tile Text Encode, got {type(tile_conditioning).__name__}")
        state = TiledDenoiseState(tile_height, tile_width, overlap, align, DENOISE_WINDOWS[blend], edge_margin,
                                  tile_batch_size, shift, reference_latents == "crop", guidance, tile_conditioning, low_size)
        patched = model.clone()
        patched.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.CALC_COND_BATCH, "tilestitch_tiled_denoise", state)
        return (patched,)


class TileTextEncode:
    DESCRIPTION = (
        "Encode a prompt per latent tile for Tiled Denoise (AccDiffusion-style: the base prompt plus what this tile "
        "shows, so a subject is not repeated in every tile). One line per tile of Tiled Denoise's grid, row by row; an "
        "empty or missing line gives the base prompt, {base} in a line inserts it."
    )
    CATEGORY = category("latent")
    FUNCTION = "encode"
    RETURN_TYPES = (TILE_CONDITIONING,)
    RETURN_NAMES = ("tile_conditioning",)
    OUTPUT_TOOLTIPS = ("Connect to Tiled Denoise's tile_conditioning.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "clip": ("CLIP", {"tooltip": "The model's text encoder (e.g. DualCLIPLoader for FLUX)."}),
            "base_prompt": ("STRING", {"default": "", "multiline": True, "tooltip": "The prompt of every tile without a line of its own."}),
            "prompts": ("STRING", {"default": "", "multiline": True, "tooltip": (
                "One line per tile of Tiled Denoise's grid, row by row (its tile_width / tile_height / overlap decide "
                "the grid). More lines than tiles is an error when sampling starts.")}),
        }}

    def encode(self, clip, base_prompt: str, prompts: str):
        check_clip(clip)
        cache = {}

        def encoded(text: str):
            if text not in cache:
                entry = clip.encode_from_tokens_scheduled(clip.tokenize(text))[0]
                cache[text] = (entry[0], {k: v for k, v in entry[1].items() if k == "pooled_output"})
            return cache[text]

        base = encoded(base_prompt)
        return (TileText(base, [encoded(line) for line in prompt_lines(prompts, base_prompt)]),)


NODE_CLASS_MAPPINGS = {
    "TileStitchTileTextEncode": TileTextEncode,
    "TileStitchLatentSplit": LatentSplit,
    "TileStitchLatentMerge": LatentMerge,
    "TileStitchTiledDenoise": TiledDenoise,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "TileStitchTileTextEncode": "Tile Text Encode",
    "TileStitchLatentSplit": "Latent Tile Split",
    "TileStitchLatentMerge": "Latent Tile Merge",
    "TileStitchTiledDenoise": "Tiled Denoise",
}
