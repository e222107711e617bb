"""HTTP routes for the front-end extension (``js/tilestitch.js``): the tile grid a split node will use.

``GET /tilestitch/plan?height=&width=&mode=&tile_width=&tile_height=&overlap=&rows=&cols=&max_megapixels=&align=``
answers the plan as JSON (``TilePlan.to_dict`` plus ``seams`` and ``summary``),
or ``{"error": message}`` with status 400. The browser asks the same planner
the nodes use, so the overlay can never disagree with what will run.
"""

from __future__ import annotations

import logging

from ..tiling import plan_tiles

log = logging.getLogger("tilestitch")

INT_FIELDS = ("height", "width", "tile_width", "tile_height", "overlap", "rows", "cols", "align")


def plan_preview(query) -> dict:
    """The overlay's plan for a query mapping (strings, as in a URL); raises ValueError on bad input."""
    try:
        args = {k: int(query[k]) for k in INT_FIELDS if k in query}
        if "max_megapixels" in query:
            args["max_megapixels"] = float(query["max_megapixels"])
    except ValueError as e:
        raise ValueError(f"bad number in query: {e}") from None
    if "height" not in args or "width" not in args:
        raise ValueError("height and width are required")
    h, w = args.pop("height"), args.pop("width")
    plan = plan_tiles(h, w, mode=query.get("mode", "tile_size"), **args)
    out = plan.to_dict()
    out["seams"] = [{"axis": s.axis, "position": s.position, "span": list(s.span), "overlap": list(s.overlap)} for s in plan.seams]
    out["summary"] = plan.describe()
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

    @PromptServer.instance.routes.get("/tilestitch/plan")
    async def _plan(request):
        try:
            return web.json_response(plan_preview(request.rel_url.query))
        except (ValueError, TypeError) as e:
            return web.json_response({"error": str(e)}, status=400)

    return True
