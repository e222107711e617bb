"""ComfyUI node adapters: one file per family of the pure code, each a thin door into it.

| node file | family | nodes (menu ``TileStitch/<family>``) |
|---|---|---|
| ``tiles.py`` | ``tiling/`` plan, split, merge | Tile Split (+ list, around mask), Tile Merge (+ list), Tile Plan Info |
| ``loop.py`` | ``tiling/loop.py`` | Tile Loop Start, Tile Loop End |
| ``seam_tiles.py`` | ``tiling/seam_tiles.py`` | Seam Tiles (+ list), Seam Tiles Merge (+ list), Latent Seam Tiles (+ Merge) |
| ``blenders.py`` | ``blenders/`` | Seam Merge |
| ``latent.py`` | ``tiling/denoise.py``, ``tiling/cond_tiling.py`` | Latent Tile Split / Merge, Tiled Denoise |
| ``correct.py`` | ``correct/`` | Global Context Encode, Tile Color Correct, Frequency Merge, Frequency Split / Band / Band Replace / Join, Band Merge, Detail Energy |
| ``qa.py`` | ``qa/`` | Solar Curve Preview, Seam Report |
| ``masks.py`` | ``masks/`` | Mask Refine Merge |
| ``diffmerge.py`` | ``diffmerge/`` | Diff Merge |
| ``sizing.py`` | ``tiling/sizing.py`` | Tile Size From Memory |
| ``stream.py`` | ``tiling/stream.py`` | Streaming Tiled Upscale |
| ``media.py`` | ``media/`` | Load Image 16-bit, Save Image 16-bit |
| ``sana.py`` | ``sana/`` | the SANA nodes |

``common.py`` holds what every node shares (categories, checks, progress,
the plan widgets, split and merge), ``models.py`` the adapters of ComfyUI's
model objects, ``routes.py`` the HTTP route of the browser overlay. This
file collects the mappings and, inside ComfyUI, puts the demo's sample
photo in the input folder (when it is not there).
"""

from . import blenders, correct, diffmerge, latent, loop, masks, media, qa, routes, sana, seam_tiles, sizing, stream, tiles

_MODULES = (tiles, loop, seam_tiles, blenders, latent, correct, qa, masks, diffmerge, sizing, stream, media, sana)

NODE_CLASS_MAPPINGS = {}
NODE_DISPLAY_NAME_MAPPINGS = {}
for _m in _MODULES:
    NODE_CLASS_MAPPINGS.update(_m.NODE_CLASS_MAPPINGS)
    NODE_DISPLAY_NAME_MAPPINGS.update(_m.NODE_DISPLAY_NAME_MAPPINGS)

if routes.register():  # running inside ComfyUI
    media.provide_sample_photo()
