"""SANA's DC-AE (AutoencoderDC, 32x down, 32 channels) over large images, three ways.

* ``dc_ae``: diffusers' own tiling (``AutoencoderDC.enable_tiling``): tiles of
  ``tile`` px every ``tile - overlap`` px, linear blends; every tile of the
  image is held on the device before blending.
* ``stream``: the pack's streaming (``tiling.stream``): a batch of tiles at a
  time on the device, results added into a CPU result with partition-of-unity
  cosine weights; memory = source + result + one batch, for 10 000+ px.
* ``off``: one call on the whole image.

Images are ComfyUI IMAGEs ``[B, H, W, 3]`` in 0..1; latents ``[B, C, H/32, W/32]``
already multiplied by the VAE's ``scaling_factor`` (what the transformer sees).
Sizes that are not a multiple of 32 are padded (edge replicate) for encoding;
``decode_latent`` crops back to the size it is given.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Optional, Tuple

import torch
import torch.nn.functional as F

from ..tiling import plan_by_tile_size
from ..tiling.layout import IMAGE
from ..tiling.stream import stream_tiles
from .models import SanaModels

TILING_MODES = ("dc_ae", "stream", "off")
Progress = Optional[Callable[[int, int], None]]


def padded_size(height: int, width: int, factor: int) -> Tuple[int, int]:
    return -(-height // factor) * factor, -(-width // factor) * factor


def check_tiling(mode: str, tile: int, overlap: int, factor: int) -> None:
    if mode not in TILING_MODES:
        raise ValueError(f"tiling must be one of {', '.join(TILING_MODES)}, got {mode!r}")
    if mode == "off":
        return
    if tile % factor or overlap % factor:
        raise ValueError(f"tile_size ({tile}) and overlap ({overlap}) must be multiples of the DC-AE's factor {factor} px")
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap ({overlap}) must be at least 0 and smaller than the tile ({tile})")


@contextlib.contextmanager
def _native_tiling(vae, mode: str, tile: int, overlap: int) -> Iterator[None]:
    """diffusers' DC-AE tiling on for ``dc_ae`` (off otherwise), restored afterwards."""
    keep = (vae.use_tiling, vae.tile_sample_min_height, vae.tile_sample_min_width,
            vae.tile_sample_stride_height, vae.tile_sample_stride_width)
    if mode == "dc_ae":
        vae.enable_tiling(tile_sample_min_height=tile, tile_sample_min_width=tile,
                          tile_sample_stride_height=tile - overlap, tile_sample_stride_width=tile - overlap)
    else:
        vae.use_tiling = False
    try:
        yield
    finally:
        vae.enable_tiling(*keep[1:])
        vae.use_tiling = keep[0]


def _encode_chw(models: SanaModels, x: torch.Tensor) -> torch.Tensor:
    """``[n, 3, H, W]`` in 0..1 (any device) -> scaled latents ``[n, C, H/32, W/32]`` float32 on the device."""
    vae = models.vae
    lat = vae.encode(x.to(models.device, models.dtype) * 2 - 1, return_dict=False)[0]
    return lat.float() * models.latent_scale


def _decode_chw(models: SanaModels, z: torch.Tensor) -> torch.Tensor:
    """Scaled latents ``[n, C, h, w]`` -> ``[n, 3, 32h, 32w]`` in 0..1, float32 on the device."""
    img = models.vae.decode(z.to(models.device, models.dtype) / models.latent_scale, return_dict=False)[0]
    return img.float().add_(1).mul_(0.5).clamp_(0, 1)


def encode_image(models: SanaModels, image: torch.Tensor, *, tiling: str = "dc_ae", tile: int = 1024, overlap: int = 128,
                 batch_size: int = 1, progress: Progress = None) -> torch.Tensor:
    """IMAGE ``[B, H, W, 3]`` 0..1 -> scaled latent ``[B, C, ceil(H/32), ceil(W/32)]`` float32 on the CPU."""
    IMAGE.check(image, "image")
    if image.shape[-1] != 3:
        raise ValueError(f"the DC-AE encodes RGB images; got {image.shape[-1]} channels")
    f = models.vae_factor
    check_tiling(tiling, tile, overlap, f)
    b, h, w, _ = image.shape
    ph, pw = padded_size(h, w, f)
    if (ph, pw) != (h, w):
        image = F.pad(image.movedim(-1, 1), (0, pw - w, 0, ph - h), mode="replicate").movedim(1, -1)
    vae = models.vae
    with models.on_device(vae), torch.inference_mode():
        if tiling == "stream" and (ph > tile or pw > tile):
            th, tw = min(tile, ph), min(tile, pw)
            plan = plan_by_tile_size(ph, pw, th, tw, min(overlap, min(th, tw) - f), f, batch=b)

            def process(tiles: torch.Tensor) -> torch.Tensor:
                return _encode_chw(models, tiles.movedim(-1, 1)).movedim(1, -1)

            with _native_tiling(vae, "off", tile, overlap):
                out = stream_tiles(image.float(), plan, process, batch_size=batch_size, window="cosine", progress=progress)
            return out.movedim(-1, 1).contiguous()
        outs = []
        with _native_tiling(vae, tiling, tile, overlap):
            for i in range(b):
                outs.append(_encode_chw(models, image[i : i + 1].movedim(-1, 1)).cpu())
                if progress is not None:
                    progress(i + 1, b)
        return torch.cat(outs)


def decode_latent(models: SanaModels, latent: torch.Tensor, *, tiling: str = "dc_ae", tile: int = 1024, overlap: int = 128,
                  batch_size: int = 1, size: Optional[Tuple[int, int]] = None, progress: Progress = None) -> torch.Tensor:
    """Scaled latent ``[B, C, h, w]`` -> IMAGE ``[B, 32h, 32w, 3]`` 0..1 float32 on the CPU (cropped to ``size`` = (H, W))."""
    if latent.ndim != 4 or latent.shape[1] != models.latent_channels:
        raise ValueError(f"a SANA latent is [batch, {models.latent_channels}, h, w]; got {tuple(latent.shape)}")
    f = models.vae_factor
    check_tiling(tiling, tile, overlap, f)
    b, _, h, w = latent.shape
    vae = models.vae
    with models.on_device(vae), torch.inference_mode():
        if tiling == "stream" and (h * f > tile or w * f > tile):
            lt, lo = tile // f, overlap // f
            th, tw = min(lt, h), min(lt, w)
            plan = plan_by_tile_size(h, w, th, tw, min(lo, min(th, tw) - 1), 1, batch=b)

            def process(tiles: torch.Tensor) -> torch.Tensor:
                return _decode_chw(models, tiles.movedim(-1, 1)).movedim(1, -1)

            with _native_tiling(vae, "off", tile, overlap):
                out = stream_tiles(latent.float().movedim(1, -1), plan, process, batch_size=batch_size, window="cosine",
                                   out_dtype=torch.float32, progress=progress).clamp_(0, 1)  # weights sum to 1 +- 1 ulp
        else:
            parts = []
            with _native_tiling(vae, tiling, tile, overlap):
                for i in range(b):
                    parts.append(_decode_chw(models, latent[i : i + 1]).movedim(1, -1).cpu())
                    if progress is not None:
                        progress(i + 1, b)
            out = torch.cat(parts)
    if size is not None:
        out = out[:, : size[0], : size[1]]
    return out.contiguous()
