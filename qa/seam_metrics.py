"""How visible is each seam of a merged image?

Two measures per seam of a ``TILE_PLAN`` (scaled to the image when the image
is larger, e.g. after an x4 upscale), both taken on a *line*: the seam's cut,
or any line parallel to it.

* **profile z-score** — along the line, the lightness step across it, minus
  the typical step at nearby offsets on the same row (the local slope),
  averaged along the line and divided by the robust spread (1.4826 x MAD) of
  that excess at the nearby offsets. A step the tiles introduce adds up along
  the seam; grain and texture average out. On flat, 8-bit-quantised areas the
  MAD is 0, so the spread is floored at the L* size of a 0.83/255 code-value
  step at the local colour: a lone 1/255 step then scores about 1.2. ``|z|``
  near 0 means no step; a hard cut between tiles that disagree by a few
  percent scores several units. ``segment_z`` is the worst 64 px piece.
* **strip ΔE00** — CIEDE2000 between the mean CIELAB colour of two strips just
  outside the seam's overlap, one per side. With a ``reference`` (e.g. the
  original), the reference's own difference between the same strips is
  taken out, so only the jump the processing introduced remains.

**Parallel lines.** A photo has its own edges and colour gradients, and a
seam line crosses them like any other line. ``parallel_positions`` picks
lines parallel to each seam, inside the tiles (clear of every overlap), with
the same measuring window; their scores are what *this* part of *this* photo
gives where there is no seam. Without a reference, the report compares each
seam with them (``seam_report``).

Everything is measured on narrow strips around the lines, converted to Lab
by the fused CPU pass: the cost follows the seams' length, not the image.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..imaging.color import ciede2000, rgb_to_lab
from ..tiling.axis import AxisGrid
from ..tiling.plan import TilePlan

MAD_TO_STD = 1.4826
QUANTUM_STEP = 0.83 / 255  # the code-value step whose L* size floors the spread
PARALLEL_LINES = 6  # parallel lines measured per seam (when the tiles have room for them)


@dataclass(frozen=True)
class LineScore:
    """The measures on one line: whole-line and worst-piece z-score, strip ΔE00, and their *steady* values.

    ``steady_z`` / ``steady_delta_e``: the value reached by at least a quarter
    of the line's 64 px pieces (the k-th largest, k = max(2, pieces / 4)). A
    processing step or colour jump runs along the seam; a natural edge that
    crosses the line obliquely, or an object boundary between the strips,
    fills one or two pieces and leaves these low.
    """

    z: float
    segment_z: float
    delta_e: float
    steady_z: float = 0.0
    steady_delta_e: float = 0.0
    sharpness: float = 0.0  # steady_z over the largest steady |z| one and two columns off the line


@dataclass(frozen=True)
class SeamScore:
    index: int  # position in plan.seams
    axis: int  # 1 vertical seam, 0 horizontal seam
    position: int  # in image pixels
    span: tuple  # (lo, hi) along the seam, image pixels
    z: float
    delta_e: float
    segment_z: float = 0.0
    steady_z: float = 0.0
    steady_delta_e: float = 0.0
    sharpness: float = 0.0
    parallel: Tuple[LineScore, ...] = field(default=(), compare=False)  # the same measures on parallel lines

    def to_dict(self) -> dict:
        d = asdict(self)
        d["span"] = list(self.span)
        del d["parallel"]
        d["parallel_lines"] = len(self.parallel)
        d["parallel_steady_z"] = max((p.steady_z for p in self.parallel), default=None)
        d["parallel_steady_delta_e"] = max((p.steady_delta_e for p in self.parallel), default=None)
        return d


def _oriented(image: torch.Tensor, axis: int) -> torch.Tensor:
    """``[H, W, C]`` with the seam running down the rows (transposed for horizontal seams)."""
    return image if axis == 1 else image.transpose(0, 1)


def _lab(region: torch.Tensor) -> torch.Tensor:
    """Lab of an oriented ``[n, w, C]`` region's colour, channels last."""
    return rgb_to_lab(region[..., :3].float().contiguous(), dim=-1)


def _quantum_floor(region: torch.Tensor) -> float:
    """L* size of a ``QUANTUM_STEP`` change of all channels at the region's mean colour."""
    mean = region[..., :3].reshape(-1, 3).mean(0).clamp(0.0, 1.0 - QUANTUM_STEP)
    light = rgb_to_lab(torch.stack([mean, mean + QUANTUM_STEP]).float(), dim=-1)[:, 0]
    return max(float(light[1] - light[0]), 1e-3)


def _lower_median(x: torch.Tensor, dim: Optional[int] = None):
    """The lower median of ``x`` (along ``dim``, kept as size 1; all of it for ``None``), by selection (numpy's partition)."""
    a = x.detach().cpu().numpy()
    if dim is None:
        a = a.reshape(-1)
        return float(np.partition(a, (a.size - 1) // 2)[(a.size - 1) // 2])
    k = (a.shape[dim] - 1) // 2
    return torch.from_numpy(np.take(np.partition(a, k, axis=dim), [k], axis=dim))


def _piece_means(x: torch.Tensor, pieces: int) -> torch.Tensor:
    """Means of ``x`` ``[n, ...]`` over ``pieces`` near-equal runs of rows (as ``torch.tensor_split`` cuts them): ``[pieces, ...]``."""
    n = x.shape[0]
    small, extra = divmod(n, pieces)  # tensor_split: the first ``extra`` runs are one row longer
    sizes = torch.full((pieces,), small, dtype=torch.long)
    sizes[:extra] += 1
    ends = torch.cumsum(sizes, 0)
    total = torch.cat([torch.zeros_like(x[:1], dtype=torch.float64), torch.cumsum(x.double(), 0)])
    means = (total[ends] - total[ends - sizes]) / sizes.double().view(-1, *([1] * (x.ndim - 1)))
    return means.to(x.dtype)


def _step_excess(img: torch.Tensor, rows: Tuple[int, int], position: int, radius: int, exclude: int):
    """``(excess [n, 5], spread)``: per row, the step across ``position`` (column 2) and across the lines 1 and 2 px
    either side, net of the local slope, and the excess's robust spread."""
    lo, hi = max(position - radius - 1, 0), min(position + radius + 1, img.shape[1])
    if hi - lo < 3:
        return None
    region = img[rows[0] : rows[1], lo:hi]
    light = _lab(region)[..., 0]
    g = light[:, 1:] - light[:, :-1]  # g[:, k] is the step between columns lo+k and lo+k+1
    cut = position - 1 - lo  # the step across the line
    offsets = torch.arange(g.shape[1]) - cut
    ref = offsets.abs() >= exclude
    if ref.sum() < 4:
        return None
    slope = _lower_median(g[:, ref], dim=1)
    excess = g - slope
    spread = MAD_TO_STD * _lower_median(excess[:, ref].abs())
    near = torch.stack([excess[:, min(max(cut + d, 0), excess.shape[1] - 1)] for d in (-2, -1, 0, 1, 2)], dim=1)
    return near, max(spread, _quantum_floor(region))


def _strip_lab(img: torch.Tensor, rows: Tuple[int, int], lo: int, hi: int) -> Optional[torch.Tensor]:
    """Per row, the mean Lab of columns ``[lo, hi)``: ``[n, 3]`` (None when the strip is empty)."""
    lo, hi = max(lo, 0), min(hi, img.shape[1])
    if hi <= lo:
        return None
    return _lab(img[rows[0] : rows[1], lo:hi]).mean(dim=1)


def _steady(values: torch.Tensor) -> float:
    """The value at least a quarter of the pieces reach (the k-th largest, k = max(2, n / 4); the largest for one piece)."""
    k = min(len(values), max(2, len(values) // 4))
    return float(values.sort(descending=True).values[k - 1])


def _strip_pair(img, rows, position, before, after, width):
    """Per-row mean Lab of the strips ``width`` px outside ``[position - before, position + after)`` (inside when there is no room)."""
    a = _strip_lab(img, rows, position - before - width, position - before)
    b = _strip_lab(img, rows, position + after, position + after + width)
    if a is None or b is None:
        a, b = _strip_lab(img, rows, position - before, position), _strip_lab(img, rows, position, position + after)
    return a, b


def score_line(img: torch.Tensor, rows: Tuple[int, int], position: int, before: int, after: int, *,
               reference: Optional[torch.Tensor] = None, radius: int = 16, exclude: int = 2, strip: int = 8,
               segment: int = 64) -> LineScore:
    """The measures on the line at ``position`` of an oriented image (the line runs down rows ``rows``).

    ``before`` / ``after``: how far the seam's overlap reaches either side of
    its cut; the strips lie just outside that (the same window for a seam and
    its parallel lines). ``reference`` (oriented alike) takes out its own
    colour difference between the same strips.
    """
    pieces = max(1, round((rows[1] - rows[0]) / segment))
    z = seg = steady_z = sharpness = 0.0
    found = _step_excess(img, rows, position, radius, exclude)
    if found is not None:
        near, spread = found
        excess = near[:, 2]
        z = float(excess.mean()) / spread
        means = _piece_means(near, pieces) / spread  # [pieces, 5]
        seg = float(means[int(means[:, 2].abs().argmax()), 2])
        steady_z = _steady(means[:, 2].abs())
        beside = max(_steady(means[:, k].abs()) for k in (0, 1, 3, 4))
        sharpness = steady_z / max(beside, 1e-3)
    a, b = _strip_pair(img, rows, position, before, after, strip)
    if a is None or b is None:
        return LineScore(z, seg, 0.0, steady_z, 0.0, sharpness)
    if reference is not None:
        ra, rb = _strip_pair(reference, rows, position, before, after, strip)
        if ra is not None and rb is not None:
            a = a + (rb - ra)  # the colour the far strip should have, given the near one
    whole = float(ciede2000(a.mean(dim=0), b.mean(dim=0), dim=0))
    piece_a, piece_b = _piece_means(a, pieces), _piece_means(b, pieces)
    return LineScore(z, seg, whole, steady_z, _steady(ciede2000(piece_a, piece_b, dim=-1)), sharpness)


def parallel_positions(grid: AxisGrid, seam_index: int, before: int, after: int, reach: int,
                       count: int = PARALLEL_LINES) -> List[int]:
    """Lines parallel to seam ``seam_index`` of ``grid`` whose measuring window lies in one tile, clear of every overlap.

    The window of a line at ``p`` is ``[p - before - reach, p + after + reach)``;
    lines step by the window's width away from the seam on both sides, the
    nearest first, up to ``count``.
    """
    cut = grid.seams[seam_index]
    overlaps = [(grid.starts[k + 1], grid.ends[k]) for k in range(grid.count - 1)]
    width = before + after + 2 * reach
    out: List[int] = []
    for j in range(1, grid.length // max(1, width) + 1):
        for p in (cut - j * width, cut + j * width):
            lo, hi = p - before - reach, p + after + reach
            if lo >= 0 and hi <= grid.length and all(hi <= a or lo >= b for a, b in overlaps):
                out.append(p)
        if len(out) >= count or (cut - j * width < 0 and cut + j * width > grid.length):
            break
    return out[:count]


def seam_scores(image: torch.Tensor, plan: TilePlan, *, reference: Optional[torch.Tensor] = None, radius: int = 16, strip: int = 8,
                segment: int = 64, parallel: bool = False,
                progress: Optional[Callable[[int, int], None]] = None) -> List[SeamScore]:
    """Score every seam of ``plan`` on ``image`` ``[H, W, C]`` (RGB or RGBA, float in [0, 1]).

    ``reference`` (same size) removes the natural colour change between the
    strips from ``delta_e``; ``parallel`` also scores each seam's parallel
    lines (``SeamScore.parallel``); ``progress(done, total)`` runs after each seam.
    """
    if image.ndim != 3 or image.shape[-1] < 3:
        raise ValueError(f"image must be [H, W, C] with at least 3 channels, got {tuple(image.shape)}")
    if reference is not None and reference.shape[:2] != image.shape[:2]:
        raise ValueError(f"reference is {tuple(reference.shape)}, the image {tuple(image.shape)}")
    scaled = plan.for_image_size(image.shape[0], image.shape[1])
    seams = scaled.seams
    index_on_axis = _index_on_axis(scaled)
    scores = []
    for i, seam in enumerate(seams):
        img = _oriented(image, seam.axis)
        ref = None if reference is None else _oriented(reference, seam.axis)
        before, after = seam.position - seam.overlap[0], seam.overlap[1] - seam.position
        kw = dict(radius=radius, strip=strip, segment=segment)
        line = score_line(img, seam.span, seam.position, before, after, reference=ref, **kw)
        lines: Sequence[LineScore] = ()
        if parallel:
            grid = scaled.axis(seam.axis)  # vertical seams (axis 1) cut the column axis
            reach = max(strip, radius + 1)
            lines = tuple(score_line(img, seam.span, p, before, after, reference=ref, **kw)
                          for p in parallel_positions(grid, index_on_axis[i], before, after, reach))
        scores.append(SeamScore(i, seam.axis, seam.position, seam.span, line.z, line.delta_e, line.segment_z,
                                line.steady_z, line.steady_delta_e, line.sharpness, tuple(lines)))
        if progress is not None:
            progress(i + 1, len(seams))
    return scores


def _index_on_axis(plan: TilePlan) -> List[int]:
    """For each seam of ``plan.seams``: which cut of its axis it is (the k-th overlap)."""
    out = []
    for seam in plan.seams:
        grid = plan.axis(seam.axis)
        out.append(grid.seams.index(seam.position))
    return out


__all__ = ["LineScore", "PARALLEL_LINES", "SeamScore", "parallel_positions", "score_line", "seam_scores"]
