"""Write a tiny random-weight FLUX (ComfyUI's own Flux class) as safetensors. Run with ComfyUI's Python from its folder.

usage: python build_tiny_flux.py OUT.safetensors
Dimensions: hidden 64, 2 heads of 32, one double and one single block, context 32, pooled 16, guidance embedding.
"""

import sys

OUT = sys.argv[1]
sys.argv = [sys.argv[0], "--cpu"]  # comfy.cli_args reads sys.argv on import
sys.path.insert(0, ".")
import comfy.options  # noqa: E402

comfy.options.enable_args_parsing()

import comfy.ldm.flux.model  # noqa: E402
import comfy.ops  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

CONFIG = dict(in_channels=16, out_channels=16, vec_in_dim=16, context_in_dim=32, hidden_size=64, mlp_ratio=2.0,
              num_heads=2, depth=1, depth_single_blocks=1, axes_dim=[4, 14, 14], theta=10000, patch_size=2,
              qkv_bias=True, guidance_embed=True)


def main(out: str) -> None:
    torch.manual_seed(0)
    model = comfy.ldm.flux.model.Flux(operations=comfy.ops.disable_weight_init, dtype=torch.float32, **CONFIG)
    sd = {}
    for name, p in model.state_dict().items():
        sd[name] = torch.ones_like(p) if name.endswith(".scale") else torch.randn(p.shape) * 0.02
    save_file({k: v.contiguous() for k, v in sd.items()}, out)


if __name__ == "__main__":
    main(OUT)
