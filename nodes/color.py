"""Per-tile colour correction against the global context."""

from __future__ import annotations

from ..blenders.color_transfer import METHODS, correct_tiles, tile_drift
from ..blenders.global_context import GlobalContext
from .common import CATEGORY, TILE_PLAN, check_finite, check_image, progress_hook
from .context import GLOBAL_CONTEXT
from .tiles import check_plan

METHOD_TOOLTIP = (
    "joint_gain: one least-squares solve over all tiles for a gain and offset per tile and channel (RGB): "
    "neighbours agree in their overlaps, every tile's low frequencies match the reference; no chained drift "
    "(best for exposure / white-balance drift). joint_gain_lab: the same in CIELAB. reinhard_lab: match each "
    "tile's Lab mean and spread to the reference crop. wavelet_lowfreq: keep the tile's detail, take its low "
    "frequencies from the reference (removes any low-frequency drift, slowest)."
)


class TileColorCorrect:
    DESCRIPTION = (
        "Remove colour and exposure drift between independently processed tiles before merging, using the global "
        "context of the whole image. Alpha and extra channels are left untouched."
    )
    CATEGORY = CATEGORY
    FUNCTION = "correct"
    RETURN_TYPES = ("IMAGE", "STRING")
    RETURN_NAMES = ("tiles", "report")
    OUTPUT_TOOLTIPS = (
        "The corrected tiles, same order and size; connect to a Tile Merge node.",
        "Drift of the tiles' low frequencies from the reference (mean CIEDE2000) before and after.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "tiles": ("IMAGE", {"tooltip": "The processed tiles (any scale) in Tile Split order."}),
                "plan": (TILE_PLAN, {"tooltip": "The plan from the Tile Split node that cut the tiles."}),
                "context": (GLOBAL_CONTEXT, {"tooltip": "Global Context Encode of the same image that was split."}),
                "method": (list(METHODS), {"default": "joint_gain", "tooltip": METHOD_TOOLTIP}),
                "strength": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.05, "tooltip": "0 leaves the tiles alone, 1 applies the full correction."}),
            },
        }

    def correct(self, tiles, plan, context, method, strength):
        plan = check_plan(plan)
        tiles = check_image(tiles, "tiles")
        check_finite(tiles, "tiles", per="tile")
        if not isinstance(context, GlobalContext):
            raise ValueError(f"context must be a GLOBAL_CONTEXT from Global Context Encode, got {type(context).__name__}")
        plan = context.plan_in_source_pixels(plan)
        before = tile_drift(tiles, plan, context)
        out = correct_tiles(tiles, plan, context, method, strength, progress=progress_hook(tiles.shape[0]))
        after = tile_drift(out, plan, context)
        report = (f"{method}, strength {strength:g}: drift from the reference (mean CIEDE2000 of low frequencies) "
                  f"{float(before.mean()):.2f} -> {float(after.mean()):.2f}, worst tile "
                  f"{float(before.max()):.2f} -> {float(after.max()):.2f}")
        return (out, report)


NODE_CLASS_MAPPINGS = {"TileStitchColorCorrect": TileColorCorrect}
NODE_DISPLAY_NAME_MAPPINGS = {"TileStitchColorCorrect": "Tile Color Correct"}
