"""ComfyUI node adapters, one module per technique; this file only collects their mappings."""

from . import color, context, latent, seams, tiles

_MODULES = (tiles, seams, context, color, latent)

NODE_CLASS_MAPPINGS = {}
NODE_DISPLAY_NAME_MAPPINGS = {}
for _m in _MODULES:
    NODE_CLASS_MAPPINGS.update(_m.NODE_CLASS_MAPPINGS)
    NODE_DISPLAY_NAME_MAPPINGS.update(_m.NODE_DISPLAY_NAME_MAPPINGS)
