"""ComfyUI node adapters, one module per technique; this file only collects their mappings."""

from . import color, context, edits, io16, latent, masks, memory, qa, routes, sana, seams, tiles

_MODULES = (tiles, seams, context, color, latent, qa, edits, memory, masks, io16, sana)

NODE_CLASS_MAPPINGS = {}
NODE_DISPLAY_NAME_MAPPINGS = {}
for _m in _MODULES:
    NODE_CLASS_MAPPINGS.update(_m.NODE_CLASS_MAPPINGS)
    NODE_DISPLAY_NAME_MAPPINGS.update(_m.NODE_DISPLAY_NAME_MAPPINGS)

routes.register()
