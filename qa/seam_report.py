"""Seam QA: score every seam of a merged image, list the worst, and paint a heatmap.

A seam is flagged *visible* when its worst 64 px piece has a profile
z-score above ``z_threshold`` (a lone 1/255 step on flat 8-bit scores about
1.2, a hard cut between tiles a few percent apart several units) or when the
colour jump between the strips either side exceeds ``delta_e_threshold``
CIEDE2000 (just noticeable is about 1-2). With a ``reference`` (the
original, same size), the reference's own z-score at the same line is
reported beside it and taken out of the verdict: an edge of the photo that
happens to lie on a seam line is not the merge's fault.
"""

from __future__ import annotations

import json
from typing import List, Optional

import torch

from ..tiling.plan import TilePlan
from .seam_metrics import SeamScore, seam_scores, segment_z

DEFAULT_Z = 3.0
DEFAULT_DELTA_E = 2.0


def seam_report(image: torch.Tensor, plan: TilePlan, *, reference: Optional[torch.Tensor] = None, z_threshold: float = DEFAULT_Z,
                delta_e_threshold: float = DEFAULT_DELTA_E, worst: int = 5, progress=None) -> dict:
    """The report for ``image`` ``[H, W, C]`` (RGB(A) in [0, 1]) merged with ``plan`` (scaled to the image's size).

    Returns a JSON-ready dict: ``seams`` (one dict per seam of the plan:
    index, axis, position, span, z, segment_z, delta_e, reference_z,
    excess_z, score, visible), ``worst`` (indices, worst first), counts,
    thresholds and a one-paragraph ``summary``.
    """
    scores = seam_scores(image, plan, reference=reference, progress=progress)
    scaled = plan.for_image_size(image.shape[0], image.shape[1])
    seams = []
    for sc, seam in zip(scores, scaled.seams):
        d = sc.to_dict()
        ref_z = segment_z(reference, seam) if reference is not None else 0.0
        excess = max(0.0, abs(sc.segment_z) - abs(ref_z))
        d.update(reference_z=ref_z, excess_z=excess,
                 score=max(excess / z_threshold, sc.delta_e / delta_e_threshold),
                 visible=bool(excess > z_threshold or sc.delta_e > delta_e_threshold))
        seams.append(d)
    order = sorted(range(len(seams)), key=lambda i: -seams[i]["score"])[: max(0, worst)]
    visible = [s for s in seams if s["visible"]]
    lines = [f"{len(seams)} seams, {len(visible)} visible (z > {z_threshold:g} or ΔE00 > {delta_e_threshold:g})."]
    for i in order:
        s = seams[i]
        kind = "vertical" if s["axis"] == 1 else "horizontal"
        lines.append(f"  seam {i}: {kind} at {s['position']} px, span {s['span'][0]}-{s['span'][1]}: "
                     f"z {s['segment_z']:+.2f}" + (f" (reference {s['reference_z']:+.2f})" if reference is not None else "")
                     + f", ΔE00 {s['delta_e']:.2f}" + ("  VISIBLE" if s["visible"] else ""))
    return {
        "width": int(image.shape[1]), "height": int(image.shape[0]),
        "z_threshold": z_threshold, "delta_e_threshold": delta_e_threshold,
        "seam_count": len(seams), "visible_count": len(visible),
        "worst": order, "seams": seams, "summary": "\n".join(lines),
    }


def heat_colour(score: float) -> torch.Tensor:
    """Green (0) -> yellow (1 = at the threshold) -> red (2 and above), RGB in [0, 1]."""
    s = max(0.0, min(2.0, float(score)))
    if s <= 1.0:
        return torch.tensor([s, 0.8 + 0.2 * s, 0.1])
    return torch.tensor([1.0, 1.0 - (s - 1.0), 0.1])


def seam_heatmap(image: torch.Tensor, plan: TilePlan, report: dict, line_width: Optional[int] = None) -> torch.Tensor:
    """``[H, W, 3]``: the image as dimmed grey with every seam painted in its heat colour.

    Lines are ``line_width`` px wide (default: 0.4 % of the short side, at
    least 3); visible seams are drawn twice as wide.
    """
    h, w = image.shape[:2]
    grey = image[..., :3].float().mean(-1, keepdim=True)
    out = (0.15 + 0.45 * grey).expand(h, w, 3).contiguous()
    scaled = plan.for_image_size(h, w)
    lw = line_width or max(3, round(min(h, w) * 0.004))
    for seam, d in zip(scaled.seams, report["seams"]):
        half = lw if d["visible"] else max(1, lw // 2)
        lo, hi = max(seam.position - half, 0), seam.position + half
        a, b = seam.span
        colour = heat_colour(d["score"])
        if seam.axis == 1:
            out[a:b, lo:hi] = colour
        else:
            out[lo:hi, a:b] = colour
    return out


def report_json(reports: List[dict]) -> str:
    """One report per image of a batch as a JSON string (a single dict for one image)."""
    return json.dumps(reports[0] if len(reports) == 1 else reports, indent=1)


__all__ = ["seam_report", "seam_heatmap", "heat_colour", "report_json", "SeamScore", "DEFAULT_Z", "DEFAULT_DELTA_E"]
