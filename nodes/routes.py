"""HTTP routes for the front-end extension (``js/tilestitch.js``): the tile grid a split node will use.

``GET /tilestitch/plan?height=&width=&mode=&tile_width=&tile_height=&overlap=&rows=&cols=&max_megapixels=&align=``
answers the plan as JSON (``TilePlan.to_dict`` plus ``seams`` and ``summary``),
or ``{"error": message}`` with status 400. The browser asks the same planner
the nodes use, so the overlay can never disagree with what will run.

Every value is checked against the node widgets' own limits and the tile
count is bounded before any planning (a request answers 400 in well under a
millisecond, whatever it asks for); the planning itself runs in a worker
thread, so the server's event loop never waits on it.
"""

from __future__ import annotations

import math
from typing import Dict, Mapping, Union

from ..tiling import PLAN_MODES, plan_tiles
from .common import plan_inputs

MAX_IMAGE_SIDE = 65536  # px; a 65536 px square RGB float image is 51 GB
MAX_TILES = 16384  # tiles per image in one plan (15 000 px in 128 px tiles is 14 000)
INT_FIELDS = ("height", "width", "tile_width", "tile_height", "overlap", "rows", "cols", "align")
Number = Union[int, float]


def _limits() -> Dict[str, tuple]:
    """``name -> (min, max)`` of every numeric query field: the split widgets' own ranges."""
    widgets = plan_inputs()
    limits = {k: (opts["min"], opts["max"]) for k, (_, opts) in widgets.items() if "min" in opts}
    limits["height"] = limits["width"] = (1, MAX_IMAGE_SIDE)
    return limits


LIMITS = _limits()


def _number(query: Mapping[str, str], name: str, kind) -> Number:
    text = query[name]
    if len(text) > 32:
        raise ValueError(f"{name} is not a number")
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {text[:32]!r}") from None
    lo, hi = LIMITS[name]
    if not (isinstance(value, int) or math.isfinite(value)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}, got {text}")
    return value


def _estimated_tiles(h: int, w: int, mode: str, args: dict) -> float:
    """An upper bound of the plan's tile count, before planning (tile steps of at least a pixel)."""
    if mode == "grid":
        return args.get("rows", 2) * args.get("cols", 2)
    if mode == "megapixels":
        side = math.sqrt(args.get("max_megapixels", 1.0) * 1e6)
        th = tw = side
    else:
        th, tw = args.get("tile_height", 1024), args.get("tile_width", 1024)
    overlap = args.get("overlap", 128)
    step_y, step_x = max(1.0, min(th, h) - overlap), max(1.0, min(tw, w) - overlap)
    return (1 + max(0.0, h - th) / step_y) * (1 + max(0.0, w - tw) / step_x)


def check_query(query: Mapping[str, str]) -> dict:
    """The planner's arguments from a query mapping (strings, as in a URL); ValueError on anything out of range."""
    unknown = sorted(set(query) - set(INT_FIELDS) - {"max_megapixels", "mode", "shrink_tiles"})
    if unknown:
        raise ValueError(f"unknown query field {unknown[0][:32]!r}")
    if "height" not in query or "width" not in query:
        raise ValueError("height and width are required")
    args = {k: _number(query, k, int) for k in INT_FIELDS if k in query}
    if "max_megapixels" in query:
        args["max_megapixels"] = _number(query, "max_megapixels", float)
    mode = query.get("mode", "tile_size")
    if mode not in PLAN_MODES:
        raise ValueError(f"mode must be one of {', '.join(PLAN_MODES)}")
    h, w = args["height"], args["width"]
    if _estimated_tiles(h, w, mode, args) > MAX_TILES:
        raise ValueError(f"that grid has more than {MAX_TILES} tiles; use larger tiles or a smaller overlap")
    shrink = query.get("shrink_tiles", "false").lower()
    if shrink not in ("true", "false"):
        raise ValueError("shrink_tiles must be true or false")
    return {**args, "mode": mode, "shrink": shrink == "true"}


def plan_preview(query: Mapping[str, str]) -> dict:
    """The overlay's plan for a query mapping; raises ValueError on bad input."""
    args = check_query(query)
    h, w = args.pop("height"), args.pop("width")
    plan = plan_tiles(h, w, **args)
    if plan.count > MAX_TILES:
        raise ValueError(f"that grid has {plan.count} tiles, more than {MAX_TILES}; use larger tiles or a smaller overlap")
    out = plan.to_dict()
    out["seams"] = [{"axis": s.axis, "position": s.position, "span": list(s.span), "overlap": list(s.overlap)} for s in plan.seams]
    out["summary"] = plan.describe()
    out["coverage"] = plan.coverage
    return out


def register() -> bool:
    """Add the routes to ComfyUI's server when it is running; False outside ComfyUI."""
    try:
        from aiohttp import web
        from server import PromptServer
    except ImportError:
        return False
    if getattr(PromptServer, "instance", None) is None:
        return False
    import asyncio

    @PromptServer.instance.routes.get("/tilestitch/plan")
    async def _plan(request):
        query = dict(request.rel_url.query)
        try:
            check_query(query)  # cheap: refuses out-of-range requests at once, on the loop
            answer = await asyncio.get_running_loop().run_in_executor(None, plan_preview, query)
            return web.json_response(answer)
        except (ValueError, TypeError) as e:
            return web.json_response({"error": str(e)}, status=400)

    return True
