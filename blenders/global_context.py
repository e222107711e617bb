"""GLOBAL_CONTEXT: what the whole image says, computed once, consulted by every tile.

Tiles processed independently drift in colour and exposure; a reference that
saw the whole picture does not. The context holds, per source image:

* ``reference`` — the whole image area-downsampled so its longer side is at
  most ``max_side`` (default 1024), ``[B, h, w, C]``;
* ``lowfreq`` — the reference low-passed (a binomial pyramid ``LOWFREQ_LEVELS``
  down and back up): illumination and colour without detail;
* ``lab_mean``, ``lab_std`` — CIELAB statistics of the reference, ``[B, 3]``;
* ``descriptor`` — 64 numbers of channel statistics at four pyramid levels
  (per level and Lab channel: mean, std, 5th / 50th / 95th percentile = 60;
  plus the L* band-pass energy per level = 4), computed, not learned;
* optionally ``latent`` and its per-channel ``latent_mean`` / ``latent_std``
  (``[B, C]``), the reference encoded by the model's VAE, for the latent path.

Crops of the reference for a tile are taken with ``crop``, which maps a box
in source pixels onto the reference with sub-pixel accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Optional

import torch
import torch.nn.functional as F

from .color import rgb_to_lab
from .filters import pyr_down, upsample_to
from .resample import resize_image

LOWFREQ_LEVELS = 3
DESCRIPTOR_LEVELS = 4
DESCRIPTOR_SIZE = DESCRIPTOR_LEVELS * 3 * 5 + DESCRIPTOR_LEVELS  # 64


@dataclass(frozen=True, eq=False)
class GlobalContext:
    source_height: int
    source_width: int
    reference: torch.Tensor
    lowfreq: torch.Tensor
    lab_mean: torch.Tensor
    lab_std: torch.Tensor
    descriptor: torch.Tensor
    latent: Optional[torch.Tensor] = None
    latent_mean: Optional[torch.Tensor] = None
    latent_std: Optional[torch.Tensor] = None
    notes: dict = field(default_factory=dict)

    @property
    def batch(self) -> int:
        return self.reference.shape[0]

    def check_source(self, height: int, width: int, what: str = "the tile plan") -> None:
        """Raise a clear error when the context was built from an image of another size."""
        if (height, width) != (self.source_height, self.source_width):
            raise ValueError(
                f"the global context was built from a {self.source_width} x {self.source_height} image, "
                f"but {what} is for {width} x {height}; build the context from the same image you split"
            )

    def plan_in_source_pixels(self, plan):
        """``plan`` (a ``TilePlan``) in the pixels of the image this context was built from.

        A plan from Latent Tile Split is in latent pixels (1/8 of the image for
        FLUX/SD VAEs): it is scaled by the exact whole-number ratio when every
        tile box lands on whole pixels; any other size mismatch raises
        ``check_source``'s error.
        """
        size = (self.source_height, self.source_width)
        if (plan.height, plan.width) == size:
            return plan
        sy, sx = Fraction(size[0], plan.height), Fraction(size[1], plan.width)
        if sy == sx and sy.denominator == 1:
            try:
                return plan.scaled(sy, sx)
            except ValueError:
                pass
        self.check_source(plan.height, plan.width)
        return plan

    def crop(self, index: int, y: float, x: float, h: float, w: float, out_h: int, out_w: int, source: str = "reference") -> torch.Tensor:
        """The box ``[y, y+h) x [x, x+w)`` (source pixels) of image ``index``, sampled at ``out_h x out_w``.

        Returns ``[out_h, out_w, C]`` float32 (bilinear, pixel centres aligned).
        """
        img = (self.reference if source == "reference" else self.lowfreq)[min(index, self.batch - 1)]
        rh, rw = img.shape[:2]
        sy, sx = rh / self.source_height, rw / self.source_width
        ys = (y + (torch.arange(out_h, dtype=torch.float64) + 0.5) * (h / out_h)) * sy
        xs = (x + (torch.arange(out_w, dtype=torch.float64) + 0.5) * (w / out_w)) * sx
        gy = (2 * ys / rh - 1).float()
        gx = (2 * xs / rw - 1).float()
        grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)[None]  # [1, oh, ow, (x, y)]
        planar = img.permute(2, 0, 1)[None].float()
        out = F.grid_sample(planar, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return out[0].permute(1, 2, 0)

    def with_latent(self, latent: torch.Tensor) -> "GlobalContext":
        """A copy holding the reference's VAE latent ``[B, C, h, w]`` and its per-channel statistics."""
        lat = latent.detach().float().cpu()
        return replace(self, latent=lat, latent_mean=lat.mean(dim=(2, 3)), latent_std=lat.std(dim=(2, 3)))

    def summary(self) -> dict:
        """Numbers for display and JSON (no tensors)."""
        d = {
            "source_size": [self.source_width, self.source_height],
            "reference_size": [self.reference.shape[2], self.reference.shape[1]],
            "batch": self.batch,
            "lab_mean": [[round(float(v), 3) for v in row] for row in self.lab_mean],
            "lab_std": [[round(float(v), 3) for v in row] for row in self.lab_std],
            "descriptor_size": int(self.descriptor.shape[1]),
        }
        if self.latent is not None:
            d["latent_shape"] = list(self.latent.shape)
            d["latent_mean"] = [[round(float(v), 4) for v in row] for row in self.latent_mean]
            d["latent_std"] = [[round(float(v), 4) for v in row] for row in self.latent_std]
        return d


def lowpass(planar: torch.Tensor, levels: int = LOWFREQ_LEVELS) -> torch.Tensor:
    """Binomial pyramid ``levels`` down and bilinearly back up: ``[N, C, H, W]`` -> same size."""
    low = planar
    for _ in range(levels):
        if min(low.shape[-2:]) <= 2:
            break
        low = pyr_down(low)
    return upsample_to(low, planar.shape[-2], planar.shape[-1])


def descriptor(rgb_planar: torch.Tensor) -> torch.Tensor:
    """The 64-d statistics vector of ``[N, 3, H, W]`` sRGB (see module docstring) -> ``[N, 64]``."""
    scale = torch.tensor([100.0, 128.0, 128.0]).view(1, 3, 1, 1)
    lab = rgb_to_lab(rgb_planar[:, :3]) / scale
    feats = []
    level = lab
    q = torch.tensor([0.05, 0.5, 0.95])
    energies = []
    for k in range(DESCRIPTOR_LEVELS):
        flat = level.flatten(2)
        feats += [flat.mean(-1), flat.std(-1) if flat.shape[-1] > 1 else torch.zeros_like(flat[..., 0])]
        feats.append(torch.quantile(flat.float(), q, dim=-1).permute(1, 2, 0).reshape(flat.shape[0], -1))
        nxt = pyr_down(level) if min(level.shape[-2:]) > 2 else level
        band = level[:, :1] - upsample_to(nxt[:, :1], level.shape[-2], level.shape[-1])
        energies.append(band.flatten(1).std(-1) if band[0].numel() > 1 else torch.zeros(level.shape[0]))
        level = nxt
    out = torch.cat([f.reshape(lab.shape[0], -1) for f in feats] + [torch.stack(energies, -1)], dim=-1)
    assert out.shape[-1] == DESCRIPTOR_SIZE
    return out


def build_context(image: torch.Tensor, max_side: int = 1024) -> GlobalContext:
    """Summarise full-resolution ``image`` ``[B, H, W, C]`` (float, RGB / RGBA / grey) into a GlobalContext."""
    if image.ndim != 4:
        raise ValueError(f"image must be an IMAGE [B, H, W, C], got {tuple(image.shape)}")
    if max_side < 8:
        raise ValueError(f"max_side must be at least 8, got {max_side}")
    b, h, w, c = image.shape
    s = min(1.0, max_side / max(h, w))
    rh, rw = max(1, round(h * s)), max(1, round(w * s))
    reference = resize_image(image, rh, rw, "area").float().contiguous()
    planar = reference.permute(0, 3, 1, 2)
    low = lowpass(planar).permute(0, 2, 3, 1).contiguous()
    rgb = planar[:, :3] if c >= 3 else planar[:, :1].expand(-1, 3, -1, -1)
    lab = rgb_to_lab(rgb)
    return GlobalContext(
        source_height=h, source_width=w, reference=reference, lowfreq=low,
        lab_mean=lab.mean(dim=(2, 3)), lab_std=lab.std(dim=(2, 3)), descriptor=descriptor(rgb),
    )
