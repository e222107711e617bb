"""Write tiny random-weight FLUX Kontext models with ComfyUI's own classes. Run with ComfyUI's Python from its folder.

usage: python build_tiny_flux.py OUT_DIR
Writes, in the layout of the official files (same key names):

* ``tiny_flux.safetensors``: Flux, hidden 64, 2 heads of 32, one double and one single block,
  context 32, pooled 16, guidance embedding (FLUX.1 Kontext [dev] is the same class).
* ``tiny_clip_l.safetensors``: CLIP-L text model, width 16, 2 layers (CLIP-L's 49 408 tokens).
* ``tiny_t5xxl.safetensors``: T5 encoder, width 32, one block (T5's 32 128 tokens).
* ``tiny_ae.safetensors``: the FLUX autoencoder with 32 channels at every level, one res block.

ComfyUI sizes these models from fixed configs; the test-only node pack
(``comfy_test_nodes``) reads the tiny sizes from the weights instead.
"""

import sys
from pathlib import Path

OUT = Path(sys.argv[1])
sys.argv = [sys.argv[0], "--cpu"]  # comfy.cli_args reads sys.argv on import
sys.path.insert(0, ".")
import comfy.options  # noqa: E402

comfy.options.enable_args_parsing()

import comfy.clip_model  # noqa: E402
import comfy.ldm.flux.model  # noqa: E402
import comfy.ldm.models.autoencoder  # noqa: E402
import comfy.ops  # noqa: E402
import comfy.text_encoders.t5  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

FLUX = dict(in_channels=16, out_channels=16, vec_in_dim=16, context_in_dim=32, hidden_size=64, mlp_ratio=2.0,
            num_heads=2, depth=1, depth_single_blocks=1, axes_dim=[4, 14, 14], theta=10000, patch_size=2,
            qkv_bias=True, guidance_embed=True)
CLIP_L = dict(hidden_size=16, intermediate_size=32, num_attention_heads=2, num_hidden_layers=2, max_position_embeddings=77,
              vocab_size=49408, hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=16, eos_token_id=49407,
              bos_token_id=0, pad_token_id=1)
T5 = dict(d_model=32, d_ff=64, d_kv=16, num_heads=2, num_layers=1, vocab_size=32128, dense_act_fn="gelu_pytorch_tanh",
          is_gated_act=True, model_type="t5", relative_attention_num_buckets=32, layer_norm_epsilon=1e-6)
AE = dict(double_z=True, z_channels=16, resolution=256, in_channels=3, out_ch=3, ch=32, ch_mult=[1, 1, 1, 1],
          num_res_blocks=1, attn_resolutions=[], dropout=0.0)


def randomised(module: torch.nn.Module, std: float = 0.02) -> dict:
    """Random weights, with norm scales 1 and norm biases 0 (as a trained model roughly has)."""
    sd = {}
    for name, p in module.state_dict().items():
        if name.endswith(".scale") or ("norm" in name and name.endswith(".weight")):
            sd[name] = torch.ones_like(p)
        elif "norm" in name and name.endswith(".bias"):
            sd[name] = torch.zeros_like(p)
        else:
            sd[name] = torch.randn(p.shape) * std
    return {k: v.contiguous() for k, v in sd.items()}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    ops = comfy.ops.disable_weight_init
    flux = comfy.ldm.flux.model.Flux(operations=ops, dtype=torch.float32, **FLUX)
    save_file(randomised(flux), str(out / "tiny_flux.safetensors"))
    clip = comfy.clip_model.CLIPTextModel(CLIP_L, torch.float32, "cpu", ops)
    save_file(randomised(clip), str(out / "tiny_clip_l.safetensors"))
    t5 = comfy.text_encoders.t5.T5(T5, torch.float32, "cpu", ops)
    save_file(randomised(t5, 0.1), str(out / "tiny_t5xxl.safetensors"))
    ae = comfy.ldm.models.autoencoder.AutoencodingEngine(
        regularizer_config={"target": "comfy.ldm.models.autoencoder.DiagonalGaussianRegularizer"},
        encoder_config={"target": "comfy.ldm.modules.diffusionmodules.model.Encoder", "params": AE},
        decoder_config={"target": "comfy.ldm.modules.diffusionmodules.model.Decoder", "params": AE},
    )
    save_file(randomised(ae, 0.05), str(out / "tiny_ae.safetensors"))


if __name__ == "__main__":
    main(OUT)
