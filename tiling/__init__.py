"""Pure tile geometry and composition (no ComfyUI imports).

plan -> split (``extract_tiles``) -> process -> merge (``compose`` or a blender).
"""

from .axis import AxisGrid, plan_axis, tile_for_count
from .compose import axis_segments, compose, plan_for_tiles
from .extract import extract_tiles
from .layout import IMAGE, LATENT, MASK, Layout
from .plan import PLAN_MODES, Seam, Tile, TilePlan, plan_by_count, plan_by_megapixels, plan_by_tile_size, plan_tiles
from .windows import DEFAULT_GAUSSIAN_SIGMA, WINDOWS, axis_weights, weight_map

__all__ = [
    "AxisGrid", "plan_axis", "tile_for_count",
    "axis_segments", "compose", "plan_for_tiles", "extract_tiles",
    "IMAGE", "LATENT", "MASK", "Layout",
    "PLAN_MODES", "Seam", "Tile", "TilePlan", "plan_by_count", "plan_by_megapixels", "plan_by_tile_size", "plan_tiles",
    "DEFAULT_GAUSSIAN_SIGMA", "WINDOWS", "axis_weights", "weight_map",
]
