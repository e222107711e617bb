"""The shipped example workflows, as compact specs (see build_workflows.py)."""

from workflow_model import N, Note, Spec

REALESRGAN_X4 = {
    "name": "RealESRGAN_x4plus.pth",
    "url": "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth",
    "directory": "upscale_models",
}

UPSCALE_X4_TILED = Spec(
    name="upscale_x4_tiled",
    description="Upscale a large photo x4 tile by tile with any upscale model, merged without seams.",
    nodes=[
        N(1, "LoadImage", {"image": "tilestitch_sample.jpg"}, title="Original photo", col=0, width=320),
        N(2, "UpscaleModelLoader", {"model_name": REALESRGAN_X4["name"]}, title="Upscale model", col=0, width=320, models=[REALESRGAN_X4]),
        N(3, "TileStitchSplit", {"mode": "tile_size", "tile_width": 512, "tile_height": 512, "overlap": 64, "align": 8, "shrink_tiles": True},
          title="Split into tiles", col=1, width=360),
        N(4, "ImageUpscaleWithModel", title="Upscale each tile", col=2, width=260),
        N(5, "TileStitchMerge", {"blend": "cosine"}, title="Merge tiles", col=3, width=280),
        N(6, "SaveImage", {"filename_prefix": "TileStitch/upscale_x4"}, title="Save", col=4, width=320),
    ],
    links=[
        (1, "IMAGE", 3, "image"),
        (3, "tiles", 4, "image"),
        (2, "UPSCALE_MODEL", 4, "upscale_model"),
        (4, "IMAGE", 5, "tiles"),
        (3, "plan", 5, "plan"),
        (5, "image", 6, "images"),
    ],
    notes=[Note(
        "## Tiled x4 upscale\n"
        "1. Put an upscale model in `models/upscale_models/` — e.g. **RealESRGAN_x4plus.pth** from the "
        "[Real-ESRGAN releases](https://github.com/xinntao/Real-ESRGAN/releases/tag/v0.1.0) (BSD-3-Clause).\n"
        "2. Load your photo, press Run.\n\n"
        "Tile Split cuts the photo into 512 px tiles overlapping by at least 64 px; the model upscales each; "
        "Tile Merge reads the x4 scale from the tile size and blends the overlaps (cosine = exact partition of unity).", col=0, width=480, height=240)],
)

FLUX_KONTEXT = {
    "name": "flux1-kontext-dev.safetensors",
    "url": "https://huggingface.co/black-forest-labs/FLUX.1-Kontext-dev/blob/main/flux1-kontext-dev.safetensors",
    "directory": "diffusion_models",
}
CLIP_L = {
    "name": "clip_l.safetensors",
    "url": "https://huggingface.co/comfyanonymous/flux_text_encoders/blob/main/clip_l.safetensors",
    "directory": "text_encoders",
}
T5XXL = {
    "name": "t5xxl_fp16.safetensors",
    "url": "https://huggingface.co/comfyanonymous/flux_text_encoders/blob/main/t5xxl_fp16.safetensors",
    "directory": "text_encoders",
}
FLUX_AE = {
    "name": "ae.safetensors",
    "url": "https://huggingface.co/black-forest-labs/FLUX.1-schnell/blob/main/ae.safetensors",
    "directory": "vae",
}

KONTEXT_LOADERS = [
    N(10, "UNETLoader", {"unet_name": FLUX_KONTEXT["name"], "weight_dtype": "default"}, title="FLUX.1 Kontext", col=0, width=320, models=[FLUX_KONTEXT]),
    N(11, "DualCLIPLoader", {"clip_name1": CLIP_L["name"], "clip_name2": T5XXL["name"], "type": "flux"}, title="Text encoders", col=0, width=320, models=[CLIP_L, T5XXL]),
    N(12, "VAELoader", {"vae_name": FLUX_AE["name"]}, title="FLUX VAE", col=0, width=320, models=[FLUX_AE]),
    N(13, "CLIPTextEncode", {"text": "make the ring rose gold, keep everything else unchanged"}, title="Edit instruction", col=1, width=320),
    N(14, "FluxGuidance", {"guidance": 2.5}, title="Guidance", col=2, width=260),
    N(15, "ConditioningZeroOut", title="Empty negative", col=2, width=260),
]
def sample_and_decode(sampler: int, positive, latent, decode: int):
    """The links of a FLUX sampler node and its decode: the model, a positive ``(node, output)``, the empty negative, a
    latent ``(node, output)``, then the sampler's latent into the decode with the FLUX VAE."""
    return [
        (10, "MODEL", sampler, "model"),
        (positive[0], positive[1], sampler, "positive"),
        (15, "CONDITIONING", sampler, "negative"),
        (latent[0], latent[1], sampler, "latent_image"),
        (sampler, "LATENT", decode, "samples"),
        (12, "VAE", decode, "vae"),
    ]


KONTEXT_LOADER_LINKS = [
    (11, "CLIP", 13, "clip"),
    (13, "CONDITIONING", 15, "conditioning"),
]

# the FLUX loaders a loop body needs: the model, both text encoders, the VAE, FluxGuidance and the empty negative
FLUX_LOOP_LOADERS = [n for n in KONTEXT_LOADERS if n.id in (10, 11, 12, 14, 15)]

# a Tile Loop body that refines what Start (3) hands out with FLUX, its ids as in the loop workflows: the tile encoded
# (4), the pending mask as its noise mask (5), the tile's prompt encoded (6) into FluxGuidance (14) and the empty negative
# (15), sampled (16), decoded (17) into End (18), End's image saved (19)
LOOP_REFINE_LINKS = [
    (3, "tile", 4, "pixels"),
    (12, "VAE", 4, "vae"),
    (4, "LATENT", 5, "samples"),
    (3, "pending_mask", 5, "mask"),
    (11, "CLIP", 6, "clip"),
    (3, "prompt", 6, "prompt"),
    (6, "conditioning", 14, "conditioning"),
    (6, "conditioning", 15, "conditioning"),
    *sample_and_decode(16, (14, "CONDITIONING"), (5, "LATENT"), 17),
    (3, "loop", 18, "loop"),
    (17, "IMAGE", 18, "tile"),
    (18, "image", 19, "images"),
]

FLUX_KONTEXT_FULLRES_EDIT = Spec(
    name="flux_kontext_fullres_edit",
    description="Edit a 5-15k px photo with FLUX.1 Kontext at ~1 MP, then merge only what changed into the full-resolution original.",
    nodes=[
        N(1, "LoadImage", {"image": "tilestitch_sample.jpg"}, title="Original photo (full resolution)", col=0, width=320),
        N(2, "FluxKontextImageScale", title="Scale to a Kontext size (~1 MP)", col=1, width=280),
        N(3, "VAEEncode", title="Encode", col=2, width=200),
        N(4, "ReferenceLatent", title="Reference: the photo", col=2, width=240),
        N(5, "KSampler", {"seed": 1, "steps": 20, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0}, title="Kontext edit", col=3, width=300),
        N(6, "VAEDecode", title="Decode the edit", col=4, width=200),
        N(7, "TileStitchDiffMerge", {"registration": "affine", "blend": "poisson"}, title="Merge only the change", col=5, width=320),
        N(8, "SaveImage", {"filename_prefix": "TileStitch/kontext_fullres"}, title="Save full resolution", col=6, width=320),
        N(9, "TileStitchSolarPreview", {"shape": "sine", "cycles": 8}, title="Solar check", col=6, width=280),
        N(16, "PreviewImage", title="Solar preview", col=7, width=320),
        N(17, "PreviewImage", title="What changed", col=5, width=320),
        *KONTEXT_LOADERS,
    ],
    links=[
        (1, "IMAGE", 2, "image"),
        (2, "IMAGE", 3, "pixels"),
        (12, "VAE", 3, "vae"),
        (14, "CONDITIONING", 4, "conditioning"),
        (3, "LATENT", 4, "latent"),
        *sample_and_decode(5, (4, "CONDITIONING"), (3, "LATENT"), 6),
        (1, "IMAGE", 7, "original"),
        (6, "IMAGE", 7, "edited"),
        (7, "image", 8, "images"),
        (7, "image", 9, "image"),
        (9, "preview", 16, "images"),
        (7, "overlay", 17, "images"),
        (13, "CONDITIONING", 14, "conditioning"),
        *KONTEXT_LOADER_LINKS,
    ],
    notes=[Note(
        "## FLUX Kontext edit, merged into the full-resolution original\n"
        "Models (official release names): `diffusion_models/flux1-kontext-dev.safetensors` (FLUX.1 Kontext [dev], "
        "non-commercial licence), `text_encoders/clip_l.safetensors` and `text_encoders/t5xxl_fp16.safetensors`, "
        "`vae/ae.safetensors`.\n\n"
        "The photo is scaled to a Kontext resolution, edited, decoded, and **Diff Merge** brings only the regions "
        "that really changed back into the untouched original (registration, CIEDE2000 detection, ring colour match, "
        "Poisson edge). Every other pixel stays bit-identical. Check gradients in the solar preview.", col=0, width=640, height=220)],
)

FLUX_KONTEXT_TILED_EDIT = Spec(
    name="flux_kontext_tiled_edit",
    description="Refine/edit a large photo with FLUX.1 Kontext at full resolution: tiled denoising in latent space, per-tile reference crops, colour correction and Poisson seams.",
    nodes=[
        N(1, "LoadImage", {"image": "tilestitch_sample.jpg"}, title="Photo", col=0, width=320),
        N(2, "TileStitchGlobalContext", {"max_side": 1024}, title="Global context", col=1, width=280),
        N(3, "VAEEncode", title="Encode (whole)", col=1, width=200),
        N(4, "ReferenceLatent", title="Reference: the photo", col=2, width=240),
        N(5, "TileStitchTiledDenoise", {"tile_width": 128, "tile_height": 128, "overlap": 32, "tile_batch_size": 2, "blend": "cosine", "shift": True, "reference_latents": "crop"}, title="Tiled denoise", col=1, width=320),
        N(6, "KSampler", {"seed": 1, "steps": 20, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 0.55}, title="Refine", col=3, width=300),
        N(7, "TileStitchLatentSplit", {"mode": "tile_size", "tile_width": 128, "tile_height": 128, "overlap": 16, "align": 2}, title="Latent tiles for decoding", col=4, width=340),
        N(8, "VAEDecode", title="Decode tiles", col=5, width=200),
        N(9, "TileStitchColorCorrect", {"method": "joint_gain", "strength": 1.0}, title="Colour correction", col=6, width=300),
        N(18, "TileStitchSeamMerge", {"method": "poisson", "seam": "centre"}, title="Poisson seams", col=7, width=300),
        N(19, "TileStitchSeamReport", title="Seam report", col=7, width=300),
        N(20, "SaveImage", {"filename_prefix": "TileStitch/kontext_tiled"}, title="Save", col=8, width=320),
        N(21, "PreviewImage", title="Seam heatmap", col=8, width=320),
        *KONTEXT_LOADERS,
    ],
    links=[
        (1, "IMAGE", 2, "image"),
        (1, "IMAGE", 3, "pixels"),
        (12, "VAE", 3, "vae"),
        (14, "CONDITIONING", 4, "conditioning"),
        (3, "LATENT", 4, "latent"),
        (10, "MODEL", 5, "model"),
        (5, "model", 6, "model"),
        (4, "CONDITIONING", 6, "positive"),
        (15, "CONDITIONING", 6, "negative"),
        (3, "LATENT", 6, "latent_image"),
        (6, "LATENT", 7, "samples"),
        (7, "tiles", 8, "samples"),
        (12, "VAE", 8, "vae"),
        (8, "IMAGE", 9, "tiles"),
        (7, "plan", 9, "plan"),
        (2, "context", 9, "context"),
        (9, "tiles", 18, "tiles"),
        (7, "plan", 18, "plan"),
        (18, "image", 19, "image"),
        (7, "plan", 19, "plan"),
        (1, "IMAGE", 19, "reference"),
        (18, "image", 20, "images"),
        (19, "heatmap", 21, "images"),
        (13, "CONDITIONING", 14, "conditioning"),
        *KONTEXT_LOADER_LINKS,
    ],
    notes=[Note(
        "## FLUX Kontext at full resolution, tile by tile\n"
        "Same models as the full-res edit workflow. The photo's size must be a multiple of 16 px.\n\n"
        "**Tiled Denoise** patches the model: every step denoises 128-latent-px tiles (1024 px) two at a time, each "
        "with its own crop of the reference latent, and blends their predictions. The result is decoded tile by "
        "tile, colour-corrected against the global context, merged with Poisson seams and checked by the seam report.", col=0, width=640, height=220)],
)

UPSCALE_X4_COLOR_POISSON = Spec(
    name="upscale_x4_color_poisson",
    description="Upscale any photo x4 with an upscale model, tiles colour-corrected against the whole picture and joined with Poisson seams.",
    nodes=[
        N(1, "LoadImage", {"image": "tilestitch_sample.jpg"}, title="Original photo", col=0, width=320),
        N(2, "UpscaleModelLoader", {"model_name": REALESRGAN_X4["name"]}, title="Upscale model", col=0, width=320, models=[REALESRGAN_X4]),
        N(3, "TileStitchGlobalContext", {"max_side": 1024}, title="Global context", col=1, width=280),
        N(4, "TileStitchSplit", {"mode": "tile_size", "tile_width": 512, "tile_height": 512, "overlap": 64, "align": 8, "shrink_tiles": True},
          title="Split into tiles", col=1, width=320),
        N(5, "ImageUpscaleWithModel", title="Upscale each tile", col=2, width=260),
        N(6, "TileStitchColorCorrect", {"method": "joint_gain", "strength": 1.0}, title="Colour correction", col=3, width=300),
        N(7, "TileStitchSeamMerge", {"method": "poisson", "seam": "centre"}, title="Poisson seams", col=4, width=300),
        N(8, "SaveImage", {"filename_prefix": "TileStitch/upscale_x4_poisson"}, title="Save", col=5, width=320),
        N(9, "TileStitchSeamReport", title="Seam report", col=4, width=300),
        N(10, "PreviewImage", title="Seam heatmap", col=5, width=320),
    ],
    links=[
        (1, "IMAGE", 3, "image"),
        (1, "IMAGE", 4, "image"),
        (4, "tiles", 5, "image"),
        (2, "UPSCALE_MODEL", 5, "upscale_model"),
        (5, "IMAGE", 6, "tiles"),
        (4, "plan", 6, "plan"),
        (3, "context", 6, "context"),
        (6, "tiles", 7, "tiles"),
        (4, "plan", 7, "plan"),
        (7, "image", 8, "images"),
        (7, "image", 9, "image"),
        (4, "plan", 9, "plan"),
        (1, "IMAGE", 9, "reference"),
        (9, "heatmap", 10, "images"),
    ],
    notes=[Note(
        "## x4 upscale, colour-corrected, Poisson seams\n"
        "Put an upscale model in `models/upscale_models/` (e.g. **RealESRGAN_x4plus.pth**, BSD-3-Clause). "
        "Tiles are corrected against a 1024 px view of the whole photo (joint gain: one least-squares solve over "
        "all overlaps), merged with Poisson seams, and the seam report lists any seam still visible.", col=0, width=480, height=200)],
)

UPSCALE_16BIT_STREAMING = Spec(
    name="upscale_16bit_streaming",
    description="Upscale or restore a very large 16-bit photo tile batch by tile batch, keeping 16 bits, its ICC profile and metadata.",
    nodes=[
        N(1, "TileStitchLoadImage16", {"image": "tilestitch_sample.jpg"}, title="Original photo (16-bit)", col=0, width=320),
        N(2, "UpscaleModelLoader", {"model_name": REALESRGAN_X4["name"]}, title="Upscale model", col=0, width=320, models=[REALESRGAN_X4]),
        N(3, "TileStitchTiledUpscaleStream", {"mode": "tile_size", "tile_width": 512, "tile_height": 512, "overlap": 32,
                                              "align": 8, "batch_size": 4, "blend": "cosine", "output_dtype": "float32",
                                              "shrink_tiles": True},
          title="Tiled upscale (streaming)", col=1, width=320),
        N(4, "TileStitchSaveImage16", {"filename_prefix": "TileStitch/upscale16", "format": "tiff16", "compression": "fast"},
          title="Save (16-bit TIFF)", col=2, width=320),
    ],
    links=[
        (1, "image", 3, "image"),
        (2, "UPSCALE_MODEL", 3, "upscale_model"),
        (3, "image", 4, "images"),
        (1, "meta", 4, "meta"),
    ],
    notes=[Note(
        "## 16-bit streaming upscale\n"
        "For 10 000+ px originals: the source, the result and one batch of tiles are all that is held in memory.\n"
        "1. Put an upscale model in `models/upscale_models/` (e.g. **RealESRGAN_x4plus.pth**, or a x1 restoration model).\n"
        "2. Load a 16-bit TIFF/PNG; its ICC profile and metadata go to the saver through `meta`.\n\n"
        "To size tiles for your GPU, add **Tile Size From Memory** (same model) and connect its `tile_size` to "
        "tile_width / tile_height and `batch_size` to batch_size.", col=1, width=480, height=220)],
)

SANA_FOLDER = "Sana_1600M_1024px_BF16_diffusers"

SANA_TILED_REFINE = Spec(
    name="sana_tiled_refine",
    description="Upscale a photo x2 and re-draw fine detail with SANA (diffusers) tile by tile, keeping the original's colours.",
    nodes=[
        N(1, "LoadImage", {"image": "tilestitch_sample.jpg"}, title="Original photo", col=0, width=320),
        N(2, "ImageScaleBy", {"upscale_method": "lanczos", "scale_by": 2.0}, title="Upscale x2 (Lanczos)", col=1, width=280),
        N(3, "TileStitchSanaLoader", {"model_folder": SANA_FOLDER, "dtype": "auto", "device": "auto"}, title="SANA 1.6B 1024px (diffusers)", col=0, width=320),
        N(4, "TileStitchSanaTextEncode", {"prompt": "a sharp, finely detailed photograph, natural skin and metal texture, crisp edges",
                                          "negative_prompt": "blurry, smeared, painterly, oversharpened halos", "complex_instruction": True, "max_tokens": 300},
          title="Prompt (applies to every tile)", col=1, width=320),
        N(5, "TileStitchSanaVAEEncode", {"tiling": "dc_ae", "tile_size": 1024, "overlap": 128, "tile_batch_size": 1}, title="DC-AE encode (tiled)", col=2, width=300),
        N(6, "TileStitchSanaTiledSampler", {"seed": 1, "steps": 20, "cfg": 4.5, "denoise": 0.35, "flow_shift": 0.0, "tile_size": 32, "overlap": 8,
                                            "tile_batch_size": 2, "blend": "cosine", "shift_tiles": True},
          title="Tiled refine (1024 px tiles)", col=3, width=320),
        N(7, "TileStitchSanaVAEDecode", {"tiling": "dc_ae", "tile_size": 1024, "overlap": 128, "tile_batch_size": 1}, title="DC-AE decode (tiled)", col=4, width=300),
        N(8, "TileStitchFrequencyMerge", {"method": "gaussian", "wavelet": "sym4", "levels": 0, "strength": 1.0},
          title="Keep the original's colours", col=5, width=300),
        N(9, "SaveImage", {"filename_prefix": "TileStitch/sana_refine"}, title="Save", col=6, width=320),
        N(10, "TileStitchSolarPreview", {"shape": "sine", "cycles": 8, "keep_colour": False}, title="Solar curve (banding check)", col=5, width=300),
        N(11, "PreviewImage", title="Solar preview", col=6, width=320),
    ],
    links=[
        (1, "IMAGE", 2, "image"),
        (3, "sana", 4, "sana"),
        (3, "sana", 5, "sana"),
        (2, "IMAGE", 5, "image"),
        (3, "sana", 6, "sana"),
        (4, "conditioning", 6, "conditioning"),
        (5, "samples", 6, "samples"),
        (3, "sana", 7, "sana"),
        (6, "samples", 7, "samples"),
        (7, "image", 8, "image"),
        (2, "IMAGE", 8, "reference"),
        (8, "image", 9, "images"),
        (8, "image", 10, "image"),
        (10, "preview", 11, "images"),
    ],
    notes=[Note(
        "## SANA tiled refine / upscale (diffusers)\n"
        "ComfyUI has no SANA of its own; the pack runs it with diffusers from a local folder (nothing is downloaded).\n"
        f"1. Download **{SANA_FOLDER}** (Efficient-Large-Model on Hugging Face: the whole folder with model_index.json, "
        "transformer/, vae/, text_encoder/, tokenizer/, scheduler/) into `models/diffusers/`.\n"
        "2. Load a photo, press Run.\n\n"
        "The photo is upscaled x2, encoded by the DC-AE with its own tiling, and every sampler step denoises 1024 px "
        "tiles (32 latent px, overlap 256 px, moved every step) and blends their predictions. The frequency merge keeps "
        "the upscaled original's low frequencies (colour, tone) and takes SANA's fine detail; the solar curve shows "
        "banding and seams. denoise 0.25-0.45 refines; higher re-draws.", col=0, width=680, height=240)],
)

DEMO = Spec(
    name="tilestitch_demo",
    description="The pack end to end with no model to download: the sample product shot upscaled x2 tile by tile (Lanczos), colour-corrected, Poisson seams, seam report, 16-bit TIFF.",
    nodes=[
        N(1, "TileStitchLoadImage16", {"image": "tilestitch_sample.jpg"}, title="Sample photo (or your own)", col=0, width=360),
        N(2, "TileStitchGlobalContext", {"max_side": 1024}, title="Global context (the whole picture)", col=0, width=360),
        N(3, "TileStitchSplit", {"mode": "tile_size", "tile_width": 512, "tile_height": 512, "overlap": 64, "align": 8, "shrink_tiles": True},
          title="Split into tiles", col=1, width=420),
        N(4, "ImageScaleBy", {"upscale_method": "lanczos", "scale_by": 2.0}, title="Upscale each tile x2 (Lanczos)", col=2, width=320),
        N(5, "TileStitchColorCorrect", {"method": "joint_gain", "strength": 1.0}, title="Colour correction", col=2, width=320),
        N(6, "TileStitchSeamMerge", {"method": "poisson", "seam": "centre"}, title="Poisson seams", col=2, width=320),
        N(7, "TileStitchSeamReport", title="Seam report (against the original)", col=3, width=440, height=420),
        N(8, "TileStitchSaveImage16", {"filename_prefix": "TileStitch/demo", "format": "tiff16", "compression": "fast"},
          title="Save (16-bit TIFF)", col=3, width=440),
        N(9, "PreviewImage", title="Result", col=4, width=420),
        N(10, "PreviewImage", title="Seam heatmap", col=4, width=420),
    ],
    links=[
        (1, "image", 2, "image"),
        (1, "image", 3, "image"),
        (3, "tiles", 4, "image"),
        (4, "IMAGE", 5, "tiles"),
        (3, "plan", 5, "plan"),
        (2, "context", 5, "context"),
        (5, "tiles", 6, "tiles"),
        (3, "plan", 6, "plan"),
        (6, "image", 7, "image"),
        (3, "plan", 7, "plan"),
        (1, "image", 7, "reference"),
        (6, "image", 8, "images"),
        (1, "meta", 8, "meta"),
        (6, "image", 9, "images"),
        (7, "heatmap", 10, "images"),
    ],
    notes=[Note(
        "## Try the pack (no model needed)\n"
        "Press **Run**. The sample product shot (2048 x 1365, shipped with the pack) is cut into tiles, each tile is "
        "upscaled x2 (Lanczos stands in for any model), the tiles are pulled back to the colours of the whole "
        "picture, joined with Poisson seams and checked against the original by the seam report. The result is "
        "saved as a 16-bit TIFF in `output/TileStitch/`.\n\n"
        "Then load your own photo, and replace the Lanczos node with a model (e.g. Load Upscale Model + Upscale "
        "Image (using Model)) — the rest stays as it is.",
        col=0, width=360, height=300)],
)

REFINE_PROMPT = "a sharp, finely detailed photograph, natural texture, crisp edges"

UPSCALE_X4_REFINE_SEAM_PASS = Spec(
    name="upscale_x4_refine_seam_pass",
    description="Upscale x4 tile by tile, refine every tile with FLUX at low denoise, then redraw only the seam bands where the refined tiles disagree.",
    nodes=[
        N(1, "LoadImage", {"image": "tilestitch_sample.jpg"}, title="Photo", col=0, width=320),
        N(2, "UpscaleModelLoader", {"model_name": REALESRGAN_X4["name"]}, title="Upscale model", col=0, width=320, models=[REALESRGAN_X4]),
        N(3, "TileStitchSplit", {"mode": "tile_size", "tile_width": 256, "tile_height": 256, "overlap": 32, "align": 8, "shrink_tiles": True},
          title="Split (256 px: 1024 px after x4)", col=1, width=300),
        N(4, "ImageUpscaleWithModel", title="Upscale each tile", col=1, width=260),
        N(5, "VAEEncode", title="Encode tiles", col=2, width=200),
        N(6, "KSampler", {"seed": 1, "steps": 20, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 0.3},
          title="Refine each tile", col=2, width=300),
        N(7, "VAEDecode", title="Decode tiles", col=3, width=200),
        N(8, "TileStitchMerge", {"blend": "cosine"}, title="Merge tiles", col=3, width=280),
        N(9, "TileStitchSeamTiles", {"mode": "bands", "zone_width": 96, "tile_width": 1024, "tile_height": 1024, "overlap": 128},
          title="Seam tiles", col=4, width=300),
        N(18, "VAEEncode", title="Encode seam tiles", col=4, width=200),
        N(19, "SetLatentNoiseMask", title="Redraw only the zone", col=5, width=240),
        N(20, "KSampler", {"seed": 2, "steps": 20, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 0.35},
          title="Redraw the seams", col=5, width=300),
        N(21, "VAEDecode", title="Decode seam tiles", col=6, width=200),
        N(22, "TileStitchSeamTilesMerge", title="Paste the seams back", col=6, width=280),
        N(23, "SaveImage", {"filename_prefix": "TileStitch/upscale_x4_seam_pass"}, title="Save", col=7, width=320),
        *[n for n in KONTEXT_LOADERS if n.id != 13],
        N(13, "CLIPTextEncode", {"text": REFINE_PROMPT}, title="Prompt", col=1, width=320),
    ],
    links=[
        (1, "IMAGE", 3, "image"),
        (3, "tiles", 4, "image"),
        (2, "UPSCALE_MODEL", 4, "upscale_model"),
        (4, "IMAGE", 5, "pixels"),
        (12, "VAE", 5, "vae"),
        *sample_and_decode(6, (14, "CONDITIONING"), (5, "LATENT"), 7),
        (7, "IMAGE", 8, "tiles"),
        (3, "plan", 8, "plan"),
        (8, "image", 9, "image"),
        (3, "plan", 9, "plan"),
        (9, "tiles", 18, "pixels"),
        (12, "VAE", 18, "vae"),
        (18, "LATENT", 19, "samples"),
        (9, "zone_masks", 19, "mask"),
        *sample_and_decode(20, (14, "CONDITIONING"), (19, "LATENT"), 21),
        (8, "image", 22, "image"),
        (21, "IMAGE", 22, "tiles"),
        (9, "seam_plan", 22, "seam_plan"),
        (22, "image", 23, "images"),
        (13, "CONDITIONING", 14, "conditioning"),
        *KONTEXT_LOADER_LINKS,
    ],
    notes=[Note(
        "## Upscale x4, refine, then redraw the seams\n"
        "Models: an upscale model in `upscale_models/`, and a FLUX model (the Kontext release works as a refiner; "
        "names as in the Kontext workflows).\n\n"
        "Every tile is upscaled and refined at low denoise on its own, so neighbours can draw different detail. "
        "**Seam Tiles** cuts 1024 px tiles centred on every seam; the same model redraws them with the zone as the "
        "noise mask, and **Seam Tiles Merge** keeps only the 96 px band across each seam: every other pixel stays "
        "exactly as the refine left it.", col=0, width=640, height=220)],
)

FLUX_KONTEXT_GLOBAL_EDIT = Spec(
    name="flux_kontext_global_edit",
    description="A global edit (relight, colour grade) made by FLUX.1 Kontext at ~1 MP, carried band by band to the full-resolution original: the edit's tone, the original's texture, 16-bit out.",
    nodes=[
        N(1, "TileStitchLoadImage16", {"image": "tilestitch_sample.jpg"}, title="Original photo (full resolution)", col=0, width=320),
        N(2, "ImageScaleToTotalPixels", {"upscale_method": "area", "megapixels": 1.0}, title="Shrink to ~1 MP (whole picture, uncropped)", col=1, width=300),
        N(3, "VAEEncode", title="Encode", col=2, width=200),
        N(4, "ReferenceLatent", title="Reference: the photo", col=2, width=240),
        N(5, "KSampler", {"seed": 1, "steps": 20, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0}, title="Kontext edit", col=3, width=300),
        N(6, "VAEDecode", title="Decode the edit", col=4, width=200),
        N(8, "TileStitchBandMerge", {"edit_weights": "0, 0, 0, 0, 0, 1"}, title="Band merge: tone from the edit, texture from the original", col=5, width=340),
        N(9, "TileStitchSaveImage16", {"filename_prefix": "TileStitch/kontext_global", "format": "tiff16", "compression": "fast"},
          title="Save (16-bit TIFF)", col=6, width=320),
        N(16, "PreviewImage", title="Result", col=6, width=320),
        *[n for n in KONTEXT_LOADERS if n.id != 13],
        N(13, "CLIPTextEncode", {"text": "warm golden evening light, keep everything else unchanged"}, title="Edit instruction", col=1, width=320),
    ],
    links=[
        (1, "image", 2, "image"),
        (2, "IMAGE", 3, "pixels"),
        (12, "VAE", 3, "vae"),
        (14, "CONDITIONING", 4, "conditioning"),
        (3, "LATENT", 4, "latent"),
        *sample_and_decode(5, (4, "CONDITIONING"), (3, "LATENT"), 6),
        (1, "image", 8, "original"),
        (6, "IMAGE", 8, "edit"),
        (8, "image", 9, "images"),
        (1, "meta", 9, "meta"),
        (8, "image", 16, "images"),
        (13, "CONDITIONING", 14, "conditioning"),
        *KONTEXT_LOADER_LINKS,
    ],
    notes=[Note(
        "## A global edit at 1 MP, carried to full resolution\n"
        "Same models as the Kontext workflows. Kontext relights or grades the photo at ~1 MP; **Band Merge** takes "
        "the low frequencies (light and colour, coarser than 1/32 of the size) from the edit and every finer band "
        "from the original, so the full-resolution result keeps the original's texture. The photo is shrunk to ~1 MP "
        "whole (not cropped to a Kontext resolution as FluxKontextImageScale would: Band Merge needs the whole "
        "picture). For local edits use Diff Merge (the full-res edit workflow).", col=0, width=640, height=220)],
)

FLUX_TILE_LOOP_REFINE = Spec(
    name="flux_tile_loop_refine",
    description="Refine a large photo tile by tile with FLUX in one prompt: each tile sees its finished neighbours (the Tile Loop) and has its own prompt line.",
    nodes=[
        N(1, "LoadImage", {"image": "tilestitch_sample.jpg"}, title="Photo", col=0, width=320),
        N(2, "TileStitchTilePlan", {"mode": "tile_size", "tile_width": 1024, "tile_height": 1024, "overlap": 128, "align": 16, "shrink_tiles": True},
          title="Tile grid", col=1, width=320),
        N(3, "TileStitchTileLoopStart", {"order": "serpentine", "band": 48, "keep_finished": False,
                                         "base_prompt": REFINE_PROMPT, "prompts": ""}, title="Tile loop: start", col=2, width=320),
        N(4, "VAEEncode", title="Encode the tile", col=3, width=200),
        N(5, "SetLatentNoiseMask", title="Redraw what is pending", col=3, width=240),
        N(6, "TileStitchTilePromptEncode", title="This tile's prompt", col=3, width=240),
        N(16, "KSampler", {"seed": 1, "steps": 20, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 0.4},
          title="Refine the tile", col=4, width=300),
        N(17, "VAEDecode", title="Decode the tile", col=5, width=200),
        N(18, "TileStitchTileLoopEnd", title="Tile loop: end", col=5, width=240),
        N(19, "SaveImage", {"filename_prefix": "TileStitch/tile_loop_refine"}, title="Save", col=6, width=320),
        *FLUX_LOOP_LOADERS,
    ],
    links=[
        (1, "IMAGE", 2, "image"),
        (1, "IMAGE", 3, "image"),
        (2, "plan", 3, "plan"),
        *LOOP_REFINE_LINKS,
    ],
    notes=[Note(
        "## Tile by tile, each tile seeing its finished neighbours\n"
        "Models as in the Kontext workflows (FLUX; the Kontext release works as a refiner). Everything between "
        "**Tile Loop Start** and **Tile Loop End** runs once per tile, inside this one prompt (also headless). Each "
        "tile is cut from the canvas as it is now, so its overlap holds the finished neighbours' pixels; the pending "
        "mask makes the sampler redraw only the rest. Write one line per tile in *prompts* (row by row) to give a "
        "tile its own text; empty lines use the base prompt.", col=0, width=640, height=220)],
)

FLUX_SEAM_LOOP_REDRAW = Spec(
    name="flux_seam_loop_redraw",
    description="Redraw the seams of an image merged from tiles with FLUX, one seam tile after the other in one prompt: each sees the seams redrawn before it; nothing outside the seam zones changes.",
    nodes=[
        N(1, "LoadImage", {"image": "tilestitch_sample.jpg"}, title="Merged image", col=0, width=320),
        N(2, "TileStitchTilePlan", {"mode": "tile_size", "tile_width": 1024, "tile_height": 1024, "overlap": 128, "align": 16, "shrink_tiles": True},
          title="The grid it was merged with", col=1, width=320),
        N(7, "TileStitchSeamTiles", {"mode": "bands", "zone_width": 96, "tile_width": 768, "tile_height": 768, "overlap": 128},
          title="Seam tiles", col=1, width=300),
        N(3, "TileStitchSeamLoopStart", {"order": "serpentine", "band": 32, "keep_finished": False,
                                         "base_prompt": REFINE_PROMPT, "prompts": ""}, title="Seam loop: start", col=2, width=320),
        N(4, "VAEEncode", title="Encode the seam tile", col=3, width=220),
        N(5, "SetLatentNoiseMask", title="Redraw the zone still pending", col=3, width=260),
        N(6, "TileStitchTilePromptEncode", title="This seam tile's prompt", col=3, width=260),
        N(16, "KSampler", {"seed": 1, "steps": 20, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 0.35},
          title="Redraw the seam", col=4, width=300),
        N(17, "VAEDecode", title="Decode the seam tile", col=5, width=220),
        N(18, "TileStitchTileLoopEnd", title="Seam loop: end", col=5, width=240),
        N(19, "SaveImage", {"filename_prefix": "TileStitch/seam_loop_redraw"}, title="Save", col=6, width=320),
        *FLUX_LOOP_LOADERS,
    ],
    links=[
        (1, "IMAGE", 2, "image"),
        (1, "IMAGE", 7, "image"),
        (2, "plan", 7, "plan"),
        (1, "IMAGE", 3, "image"),
        (7, "seam_plan", 3, "seam_plan"),
        *LOOP_REFINE_LINKS,
    ],
    notes=[Note(
        "## Redraw the seams, one seam tile after the other\n"
        "For an image merged from tiles that disagree (a generative model drew different things on the two sides of a "
        "seam): set the grid to the one it was merged with. **Seam Tiles** puts a tile on every seam; everything "
        "between **Seam Loop Start** and **Tile Loop End** runs once per seam tile, inside this one prompt. Each seam "
        "tile is cut from the image as it is now (the seams redrawn so far included) and the pending mask lets the "
        "sampler redraw only its seam zone; every pixel outside the zones stays as it was.", col=0, width=640, height=220)],
)

FLUX_KONTEXT_TILE_LOOP_EDIT = Spec(
    name="flux_kontext_tile_loop_edit",
    description="Edit a large photo with FLUX.1 Kontext tile by tile in one prompt: each tile is edited with the instruction plus its own line, its reference is the tile itself, and it sees its finished neighbours.",
    nodes=[
        N(1, "LoadImage", {"image": "tilestitch_sample.jpg"}, title="Photo", col=0, width=320),
        N(2, "TileStitchTilePlan", {"mode": "tile_size", "tile_width": 1024, "tile_height": 1024, "overlap": 128, "align": 16, "shrink_tiles": True},
          title="Tile grid", col=1, width=320),
        N(3, "TileStitchTileLoopStart", {"order": "serpentine", "band": 48, "keep_finished": False,
                                         "base_prompt": "make the metal rose gold, keep everything else unchanged",
                                         "prompts": ""}, title="Tile loop: start", col=2, width=340),
        N(4, "VAEEncode", title="Encode the tile", col=3, width=200),
        N(5, "SetLatentNoiseMask", title="Redraw what is pending", col=3, width=240),
        N(6, "TileStitchTilePromptEncode", title="Instruction + this tile's line", col=3, width=260),
        N(20, "ReferenceLatent", title="Reference: the current tile", col=4, width=260),
        N(16, "KSampler", {"seed": 1, "steps": 20, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0},
          title="Kontext edit of the tile", col=4, width=300),
        N(17, "VAEDecode", title="Decode the tile", col=5, width=200),
        N(18, "TileStitchTileLoopEnd", title="Tile loop: end", col=5, width=240),
        N(19, "SaveImage", {"filename_prefix": "TileStitch/kontext_tile_loop"}, title="Save", col=6, width=320),
        *FLUX_LOOP_LOADERS,
    ],
    links=[
        (1, "IMAGE", 2, "image"),
        (1, "IMAGE", 3, "image"),
        (2, "plan", 3, "plan"),
        (3, "tile", 4, "pixels"),
        (12, "VAE", 4, "vae"),
        (4, "LATENT", 5, "samples"),
        (3, "pending_mask", 5, "mask"),
        (11, "CLIP", 6, "clip"),
        (3, "prompt", 6, "prompt"),
        (6, "conditioning", 14, "conditioning"),
        (14, "CONDITIONING", 20, "conditioning"),
        (4, "LATENT", 20, "latent"),
        (6, "conditioning", 15, "conditioning"),
        *sample_and_decode(16, (20, "CONDITIONING"), (5, "LATENT"), 17),
        (3, "loop", 18, "loop"),
        (17, "IMAGE", 18, "tile"),
        (18, "image", 19, "images"),
    ],
    notes=[Note(
        "## FLUX Kontext, tile by tile, each tile seeing its finished neighbours\n"
        "Models as in the Kontext workflows. Everything between **Tile Loop Start** and **Tile Loop End** runs once per "
        "tile inside this one prompt (also headless). Each tile is cut from the canvas as it is now, so its overlap "
        "holds the neighbours' *edited* pixels; Kontext gets the tile itself as its reference and redraws only the "
        "pending part (the noise mask), continuing what is finished. The instruction is *base_prompt*; write one line "
        "per tile in *prompts* (row by row, `{base}` inserts the instruction) to tell a tile what it shows, e.g. "
        "`{base}; this tile: the clasp`. For a local edit on a photo larger than Kontext's ~1 MP, the full-res edit "
        "workflow (Diff Merge) is cheaper; this one is for edits that cover the whole picture at full detail.",
        col=0, width=640, height=240)],
)

FLUX_KONTEXT_TILED_EDIT_SEAM_PASS = Spec(
    name="flux_kontext_tiled_edit_seam_pass",
    description="Edit a large photo with FLUX.1 Kontext tile by tile (each tile its own reference), merge, then let Kontext redraw only the seam bands where the edited tiles disagree.",
    nodes=[
        N(1, "LoadImage", {"image": "tilestitch_sample.jpg"}, title="Photo", col=0, width=320),
        N(2, "TileStitchSplit", {"mode": "tile_size", "tile_width": 1024, "tile_height": 1024, "overlap": 128, "align": 16, "shrink_tiles": True},
          title="Split into tiles", col=1, width=320),
        N(3, "VAEEncode", title="Encode tiles", col=2, width=200),
        N(4, "ReferenceLatent", title="Reference: each tile", col=2, width=240),
        N(5, "KSampler", {"seed": 1, "steps": 20, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0},
          title="Kontext edit of each tile", col=3, width=300),
        N(6, "VAEDecode", title="Decode tiles", col=3, width=200),
        N(7, "TileStitchMerge", {"blend": "cosine"}, title="Merge tiles", col=4, width=280),
        N(8, "TileStitchSeamTiles", {"mode": "bands", "zone_width": 96, "tile_width": 512, "tile_height": 512, "overlap": 64},
          title="Seam tiles", col=4, width=300),
        N(9, "VAEEncode", title="Encode seam tiles", col=5, width=200),
        N(16, "SetLatentNoiseMask", title="Redraw only the zone", col=5, width=240),
        N(17, "ReferenceLatent", title="Reference: each seam tile", col=5, width=240),
        N(18, "KSampler", {"seed": 2, "steps": 20, "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 0.6},
          title="Redraw the seams", col=6, width=300),
        N(19, "VAEDecode", title="Decode seam tiles", col=6, width=200),
        N(20, "TileStitchSeamTilesMerge", title="Paste the seams back", col=7, width=280),
        N(21, "SaveImage", {"filename_prefix": "TileStitch/kontext_tiled_seam_pass"}, title="Save", col=7, width=320),
        *KONTEXT_LOADERS,
    ],
    links=[
        (1, "IMAGE", 2, "image"),
        (2, "tiles", 3, "pixels"),
        (12, "VAE", 3, "vae"),
        (14, "CONDITIONING", 4, "conditioning"),
        (3, "LATENT", 4, "latent"),
        *sample_and_decode(5, (4, "CONDITIONING"), (3, "LATENT"), 6),
        (6, "IMAGE", 7, "tiles"),
        (2, "plan", 7, "plan"),
        (7, "image", 8, "image"),
        (2, "plan", 8, "plan"),
        (8, "tiles", 9, "pixels"),
        (12, "VAE", 9, "vae"),
        (9, "LATENT", 16, "samples"),
        (8, "zone_masks", 16, "mask"),
        (14, "CONDITIONING", 17, "conditioning"),
        (9, "LATENT", 17, "latent"),
        *sample_and_decode(18, (17, "CONDITIONING"), (16, "LATENT"), 19),
        (7, "image", 20, "image"),
        (19, "IMAGE", 20, "tiles"),
        (8, "seam_plan", 20, "seam_plan"),
        (20, "image", 21, "images"),
        (13, "CONDITIONING", 14, "conditioning"),
        *KONTEXT_LOADER_LINKS,
    ],
    notes=[Note(
        "## FLUX Kontext tile by tile, then the seams redrawn\n"
        "Models as in the Kontext workflows. Every 1024 px tile is edited on its own with itself as Kontext's "
        "reference (the batch runs in one sampler call), so neighbours may draw the edit differently. **Seam Tiles** "
        "cuts 512 px tiles centred on every seam; Kontext redraws each with the same instruction, the seam tile as its "
        "reference and the 96 px zone as the noise mask, and **Seam Tiles Merge** keeps only the zones: every other "
        "pixel stays as the tiled edit left it. For edits where each tile should see its finished neighbours instead, "
        "use the Kontext tile loop workflow.", col=0, width=640, height=240)],
)

SPECS = [DEMO, UPSCALE_X4_TILED, UPSCALE_X4_COLOR_POISSON, UPSCALE_16BIT_STREAMING, FLUX_KONTEXT_FULLRES_EDIT, FLUX_KONTEXT_TILED_EDIT, SANA_TILED_REFINE, UPSCALE_X4_REFINE_SEAM_PASS, FLUX_KONTEXT_GLOBAL_EDIT, FLUX_TILE_LOOP_REFINE, FLUX_KONTEXT_TILE_LOOP_EDIT,
         FLUX_KONTEXT_TILED_EDIT_SEAM_PASS, FLUX_SEAM_LOOP_REDRAW]
