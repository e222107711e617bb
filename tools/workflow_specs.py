"""The shipped example workflows, as compact specs (see build_workflows.py)."""

from build_workflows import N, Spec

REALESRGAN_X4 = {
    "name": "RealESRGAN_x4plus.pth",
    "url": "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth",
    "directory": "upscale_models",
}

UPSCALE_X4_TILED = Spec(
    name="upscale_x4_tiled",
    description="Upscale a large photo x4 tile by tile with any upscale model, merged without seams.",
    nodes=[
        N(1, "LoadImage", {"image": "example.png"}, title="Original photo", pos=(0, 0), size=(320, 320)),
        N(2, "UpscaleModelLoader", {"model_name": REALESRGAN_X4["name"]}, title="Upscale model", pos=(0, 380), size=(320, 60), models=[REALESRGAN_X4]),
        N(3, "TileStitchSplit", {"mode": "tile_size", "tile_width": 512, "tile_height": 512, "overlap": 64, "align": 8}, title="Split into tiles", pos=(360, 0), size=(320, 300)),
        N(4, "ImageUpscaleWithModel", title="Upscale each tile", pos=(720, 0), size=(260, 50)),
        N(5, "TileStitchMerge", {"blend": "cosine"}, title="Merge tiles", pos=(1020, 0), size=(280, 100)),
        N(6, "SaveImage", {"filename_prefix": "TileStitch/upscale_x4"}, title="Save", pos=(1340, 0), size=(320, 320)),
    ],
    links=[
        (1, "IMAGE", 3, "image"),
        (3, "tiles", 4, "image"),
        (2, "UPSCALE_MODEL", 4, "upscale_model"),
        (4, "IMAGE", 5, "tiles"),
        (3, "plan", 5, "plan"),
        (5, "image", 6, "images"),
    ],
    notes=[(
        "## Tiled x4 upscale\n"
        "1. Put an upscale model in `models/upscale_models/` — e.g. **RealESRGAN_x4plus.pth** from the "
        "[Real-ESRGAN releases](https://github.com/xinntao/Real-ESRGAN/releases/tag/v0.1.0) (BSD-3-Clause).\n"
        "2. Load your photo, press Queue.\n\n"
        "Tile Split cuts the photo into 512 px tiles overlapping by at least 64 px; the model upscales each; "
        "Tile Merge reads the x4 scale from the tile size and blends the overlaps (cosine = exact partition of unity).",
        (0, 480), (480, 240),
    )],
)

SPECS = [UPSCALE_X4_TILED]
