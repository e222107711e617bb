"""Nodes of ``tiling/loop.py``: Tile Loop Start / End, a loop over tiles whose body is any subgraph, by graph expansion."""

from __future__ import annotations

import json
import math
from typing import Dict, List, Optional

import torch

from ..tiling.loop import ORDERS, TileLoop, join_prompt_list, parse_prompts, start_loop
from ..tiling.plan import TilePlan
from ..tiling.seam_tiles import SeamTilePlan, seam_loop_grid
from .common import TILE_PLAN, category, check_clip, check_finite, check_image, check_plan, progress_hook
from .seam_tiles import SEAM_TILE_PLAN

TILE_LOOP = "TILE_LOOP"
EMPTY_TILE = 64  # px: the tile an empty loop hands its body once (the graph as drawn runs the body at least once)


def chunk_size(tiles: int) -> int:
    """Body copies per graph expansion for a loop over ``tiles`` tiles.

    ComfyUI nests every expansion under the node that made it, and its progress messages resolve that nesting for every
    node run so far: one copy per expansion makes the loop's own cost grow with the cube of the tile count (961 tiles:
    228 ms per tile). Copies within a chunk are chained (each Start waits for the previous End), and ComfyUI's cache
    signature walks that chain, so long chunks cost too (a 256-copy chunk: 172 ms per tile). About sqrt(tiles) / 2 is the
    measured optimum (benchmarks/bench_tile_loop.py: 121 tiles 10.5 ms, 961 tiles 39 ms per tile)."""
    return min(32, max(4, round(math.sqrt(tiles) / 2)))


class TileLoopStart:
    DESCRIPTION = (
        "Open a loop over the tiles of a plan: wire any nodes between this and Tile Loop End (an img2img sampler, a "
        "FLUX Kontext edit, an inpainting model, a filter). Tiles are processed one after the other; each is cut from "
        "the current canvas, so its overlap already holds its finished neighbours' processed pixels and the model "
        "continues them. Every tile also gets its own prompt line. Runs inside one prompt (ComfyUI's graph "
        "expansion), headless too."
    )
    CATEGORY = category("tiles")
    FUNCTION = "start"
    RETURN_TYPES = (TILE_LOOP, "IMAGE", "MASK", "INT", "STRING", "STRING")
    RETURN_NAMES = ("loop", "tile", "pending_mask", "index", "prompt", "box")
    OUTPUT_TOOLTIPS = (
        "Connect to Tile Loop End's loop input.",
        "The current tile, cut from the canvas as it is now (finished neighbours' pixels in its overlap).",
        "Where the tile is to be drawn: 1 wherever no finished tile lies, 0 inside finished tiles, a ramp across the "
        "band on their side of the edge (for inpainting models and Set Latent Noise Mask; the paste uses the same mask).",
        "The tile's index in plan order (row by row).",
        "The tile's prompt: its line of prompts, or base_prompt.",
        "The tile's box as JSON {x, y, width, height} in image pixels.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE", {"tooltip": "The image to process tile by tile."}),
                "plan": (TILE_PLAN, {"tooltip": "The tile plan (e.g. Tile Split's plan output for this image)."}),
                "order": (list(ORDERS), {"default": "serpentine", "tooltip": (
                    "raster: row by row. serpentine: rows alternating direction (each tile follows a neighbour). "
                    "centre_out: from the centre. chess: every other tile first, then the ones between (which see "
                    "finished neighbours on every side).")}),
                "band": ("INT", {"default": 32, "min": 0, "max": 4096, "tooltip": (
                    "Width (px) of the cross-fade from finished pixels to the new tile's, on the finished side of their "
                    "edge (pixels no finished tile covers always take the new tile whole). 0: a hard edge.")}),
                "keep_finished": ("BOOLEAN", {"default": False, "tooltip": (
                    "On: finished pixels never change (a hard edge: band is not used; the model still sees them as "
                    "context). Off: they change only inside the band.")}),
                "base_prompt": ("STRING", {"default": "", "multiline": False, "tooltip": "The prompt of every tile whose line is empty; {base} in a line inserts it."}),
                "prompts": ("STRING", {"default": "", "multiline": True, "tooltip": (
                    "One line per tile, in plan order (row by row); an empty or missing line gives base_prompt.")}),
            },
            "optional": {
                "loop": (TILE_LOOP, {"tooltip": "Leave unconnected: the loop sets it for the next tile."}),
            },
            "hidden": {"unique_id": "UNIQUE_ID"},
        }

    @classmethod
    def IS_CHANGED(cls, **kwargs):
        # never reuse a cached start: its loop state is consumed (and its canvas drawn on) by the run that made it
        return float("nan")

    def start(self, image: torch.Tensor, plan: TilePlan, order: str, band: int, keep_finished: bool, base_prompt: str,
              prompts: str, loop: Optional[TileLoop] = None, unique_id: Optional[str] = None):
        if loop is None:
            image = check_image(image, "image")
            check_finite(image, "image")
            plan = check_plan(plan).for_image_size(image.shape[1], image.shape[2], "image")
            loop = start_loop(image, plan, order, parse_prompts(prompts, plan.count, base_prompt), band, keep_finished)
        return _hand_out(loop, unique_id)


def _hand_out(loop: TileLoop, unique_id: Optional[str]):
    """Start's outputs for the loop's current tile (an empty loop: a small corner tile with nothing pending, which End
    ignores)."""
    if not isinstance(loop, TileLoop):
        raise ValueError(f"loop must come from Tile Loop End's expansion (leave it unconnected), got {type(loop).__name__}")
    loop.start_id = unique_id
    if loop.done:
        tile = loop.canvas[:, :EMPTY_TILE, :EMPTY_TILE].clone()
        return (loop, tile, torch.zeros(tile.shape[:3]), -1, "", "{}")
    t = loop.plan.tiles[loop.current]
    box = json.dumps({"x": t.x, "y": t.y, "width": t.width, "height": t.height})
    tile, pending = loop.tile(), loop.pending()[None].expand(loop.canvas.shape[0], -1, -1).clone()
    loop.handed_out = [tile, pending]
    return (loop, tile, pending, t.index, loop.prompts[t.index], box)


class SeamLoopStart:
    DESCRIPTION = (
        "Open a loop over the seam tiles of a Seam Tiles plan: like Tile Loop Start, but the tiles sit on the seams of "
        "a merged image and only their seam zone changes. Each seam tile is cut from the current canvas, so it shows "
        "the seams redrawn so far; the pending mask is the zone still to draw (the noise mask for a sampler). Close "
        "it with Tile Loop End; every pixel outside the zones stays bit-identical."
    )
    CATEGORY = category("tiles")
    FUNCTION = "start"
    RETURN_TYPES = TileLoopStart.RETURN_TYPES
    RETURN_NAMES = TileLoopStart.RETURN_NAMES
    OUTPUT_TOOLTIPS = (
        "Connect to Tile Loop End's loop input.",
        "The current seam tile, cut from the canvas as it is now (seams redrawn so far included).",
        "What the seam tile may change and is still to draw: its seam zone, less the zones finished seam tiles "
        "redrew (a ramp across the band on their side). For Set Latent Noise Mask; the paste uses the same mask.",
        "The seam tile's index in the seam plan.",
        "The seam tile's prompt: its line of prompts, or base_prompt.",
        "The seam tile's box as JSON {x, y, width, height} in image pixels.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        spec = TileLoopStart.INPUT_TYPES()  # the same widgets, optional loop and hidden id; a seam plan for the plan
        same = spec["required"]
        return {**spec, "required": {
            "image": ("IMAGE", {"tooltip": "The merged image the seam plan was made for."}),
            "seam_plan": (SEAM_TILE_PLAN, {"tooltip": (
                "From Seam Tiles (its tiles output can stay unconnected). A one-tile plan has no seams: the loop then "
                "passes the image through.")}),
            **{k: same[k] for k in ("order", "band", "keep_finished", "base_prompt")},
            "prompts": ("STRING", {"default": "", "multiline": True, "tooltip": (
                "One line per seam tile, in the seam plan's order; an empty or missing line gives base_prompt.")}),
        }}

    IS_CHANGED = TileLoopStart.IS_CHANGED

    def start(self, image: torch.Tensor, seam_plan: Optional[SeamTilePlan], order: str, band: int, keep_finished: bool,
              base_prompt: str, prompts: str, loop: Optional[TileLoop] = None, unique_id: Optional[str] = None):
        if loop is None:
            image = check_image(image, "image")
            check_finite(image, "image")
            if seam_plan is not None and not isinstance(seam_plan, SeamTilePlan):
                raise ValueError(f"seam_plan must be a SEAM_TILE_PLAN from Seam Tiles, got {type(seam_plan).__name__}")
            if seam_plan is None:  # a one-tile plan: nothing to redraw, the image passes through
                grid = seam_loop_grid(SeamTilePlan(image.shape[1], image.shape[2], 1, 1, (), (), (), 2, 0, "bands"))
            else:
                if (image.shape[1], image.shape[2]) != (seam_plan.height, seam_plan.width):
                    raise ValueError(f"image is {image.shape[2]} x {image.shape[1]} px but the seam plan is for "
                                     f"{seam_plan.width} x {seam_plan.height}: connect the image Seam Tiles cut from")
                grid = seam_loop_grid(seam_plan)
            lines = parse_prompts(prompts, grid.count, base_prompt) if grid.count else []
            loop = start_loop(image, grid, order, lines, band, keep_finished, grid.zone)
        return _hand_out(loop, unique_id)


class TileLoopEnd:
    DESCRIPTION = (
        "Close a tile loop: paste the processed tile into the canvas (by the pending mask: finished pixels change only "
        "inside the band) and run the body again for the next tile; after the last tile, output the image. Progress "
        "shows tile k of n; Cancel stops between tiles."
    )
    CATEGORY = category("tiles")
    FUNCTION = "end"
    RETURN_TYPES = ("IMAGE", TILE_LOOP)
    RETURN_NAMES = ("image", "loop")
    OUTPUT_TOOLTIPS = ("The image with every tile processed (at the body's scale).",
                       "The loop's state, which chains the loop's own copies of the body; leave it unconnected.")

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "loop": (TILE_LOOP, {"tooltip": "From Tile Loop Start."}),
                "tile": ("IMAGE", {"tooltip": (
                    "The processed tile, at the tile's size or a whole multiple of it (an upscaler in the body): then the "
                    "result is at that scale, and the next tiles' context is the canvas resampled back to input scale. "
                    "From the second tile on its memory is freed once pasted (ComfyUI would keep every tile until the "
                    "prompt ends); an image wired in from outside the loop is kept.")}),
            },
            "hidden": {"dynprompt": "DYNPROMPT", "unique_id": "UNIQUE_ID"},
        }

    def end(self, loop: TileLoop, tile: torch.Tensor, dynprompt=None, unique_id: Optional[str] = None):
        if not isinstance(loop, TileLoop):
            raise ValueError(f"loop must come from Tile Loop Start, got {type(loop).__name__}")
        tile = check_image(tile, "tile")
        check_finite(tile, "tile")
        if tile.shape[0] != loop.canvas.shape[0] or tile.shape[-1] != loop.canvas.shape[-1]:
            raise ValueError(f"tile is {tuple(tile.shape)}; the loop's tiles are [{loop.canvas.shape[0]}, h, w, "
                             f"{loop.canvas.shape[-1]}]: give the processed tile back with the same batch and channels")
        if loop.done:  # an empty loop (a seam plan without seams): the image passes through
            return (loop.result, loop)
        loop.paste(tile)
        hook = progress_hook(len(loop.order))
        if hook is not None:
            hook(loop.step, len(loop.order))  # raises when Cancel was pressed: the loop stops between tiles
        if loop.done or dynprompt is None or loop.step < loop.chunk_stop:
            # finished; or called outside ComfyUI's executor (one tile per call); or a copy inside a chunk, whose loop
            # output the next copy's Start takes
            result = (loop.result, loop)
        else:
            result = _expand_next(loop, dynprompt, unique_id)
        if dynprompt is not None and dynprompt.get_parent_node_id(unique_id) is not None:
            # last: an error report before it may still print these tensors. The processed tile is freed only when a
            # copy of the body made it (an image wired in from outside the loop is the same tensor every iteration)
            source = dynprompt.get_node(unique_id).get("inputs", {}).get("tile")
            made_in_loop = isinstance(source, list) and dynprompt.get_parent_node_id(source[0]) is not None
            _release(loop, tile if made_in_loop else None)
        return result


def _release(loop: TileLoop, processed: Optional[torch.Tensor]) -> None:
    """Free the memory of a pasted iteration's tiles: what Start handed the body and the processed tile End was given.

    Only in the loop's own copies of the body (ComfyUI's graph expansion), whose nodes all lie on a path to this End and
    have run: nothing reads those tensors again, but ComfyUI's cache would keep them until the prompt ends (one 1024 px
    tile is 12.6 MB; a copy holds three tile-sized tensors). The first iteration (the graph as drawn, where other nodes
    may read them) keeps its tensors. A tensor that shares memory with the loop's own images (canvas, output, a seam
    loop's source) or is a view into a larger tensor (a body that crops an image from outside the loop) is kept.
    """
    own = {x.untyped_storage().data_ptr() for x in (loop.canvas, loop.output, loop.source) if x is not None}
    handed, loop.handed_out = [*loop.handed_out, *([] if processed is None else [processed])], []
    for t in handed:
        storage = t.untyped_storage()
        whole = t.storage_offset() == 0 and storage.nbytes() == t.numel() * t.element_size()
        if whole and storage.data_ptr() not in own and storage.nbytes() > 0:
            try:
                storage.resize_(0)
            except RuntimeError:  # memory torch does not own (e.g. numpy's): left as it is
                pass


def _ancestors(node_id: str, dynprompt, children: Dict[str, List[str]]) -> None:
    """Fill ``children[parent] = [child, ...]`` for every ancestor of ``node_id``."""
    from comfy_execution.graph_utils import is_link

    stack = [node_id]
    seen = set()
    while stack:
        nid = stack.pop()
        if nid in seen:
            continue
        seen.add(nid)
        for v in dynprompt.get_node(nid).get("inputs", {}).values():
            if is_link(v):
                children.setdefault(v[0], []).append(nid)
                stack.append(v[0])


def _expand_next(loop: TileLoop, dynprompt, end_id: str):
    """The body between Start and End again for the next tiles, by graph expansion: ``chunk_size`` copies of every node on a
    path Start -> End, each copy's Start taking the loop from the previous copy's End (the first copy's, the loop
    itself), the last copy's End expanding again."""
    from comfy_execution.graph_utils import GraphBuilder, is_link

    children: Dict[str, List[str]] = {}
    _ancestors(end_id, dynprompt, children)
    body = {loop.start_id}
    stack = [loop.start_id]
    while stack:  # descendants of Start among End's ancestors
        for child in children.get(stack.pop(), []):
            if child not in body:
                body.add(child)
                stack.append(child)
    body.add(end_id)
    count = min(chunk_size(len(loop.order)), len(loop.order) - loop.step)
    loop.chunk_stop = loop.step + count
    display = {nid: dynprompt.get_display_node_id(nid) for nid in body}  # the node the user sees for each copy
    short = {nid: str(i) for i, nid in enumerate(sorted(body))}  # a copy's id is the expansion's prefix + a short name
    graph = GraphBuilder()
    previous_end = None
    for j in range(count):
        name = {nid: f"{j}.{short[nid]}" for nid in body}
        for nid in body:
            graph.node(dynprompt.get_node(nid)["class_type"], name[nid]).set_override_display_id(display[nid])
        for nid in body:
            node = graph.lookup_node(name[nid])
            for k, v in dynprompt.get_node(nid)["inputs"].items():
                if is_link(v) and v[0] in body:
                    node.set_input(k, graph.lookup_node(name[v[0]]).out(v[1]))
                else:
                    node.set_input(k, v)
        # the state goes on: the same canvas, the next tile
        graph.lookup_node(name[loop.start_id]).set_input("loop", loop if previous_end is None else previous_end.out(1))
        previous_end = graph.lookup_node(name[end_id])
    return {"result": (previous_end.out(0), previous_end.out(1)), "expand": graph.finalize()}


class TilePromptEncode:
    DESCRIPTION = (
        "Encode the current tile's prompt (Tile Loop Start's prompt output) with a CLIP model, as CLIP Text Encode "
        "does with its text box: each tile's model call gets its own text."
    )
    CATEGORY = category("tiles")
    FUNCTION = "encode"
    RETURN_TYPES = ("CONDITIONING",)
    RETURN_NAMES = ("conditioning",)
    OUTPUT_TOOLTIPS = ("The tile's conditioning.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "clip": ("CLIP", {"tooltip": "The text encoder (e.g. DualCLIPLoader for FLUX)."}),
            "prompt": ("STRING", {"forceInput": True, "tooltip": "Tile Loop Start's prompt output."}),
        }}

    def encode(self, clip, prompt: str):
        check_clip(clip)
        if not isinstance(prompt, str):
            raise ValueError(f"prompt must be text, got {type(prompt).__name__}")
        return (clip.encode_from_tokens_scheduled(clip.tokenize(prompt)),)


class TilePromptsFromList:
    DESCRIPTION = (
        "Per-tile prompts from a captioner: a list of texts (one per tile, e.g. a Florence or Qwen VL caption node run "
        "over Tile Split (list)'s tiles) joined into the one-line-per-tile text that Tile Loop Start's and Tile Text "
        "Encode's prompts take."
    )
    CATEGORY = category("tiles")
    FUNCTION = "join"
    INPUT_IS_LIST = True
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("prompts",)
    OUTPUT_TOOLTIPS = ("One line per caption, in the list's order (line breaks inside a caption become spaces).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "captions": ("STRING", {"forceInput": True, "tooltip": (
                "A list of texts, one per tile in plan order (row by row): a caption node run over Tile Split (list)'s "
                "tiles gives exactly that. A single text counts as a list of one.")}),
        }}

    def join(self, captions):
        return (join_prompt_list(captions),)


NODE_CLASS_MAPPINGS = {
    "TileStitchTileLoopStart": TileLoopStart,
    "TileStitchSeamLoopStart": SeamLoopStart,
    "TileStitchTileLoopEnd": TileLoopEnd,
    "TileStitchTilePromptEncode": TilePromptEncode,
    "TileStitchTilePromptsFromList": TilePromptsFromList,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "TileStitchTileLoopStart": "Tile Loop Start",
    "TileStitchSeamLoopStart": "Seam Loop Start",
    "TileStitchTileLoopEnd": "Tile Loop End",
    "TileStitchTilePromptEncode": "Tile Prompt Encode",
    "TileStitchTilePromptsFromList": "Tile Prompts From List",
}
