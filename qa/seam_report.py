"""Seam QA: score every seam of a merged image, give each a verdict, list the worst, and paint a heatmap.

Each seam gets a verdict, ``visible``, ``possible`` or ``clean``:

* **with a reference** (the original, any size: resized to the image), the
  reference's own score at the same line is taken out (an edge of the photo
  that lies on a seam line is not the merge's fault) and the colour jump is
  measured net of the reference's: a seam is *visible* when the remaining
  step of its worst 64 px piece scores above ``z_threshold`` (a lone 1/255
  step on flat 8-bit scores about 1.2, a hard cut between tiles a few percent
  apart several units) or the remaining jump exceeds ``delta_e_threshold``
  CIEDE2000 (just noticeable is about 1-2);
* **without a reference**, the photo's own structure cannot be taken out, so
  each seam is compared with lines parallel to it inside the same tiles
  (``seam_metrics.parallel_positions``), on the values a quarter of the
  seam's pieces reach (a processing step or jump runs along the seam, a
  natural edge crossing it fills a piece or two): a measure counts only where
  it is above its threshold *and* ``POSSIBLE`` times above every parallel
  line's: then the seam is *possible* (a tile's drift, or a natural edge
  along the seam line: connect the original to tell them apart). It is *visible* when its step stands
  ``PROMINENCE`` times above every parallel line's and is one pixel sharp
  (``SHARPNESS`` times the steps beside it: the photo's own edges are
  softer), *clean* otherwise.
  With no room for parallel lines (tiny tiles) a seam above a threshold is
  *possible*.

The heatmap is drawn at preview resolution (``HEATMAP_SIDE``): a report
costs what its seams' strips cost, not the image.
"""

from __future__ import annotations

import json
from typing import List, Optional

import torch

from ..imaging.resample import resize_image
from ..tiling.plan import TilePlan
from .seam_metrics import SeamScore, score_line, seam_scores

DEFAULT_Z = 3.0
DEFAULT_DELTA_E = 2.0
PROMINENCE = 2.0  # without a reference: how many times a seam's step must exceed every parallel line's to be "visible"
SHARPNESS = 2.0  # ... and how many times the steps one and two columns off the seam line
POSSIBLE = 1.5  # how many times a step or jump must exceed every parallel line's for a "possible" seam
HEATMAP_SIDE = 2048  # longest side of the heatmap preview
VERDICTS = ("visible", "possible", "clean")


def _verdict_without_reference(sc: SeamScore, z_threshold: float, delta_e_threshold: float) -> str:
    """``visible``: a step that stands out of every parallel line and is one pixel sharp (a photo's own edges are
    softer: optics, demosaicing); ``possible``: a step or colour jump above its threshold and above every parallel
    line (a tile's drift, or the photo's own edge along the seam line); else ``clean``."""
    verdict = "clean"
    for value, threshold, others in ((sc.steady_z, z_threshold, [p.steady_z for p in sc.parallel]),
                                     (sc.steady_delta_e, delta_e_threshold, [p.steady_delta_e for p in sc.parallel])):
        if value > threshold and value > POSSIBLE * max(others, default=0.0):
            verdict = "possible"
    others = [p.steady_z for p in sc.parallel]
    if (sc.steady_z > z_threshold and others and sc.steady_z > PROMINENCE * max(others)
            and sc.sharpness > SHARPNESS):
        return "visible"
    return verdict


def seam_report(image: torch.Tensor, plan: TilePlan, *, reference: Optional[torch.Tensor] = None, z_threshold: float = DEFAULT_Z,
                delta_e_threshold: float = DEFAULT_DELTA_E, worst: int = 5, progress=None) -> dict:
    """The report for ``image`` ``[H, W, C]`` (RGB(A) in [0, 1]) merged with ``plan`` (scaled to the image's size).

    ``reference``: ``[h, w, C]`` of the same picture, any size (resized to the image).
    Returns a JSON-ready dict: ``seams`` (one dict per seam of the plan:
    index, axis, position, span, z, segment_z, delta_e, the parallel lines'
    highest scores, reference_z, excess_z, score, verdict, visible), ``worst``
    (indices, worst first), counts, thresholds and a ``summary`` in words.
    """
    if reference is not None and reference.shape[:2] != image.shape[:2]:
        reference = resize_image(reference[None], image.shape[0], image.shape[1])[0]
    scores = seam_scores(image, plan, reference=reference, parallel=reference is None, progress=progress)
    scaled = plan.for_image_size(image.shape[0], image.shape[1])
    seams = []
    for sc, seam in zip(scores, scaled.seams):
        d = sc.to_dict()
        if reference is not None:
            ref = reference if seam.axis == 1 else reference.transpose(0, 1)
            ref_z = score_line(ref, seam.span, seam.position, seam.position - seam.overlap[0], seam.overlap[1] - seam.position).segment_z
            excess = max(0.0, abs(sc.segment_z) - abs(ref_z))
            verdict = "visible" if excess > z_threshold or sc.delta_e > delta_e_threshold else "clean"
        else:
            ref_z, excess = None, sc.steady_z
            verdict = _verdict_without_reference(sc, z_threshold, delta_e_threshold)
        jump = sc.delta_e if reference is not None else sc.steady_delta_e
        d.update(reference_z=ref_z, excess_z=excess, score=max(excess / z_threshold, jump / delta_e_threshold),
                 verdict=verdict, visible=verdict == "visible")
        seams.append(d)
    order = sorted(range(len(seams)), key=lambda i: (VERDICTS.index(seams[i]["verdict"]), -seams[i]["score"]))[: max(0, worst)]
    counts = {v: sum(s["verdict"] == v for s in seams) for v in VERDICTS}
    return {
        "width": int(image.shape[1]), "height": int(image.shape[0]), "reference": reference is not None,
        "z_threshold": z_threshold, "delta_e_threshold": delta_e_threshold,
        "seam_count": len(seams), "visible_count": counts["visible"], "possible_count": counts["possible"],
        "worst": order, "seams": seams,
        "summary": _summary(seams, order, counts, reference is not None, z_threshold, delta_e_threshold),
    }


def _summary(seams: List[dict], order: List[int], counts: dict, with_reference: bool, z_threshold: float,
             delta_e_threshold: float) -> str:
    if with_reference:
        head = (f"{len(seams)} seams: {counts['visible']} visible (step z > {z_threshold:g} or ΔE00 > {delta_e_threshold:g} "
                "beyond the original's own).")
    else:
        head = (f"{len(seams)} seams: {counts['visible']} visible, {counts['possible']} possible. No reference connected: "
                "each seam is compared with parallel lines inside its tiles; a natural edge along a seam line shows as "
                "'possible' (connect the original to tell).")
    lines = [head]
    for i in order:
        s = seams[i]
        kind = "vertical" if s["axis"] == 1 else "horizontal"
        lines.append(f"  seam {i}: {kind} at {s['position']} px, span {s['span'][0]}-{s['span'][1]}: "
                     f"z {s['segment_z']:+.2f}" + (f" (original {s['reference_z']:+.2f})" if with_reference else "")
                     + f", ΔE00 {s['delta_e']:.2f}"
                     + (f"; along the seam z {s['steady_z']:.2f}, ΔE00 {s['steady_delta_e']:.2f} against parallel lines' "
                        f"{s['parallel_steady_z']:.2f}, {s['parallel_steady_delta_e']:.2f}" if not with_reference and s["parallel_lines"] else "")
                     + {"visible": "  VISIBLE", "possible": "  possible", "clean": ""}[s["verdict"]])
    return "\n".join(lines)


def heat_colour(score: float, verdict: str = "clean") -> torch.Tensor:
    """Green (0) -> yellow (1 = at the threshold) -> red (2 and above), RGB in [0, 1]; a ``possible`` seam is orange at most."""
    s = max(0.0, min(2.0, float(score)))
    if verdict == "possible":
        s = min(s, 1.5)
    elif verdict == "clean":
        s = min(s, 0.9)
    if s <= 1.0:
        return torch.tensor([s, 0.8 + 0.2 * s, 0.1])
    return torch.tensor([1.0, 1.0 - (s - 1.0), 0.1])


def seam_heatmap(image: torch.Tensor, plan: TilePlan, report: dict, max_side: int = HEATMAP_SIDE) -> torch.Tensor:
    """``[h, w, 3]`` preview (longest side at most ``max_side``): the image as dimmed grey, every seam in its heat colour.

    Lines are 0.4 % of the preview's short side (at least 3 px); visible seams twice as wide.
    """
    h, w = image.shape[:2]
    s = min(1.0, max_side / max(h, w))
    ph, pw = max(1, round(h * s)), max(1, round(w * s))
    small = resize_image(image[None, ..., :3].float(), ph, pw, "area")[0]
    out = (0.15 + 0.45 * small.mean(-1, keepdim=True)).expand(ph, pw, 3).contiguous()
    scaled = plan.for_image_size(h, w)
    lw = max(3, round(min(ph, pw) * 0.004))
    for seam, d in zip(scaled.seams, report["seams"]):
        half = lw if d["visible"] else max(1, lw // 2)
        pos = round(seam.position * s)
        lo, hi = max(pos - half, 0), pos + half
        a, b = round(seam.span[0] * s), round(seam.span[1] * s)
        colour = heat_colour(d["score"], d["verdict"])
        if seam.axis == 1:
            out[a:b, lo:hi] = colour
        else:
            out[lo:hi, a:b] = colour
    return out


def report_json(reports: List[dict]) -> str:
    """One report per image of a batch as a JSON string (a single dict for one image)."""
    return json.dumps(reports[0] if len(reports) == 1 else reports, indent=1)


__all__ = ["seam_report", "seam_heatmap", "heat_colour", "report_json", "SeamScore", "DEFAULT_Z", "DEFAULT_DELTA_E", "VERDICTS"]
