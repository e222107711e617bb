"""How visible is each seam of a merged image?

Two measures per seam of a ``TILE_PLAN`` (scaled to the image when the image
is larger, e.g. after an x4 upscale):

* **profile z-score** — along the seam, the lightness difference across the
  cut, minus the typical difference at nearby offsets on the same row (the
  local slope), averaged along the seam and divided by the robust spread
  (1.4826 x MAD) of that excess at the nearby offsets. A step the tiles
  introduce adds up along the seam; grain and texture average out. On flat,
  8-bit-quantised areas the MAD is 0, so the spread is floored at the L*
  size of a 0.83/255 code-value step at the local colour: a lone 1/255 step
  then scores about 1.2. ``|z|`` near 0 means no step; a hard cut between
  tiles that disagree by a few percent scores several units.
* **strip ΔE00** — CIEDE2000 between the mean CIELAB colour of two strips
  just outside the overlap, one per side. With a ``reference`` (e.g. the
  original), the reference's own difference between the same strips is
  taken out, so only the jump the processing introduced remains.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, List, Optional

import torch

from ..tiling.plan import Seam, TilePlan
from ..imaging.color import ciede2000, rgb_to_lab

MAD_TO_STD = 1.4826


@dataclass(frozen=True)
class SeamScore:
    index: int  # position in plan.seams
    axis: int  # 1 vertical seam, 0 horizontal seam
    position: int  # in image pixels
    span: tuple  # (lo, hi) along the seam, image pixels
    z: float
    delta_e: float
    segment_z: float = 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["span"] = list(self.span)
        return d


def _lightness(rgb_hwc: torch.Tensor) -> torch.Tensor:
    """L* of ``[h, w, 3]`` -> ``[h, w]``."""
    return rgb_to_lab(rgb_hwc.permute(2, 0, 1)[None, :3])[0, 0]


def _oriented(image: torch.Tensor, seam: Seam) -> torch.Tensor:
    """``[H, W, C]`` with the seam running down the rows (transposed for horizontal seams)."""
    return image if seam.axis == 1 else image.transpose(0, 1)


QUANTUM_STEP = 0.83 / 255  # the code-value step whose L* size floors the spread


def _quantum_floor(region: torch.Tensor) -> float:
    """L* size of a ``QUANTUM_STEP`` change of all channels at the region's mean colour."""
    mean = region[..., :3].reshape(-1, 3).mean(0).clamp(0.0, 1.0 - QUANTUM_STEP)
    pair = torch.stack([mean, mean + QUANTUM_STEP]).T.reshape(1, 3, 1, 2)
    light = rgb_to_lab(pair)[0, 0, 0]
    return max(float(light[1] - light[0]), 1e-3)


def _cut_excess(image: torch.Tensor, seam: Seam, radius: int, exclude: int):
    """``(excess [n], spread)``: per row along the seam, the step across the cut net of the local slope, and its robust spread."""
    img = _oriented(image, seam)
    lo = max(seam.position - radius - 1, 0)
    hi = min(seam.position + radius + 1, img.shape[1])
    if hi - lo < 3:
        return None
    region = img[seam.span[0] : seam.span[1], lo:hi].float()
    light = _lightness(region)
    g = light[:, 1:] - light[:, :-1]  # g[:, k] is the step between columns lo+k and lo+k+1
    cut = seam.position - 1 - lo  # the step across the cut
    offsets = torch.arange(g.shape[1]) - cut
    ref = offsets.abs() >= exclude
    if ref.sum() < 4:
        return None
    slope = g[:, ref].median(dim=1, keepdim=True).values
    excess = g - slope
    spread = MAD_TO_STD * float(excess[:, ref].abs().median())
    return excess[:, cut], max(spread, _quantum_floor(region))


def profile_z(image: torch.Tensor, seam: Seam, radius: int = 16, exclude: int = 2) -> float:
    """Signed seam z-score of one seam of ``image`` ``[H, W, C]`` (see module docstring)."""
    found = _cut_excess(image, seam, radius, exclude)
    if found is None:
        return 0.0
    excess, spread = found
    return float(excess.mean()) / spread


def segment_z(image: torch.Tensor, seam: Seam, segment: int = 64, radius: int = 16, exclude: int = 2) -> float:
    """The worst signed z-score over pieces of ``segment`` px along the seam.

    Finds a step on part of a seam (a sky above a textured horizon) and
    steps whose sign changes along the seam (a solar-curve preview folds a
    1/255 step up in one band and down in the next), which cancel out in
    the whole-seam mean. Noise scores about ``1/sqrt(segment)`` of a pixel's.
    """
    found = _cut_excess(image, seam, radius, exclude)
    if found is None:
        return 0.0
    excess, spread = found
    n = excess.shape[0]
    pieces = max(1, round(n / segment))
    means = torch.stack([p.mean() for p in torch.tensor_split(excess, pieces)]) / spread
    worst = int(means.abs().argmax())
    return float(means[worst])


def _strip_lab(image: torch.Tensor, seam: Seam, lo: int, hi: int) -> Optional[torch.Tensor]:
    img = _oriented(image, seam)
    lo, hi = max(lo, 0), min(hi, img.shape[1])
    if hi <= lo:
        return None
    strip = img[seam.span[0] : seam.span[1], lo:hi, :3].float()
    return rgb_to_lab(strip.permute(2, 0, 1)[None])[0].mean(dim=(1, 2))


def strip_delta_e(image: torch.Tensor, seam: Seam, width: int = 8, reference: Optional[torch.Tensor] = None) -> float:
    """CIEDE2000 between mean colours of strips of ``width`` px either side of the seam's overlap."""
    lo, hi = seam.overlap
    a, b = _strip_lab(image, seam, lo - width, lo), _strip_lab(image, seam, hi, hi + width)
    if a is None or b is None:
        a, b = _strip_lab(image, seam, lo, seam.position), _strip_lab(image, seam, seam.position, hi)
        if a is None or b is None:
            return 0.0
    if reference is not None:
        ra, rb = _strip_lab(reference, seam, lo - width, lo), _strip_lab(reference, seam, hi, hi + width)
        if ra is not None and rb is not None:
            a = a + (rb - ra)  # the colour the right strip should have, given the left one
    return float(ciede2000(a, b, dim=0))


def seam_scores(image: torch.Tensor, plan: TilePlan, *, reference: Optional[torch.Tensor] = None, radius: int = 16, strip: int = 8,
                segment: int = 64, progress: Optional[Callable[[int, int], None]] = None) -> List[SeamScore]:
    """Score every seam of ``plan`` on ``image`` ``[H, W, C]`` (RGB or RGBA, float in [0, 1]).

    ``reference`` (same size) removes the natural colour change between the
    strips from ``delta_e``; ``progress(done, total)`` runs after each seam.
    """
    if image.ndim != 3 or image.shape[-1] < 3:
        raise ValueError(f"image must be [H, W, C] with at least 3 channels, got {tuple(image.shape)}")
    if reference is not None and reference.shape[:2] != image.shape[:2]:
        raise ValueError(f"reference is {tuple(reference.shape)}, the image {tuple(image.shape)}")
    seams = plan.for_image_size(image.shape[0], image.shape[1]).seams
    scores = []
    for i, seam in enumerate(seams):
        scores.append(SeamScore(i, seam.axis, seam.position, seam.span, profile_z(image, seam, radius=radius),
                                strip_delta_e(image, seam, width=strip, reference=reference),
                                segment_z(image, seam, segment, radius=radius)))
        if progress is not None:
            progress(i + 1, len(seams))
    return scores
