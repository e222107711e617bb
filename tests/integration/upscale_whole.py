"""Run an upscale model on a whole image at once (no tiling), in ComfyUI's Python.

    python upscale_whole.py MODEL.pth INPUT.png OUTPUT.npy

Used by the integration tests as the untiled reference.
"""

import sys

import numpy as np
import spandrel
import torch
from PIL import Image

model_path, src, dst = sys.argv[1:4]
model = spandrel.ModelLoader().load_from_file(model_path).eval()
img = torch.from_numpy(np.asarray(Image.open(src).convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
with torch.no_grad():
    out = model(img).clamp(0, 1)[0].permute(1, 2, 0).numpy()
np.save(dst, out)
