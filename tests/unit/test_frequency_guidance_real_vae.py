"""Frequency guidance with a real VAE: the tiny FLUX.2 autoencoder (shared/data/weights/taesd/taef2_*) on a real photo.

Each latent tile's prediction drifts as a model run tile by tile drifts (an offset per latent channel and a gain of its
own); the drifted predictions are blended, decoded with the real decoder and compared with the decoded clean latent.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from tilestitch.qa.seam_metrics import seam_scores
from tilestitch.tiling.denoise import GlobalGuidance, latent_plan, low_band_grid, tiled_predict

from support import load_photo, weights_path


@pytest.fixture(scope="module")
def setting():
    from taef2 import TinyFlux2AE

    ae = TinyFlux2AE(weights_path("taesd/taef2_encoder.pth"), weights_path("taesd/taef2_decoder.pth"))
    image = load_photo("kodim23", 512)[0, :320, :512].permute(2, 0, 1)[None].contiguous()  # 512 x 320
    z = ae.encode(image)  # [1, 32, 40, 64]
    truth = ae.decode(z)
    assert 10 * math.log10(1 / float((truth - image).square().mean())) > 30  # the real autoencoder, loaded right
    plan = latent_plan(z.shape[2], z.shape[3], 24, 24, 8, align=1)  # 2 x 4 tiles
    g = torch.Generator().manual_seed(5)
    gains = 1 + 0.2 * (torch.rand(plan.count, 1, generator=g) - 0.5)
    offsets = 0.3 * torch.randn(plan.count, z.shape[1], generator=g)  # latent std is ~0.8

    def drifting(t, tiles):
        k = torch.tensor([tile.index for tile in tiles]).repeat_interleave(t.shape[0] // len(tiles))
        return t * gains[k].view(-1, 1, 1, 1) + offsets[k].view(-1, z.shape[1], 1, 1)

    return ae, image, z, truth, plan, drifting


def measures(decoded, truth, plan):
    """(largest per-tile mean colour drift, largest seam colour step against the truth, high-frequency energy)."""
    pplan = plan.for_image_size(decoded.shape[2], decoded.shape[3])
    drift = max(float((decoded - truth)[0, :, t.y + 16 : t.y + t.height - 16, t.x + 16 : t.x + t.width - 16].mean((1, 2)).abs().max())
                for t in pplan)
    seams = seam_scores(decoded[0].permute(1, 2, 0), pplan, reference=truth[0].permute(1, 2, 0))
    low = F.interpolate(F.avg_pool2d(decoded, 8), scale_factor=8, mode="bilinear", align_corners=False)
    return drift, max(s.delta_e for s in seams), float((decoded - low).square().mean())


def test_frequency_guidance_from_the_full_resolution_latent_removes_the_drift_and_keeps_the_texture(setting):
    ae, image, z, truth, plan, drifting = setting
    plain = ae.decode(tiled_predict(drifting, z, plan))
    guidance = GlobalGuidance(None, low_band=1.0, sigma_max=1.0, low_band_latent=low_band_grid(z, 24, 24))
    guided = ae.decode(tiled_predict(drifting, z, plan, sigma=1.0, guidance=guidance))
    (drift_p, seam_p, hf_p), (drift_g, seam_g, hf_g), (_, _, hf_t) = (measures(v, truth, plan) for v in (plain, guided, truth))
    print(f"taef2, kodim23 512 x 320: tile drift {drift_p:.3f} -> {drift_g:.4f}, seam dE00 {seam_p:.1f} -> {seam_g:.1f}, "
          f"HF energy {hf_p / hf_t:.2f} -> {hf_g / hf_t:.2f} x the clean latent's")
    assert drift_g < 0.1 * drift_p
    assert seam_g < 0.5 * seam_p
    assert 0.9 < hf_g / hf_t < 1.1  # the texture is the tiles' own, not changed by the guidance


def test_the_latent_of_a_shrunk_picture_is_not_the_low_band_of_the_full_latent(setting):
    """Why low_band_latent exists: a VAE's latent of the picture shrunk x4 differs from the full latent area-averaged x4
    by most of its norm (latents are not scale-equivariant); as a low-band target it adds texture."""
    ae, image, z, truth, plan, drifting = setting
    shrunk = ae.encode(F.interpolate(image, scale_factor=0.25, mode="area"))
    pooled = F.avg_pool2d(z, 4)
    assert float((pooled - shrunk).norm() / shrunk.norm()) > 0.3
    inconsistent = ae.decode(tiled_predict(drifting, z, plan, sigma=1.0, guidance=GlobalGuidance(shrunk, low_band=1.0, sigma_max=1.0)))
    consistent = ae.decode(tiled_predict(drifting, z, plan, sigma=1.0,
                                         guidance=GlobalGuidance(None, low_band=1.0, sigma_max=1.0, low_band_latent=pooled)))
    hf_t = measures(truth, truth, plan)[2]
    assert measures(inconsistent, truth, plan)[2] > 1.5 * hf_t > 1.5 * measures(consistent, truth, plan)[2] / 1.1
