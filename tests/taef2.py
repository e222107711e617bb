"""The tiny FLUX.2 autoencoder (``shared/data/weights/taesd/taef2_*.pth``, MIT, madebyollin/taesd) as plain torch modules,
for tests that need a real VAE's latent space without ComfyUI.

The layout follows the weight files (``nn.Sequential`` indices): 3 x 3 convolutions of 64 channels, residual blocks of
three convolutions with ReLUs between them, the deepest blocks with a 1 x 1 "global norm" branch (64 -> 256, GroupNorm
of 4 groups, ReLU, 256 -> 64) added before the block; three stride-2 convolutions down to 32 latent channels at 1/8, and
back with nearest x2 upsampling. Images in [0, 1], latents roughly in [-3, 3] (the decoder first squashes them with
3 tanh(z / 3)).
"""

from __future__ import annotations

import torch
from torch import nn


def _conv(n_in: int, n_out: int, **kw) -> nn.Conv2d:
    return nn.Conv2d(n_in, n_out, 3, padding=1, **kw)


class _Residual(nn.Module):
    def __init__(self, channels: int = 64, norm_branch: bool = False):
        super().__init__()
        self.conv = nn.Sequential(_conv(channels, channels), nn.ReLU(), _conv(channels, channels), nn.ReLU(), _conv(channels, channels))
        wide = 4 * channels
        self.pool = nn.Sequential(nn.Conv2d(channels, wide, 1, bias=False), nn.GroupNorm(4, wide), nn.ReLU(),
                                  nn.Conv2d(wide, channels, 1, bias=False)) if norm_branch else None

    def forward(self, x):
        if self.pool is not None:
            x = x + self.pool(x)
        return torch.relu(self.conv(x) + x)


class _Squash(nn.Module):
    def forward(self, z):
        return 3 * torch.tanh(z / 3)


def _encoder(latent_channels: int = 32) -> nn.Sequential:
    def down():
        return _conv(64, 64, stride=2, bias=False)

    blocks = [_Residual() for _ in range(3)]
    deep = [_Residual(norm_branch=True) for _ in range(3)]
    return nn.Sequential(_conv(3, 64), _Residual(), down(), *blocks, down(), *[_Residual() for _ in range(3)], down(), *deep,
                         _conv(64, latent_channels))


def _decoder(latent_channels: int = 32) -> nn.Sequential:
    def up():
        return [nn.Upsample(scale_factor=2), _conv(64, 64, bias=False)]

    return nn.Sequential(_Squash(), _conv(latent_channels, 64), nn.ReLU(), *[_Residual(norm_branch=True) for _ in range(3)], *up(),
                         *[_Residual() for _ in range(3)], *up(), *[_Residual() for _ in range(3)], *up(), _Residual(),
                         _conv(64, 3))


class TinyFlux2AE:
    """``encode(images [B, 3, H, W] in [0, 1]) -> [B, 32, H/8, W/8]``; ``decode(latents) -> images``."""

    def __init__(self, encoder_path, decoder_path):
        self.encoder, self.decoder = _encoder().eval(), _decoder().eval()
        self.encoder.load_state_dict({k: v.float() for k, v in torch.load(encoder_path, map_location="cpu", weights_only=True).items()})
        self.decoder.load_state_dict({k: v.float() for k, v in torch.load(decoder_path, map_location="cpu", weights_only=True).items()})

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.decoder(latents).clamp(0, 1)
