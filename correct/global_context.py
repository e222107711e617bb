"""GLOBAL_CONTEXT: what the whole image says, computed once, consulted by every tile.

Tiles processed independently drift in colour and exposure; a reference that
saw the whole picture does not. The context holds, per source image:

* ``reference`` — the whole image area-downsampled so its longer side is at
  most ``max_side`` (default 1024), ``[B, h, w, C]`` float32 (read by Tile
  Color Correct and its drift report);
* optionally ``latent`` — the reference encoded by the model's VAE,
  ``[B, C, h', w']`` (read by Tiled Denoise's global pulls).

Crops of the reference for a tile are taken with ``crop``, which maps a box
in source pixels onto the reference with sub-pixel accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Optional

import torch
import torch.nn.functional as F

from ..imaging.resample import resize_image


@dataclass(frozen=True, eq=False)
class GlobalContext:
    source_height: int
    source_width: int
    reference: torch.Tensor
    latent: Optional[torch.Tensor] = None
    #: what users of the context derive from the reference once (low-passed crops ...), filled on first use
    derived: dict = field(default_factory=dict, repr=False, compare=False)

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
        """``plan`` (a ``TilePlan``) over the image this context was built from.

        A plan from Latent Tile Split is in latent pixels (1/8 of the image for
        FLUX/SD VAEs): it is scaled by that whole-number ratio when every tile
        box lands on whole pixels; any other size raises ``check_source``'s error.
        """
        if (plan.height, plan.width) == (self.source_height, self.source_width):
            return plan
        ratio = Fraction(self.source_height, plan.height)
        if ratio == Fraction(self.source_width, plan.width) and ratio.denominator == 1:
            return plan.for_image_size(self.source_height, self.source_width)
        self.check_source(plan.height, plan.width)  # the sizes differ: raises
        return plan

    def crop(self, index: int, y: float, x: float, h: float, w: float, out_h: int, out_w: int) -> torch.Tensor:
        """The box ``[y, y+h) x [x, x+w)`` (source pixels) of image ``index``'s reference, sampled at ``out_h x out_w``.

        Returns ``[out_h, out_w, C]`` float32 (bilinear, pixel centres aligned).
        """
        img = self.reference[min(index, self.batch - 1)]
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
        """A copy holding the reference's VAE latent ``[B, C, h, w]`` (on the CPU, float32)."""
        return replace(self, latent=latent.detach().float().cpu(), derived={})

    def summary(self) -> dict:
        """Sizes for display and JSON (no tensors)."""
        d = {
            "source_size": [self.source_width, self.source_height],
            "reference_size": [self.reference.shape[2], self.reference.shape[1]],
            "batch": self.batch,
        }
        if self.latent is not None:
            d["latent_shape"] = list(self.latent.shape)
        return d


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
    return GlobalContext(source_height=h, source_width=w, reference=reference)
