"""Nodes of ``qa/``: solar-curve preview and the seam report (heatmap, JSON, worst seams)."""

from __future__ import annotations

from typing import Optional, Tuple

import torch

from ..qa.seam_report import DEFAULT_DELTA_E, DEFAULT_Z, report_json, seam_heatmap, seam_report
from ..qa.solar import SHAPES, solarize
from ..tiling.plan import TilePlan
from .common import TILE_PLAN, category, check_finite, check_image, check_plan, progress_hook


class SolarPreview:
    DESCRIPTION = (
        "Solar-curve preview: fold the lightness (L*) many times so smooth gradients turn into contour bands and "
        "any 1/255 step, seam or banding breaks them visibly. Applied to L* only (no false colour)."
    )
    CATEGORY = category("qa")
    FUNCTION = "preview"
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("preview", "solar_channel")
    OUTPUT_TOOLTIPS = (
        "The preview: curved lightness as grey, or with the original colour (keep_colour); alpha kept.",
        "The curved lightness alone, 0-1, as a mask-like channel: an extra input for segmentation on white-on-white edges.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "image": ("IMAGE", {"tooltip": "The image to inspect (RGB or RGBA, 0-1)."}),
            "shape": (list(SHAPES), {"default": "sine", "tooltip": (
                "sine: y = 1/2 - 1/2 cos(pi m x), smooth folds. triangle: straight segments, the same amplification "
                "everywhere (slope m), sharp folds.")}),
            "cycles": ("INT", {"default": 8, "min": 0, "max": 64, "tooltip": (
                "How often the curve goes up and down: m = 2 x cycles + 1 half-periods (odd, so black stays black and "
                "white stays white). More cycles amplify smaller steps (a sine multiplies a step by up to 1.57 m).")}),
            "keep_colour": ("BOOLEAN", {"default": False, "tooltip": "Keep the image's a*/b* colour on the curved lightness (off: neutral grey)."}),
        }}

    def preview(self, image: torch.Tensor, shape: str, cycles: int, keep_colour: bool) -> Tuple[torch.Tensor, torch.Tensor]:
        image = check_image(image, "image")
        check_finite(image, "image")
        return solarize(image, shape, cycles, keep_colour, progress=progress_hook(image.shape[0]))


class SeamReport:
    DESCRIPTION = (
        "Measure every seam of a merged image: the step across the cut (profile z-score) and the colour jump either "
        "side (CIEDE2000), and call each seam visible, possible or clean. Connect the original as reference: its own "
        "edges and colours are taken out. Without it, each seam is compared with parallel lines inside its tiles and "
        "only a sharp step that stands out of them is called visible (a natural edge along a seam line is 'possible'). "
        "Paints a heatmap preview, lists the worst seams on the node and returns the full report as JSON."
    )
    CATEGORY = category("qa")
    FUNCTION = "report"
    OUTPUT_NODE = True
    RETURN_TYPES = ("IMAGE", "STRING", "STRING", "INT")
    RETURN_NAMES = ("heatmap", "report_json", "summary", "visible_seams")
    OUTPUT_TOOLTIPS = (
        "A preview (longest side 2048 px) dimmed to grey with each seam in its colour: green clean, orange possible, red visible.",
        "Per seam: position, span, z, worst-piece and steady z, ΔE00, the reference's own z or the parallel lines' scores, "
        "and the verdict (JSON).",
        "The count of visible seams and the worst ones, as text.",
        "How many seams are visible (0 = the merge passes).",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The merged image (any scale of the plan's source, e.g. after x4)."}),
                "plan": (TILE_PLAN, {"tooltip": "The plan the image was merged with; tells where the seams are."}),
                "z_threshold": ("FLOAT", {"default": DEFAULT_Z, "min": 0.1, "max": 100.0, "step": 0.1, "tooltip": (
                    "A seam is visible when its worst 64 px piece steps by more than this many robust standard "
                    "deviations of the nearby pixel steps (a lone 1/255 step on flat 8-bit scores about 1.2).")}),
                "delta_e_threshold": ("FLOAT", {"default": DEFAULT_DELTA_E, "min": 0.1, "max": 100.0, "step": 0.1, "tooltip": (
                    "A seam is visible when the colour jump between the strips either side exceeds this CIEDE2000 "
                    "(1-2 is just noticeable).")}),
                "worst_count": ("INT", {"default": 5, "min": 0, "max": 1000, "tooltip": "How many of the worst seams to list in the summary."}),
            },
            "optional": {
                "reference": ("IMAGE", {"tooltip": (
                    "The original (resized to the image when its size differs): its own structure on the seam lines "
                    "is taken out, so a natural edge there is not blamed on the merge.")}),
            },
        }

    def report(self, image: torch.Tensor, plan: TilePlan, z_threshold: float, delta_e_threshold: float, worst_count: int,
               reference: Optional[torch.Tensor] = None) -> dict:
        image = check_image(image, "image")
        check_finite(image, "image")
        plan = check_plan(plan)
        if image.shape[-1] < 3:
            raise ValueError(f"image must have 3 or 4 channels (RGB/RGBA) for a seam report, got {image.shape[-1]}")
        if reference is not None:
            reference = check_image(reference, "reference")
            if reference.shape[-1] < 3:
                raise ValueError("reference must be RGB or RGBA")
            if reference.shape[0] not in (1, image.shape[0]):
                raise ValueError(f"reference has {reference.shape[0]} images for {image.shape[0]}; give one or one per image")
            check_finite(reference, "reference")
        reports, maps = [], []
        for i in range(image.shape[0]):
            ref = None if reference is None else reference[min(i, reference.shape[0] - 1)]
            rep = seam_report(image[i], plan, reference=ref, z_threshold=z_threshold, delta_e_threshold=delta_e_threshold,
                              worst=worst_count, progress=progress_hook(len(plan.seams)))
            reports.append(rep)
            maps.append(seam_heatmap(image[i], plan, rep))
        heatmap = torch.stack(maps)
        summary = "\n".join(r["summary"] for r in reports)
        visible = sum(r["visible_count"] for r in reports)
        ui = {"text": [summary], "tilestitch_seams": [{
            "width": r["width"], "height": r["height"], "plan": plan.to_dict(),
            "seams": [{k: s[k] for k in ("axis", "position", "span", "score", "visible", "verdict")} for s in r["seams"]],
        } for r in reports]}
        return {"ui": ui, "result": (heatmap, report_json(reports), summary, visible)}


NODE_CLASS_MAPPINGS = {"TileStitchSolarPreview": SolarPreview, "TileStitchSeamReport": SeamReport}
NODE_DISPLAY_NAME_MAPPINGS = {"TileStitchSolarPreview": "Solar Curve Preview", "TileStitchSeamReport": "Seam Report"}
