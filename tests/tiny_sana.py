"""A tiny random-weight SANA diffusers folder, laid out as the releases are (for tests; no download).

Transformer: SanaTransformer2DModel, 2 heads of 4, one block, 4 latent channels, caption width 8.
VAE: AutoencoderDC with two stages (2x down), 4 latent channels. Text encoder: Gemma 2 with one
layer of width 8; tokenizer: a word-level vocabulary of 64 entries (unknown words map to <unk>).
Scheduler: DPMSolverMultistepScheduler with flow sigmas and flow_shift 3, as SANA 1024 ships.
"""

from __future__ import annotations

from pathlib import Path

import torch

LATENT_CHANNELS = 4
VAE_FACTOR = 2


def build_tiny_sana(folder: Path, seed: int = 0) -> Path:
    from diffusers import AutoencoderDC, DPMSolverMultistepScheduler, SanaPipeline, SanaTransformer2DModel
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import Gemma2Config, Gemma2Model, PreTrainedTokenizerFast

    torch.manual_seed(seed)
    transformer = SanaTransformer2DModel(
        patch_size=1, in_channels=LATENT_CHANNELS, out_channels=LATENT_CHANNELS, num_layers=1, attention_head_dim=4,
        num_attention_heads=2, num_cross_attention_heads=2, cross_attention_head_dim=4, cross_attention_dim=8,
        caption_channels=8, sample_size=32,
    )
    vae = AutoencoderDC(
        in_channels=3, latent_channels=LATENT_CHANNELS, attention_head_dim=2,
        encoder_block_types=("ResBlock", "EfficientViTBlock"), decoder_block_types=("ResBlock", "EfficientViTBlock"),
        encoder_block_out_channels=(8, 8), decoder_block_out_channels=(8, 8),
        encoder_qkv_multiscales=((), (5,)), decoder_qkv_multiscales=((), (5,)),
        encoder_layers_per_block=(1, 1), decoder_layers_per_block=(1, 1),
        downsample_block_type="conv", upsample_block_type="interpolate",
        decoder_norm_types="rms_norm", decoder_act_fns="silu", scaling_factor=0.41407,
    )
    text_encoder = Gemma2Model(Gemma2Config(
        vocab_size=64, hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, head_dim=4, max_position_embeddings=1024,
    ))
    words = ["<pad>", "<eos>", "<bos>", "<unk>"] + [f"w{i}" for i in range(60)]
    vocab = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    vocab.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=vocab, pad_token="<pad>", eos_token="<eos>",
                                        bos_token="<bos>", unk_token="<unk>")
    scheduler = DPMSolverMultistepScheduler(flow_shift=3.0, use_flow_sigmas=True, prediction_type="flow_prediction")
    SanaPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                 scheduler=scheduler).save_pretrained(str(folder))
    return Path(folder)
