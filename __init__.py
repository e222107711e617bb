"""TileStitch: seamless tiled processing of very large photos for ComfyUI.

ComfyUI imports this file as a package and reads ``NODE_CLASS_MAPPINGS``,
``NODE_DISPLAY_NAME_MAPPINGS`` and ``WEB_DIRECTORY``. Nothing here needs
ComfyUI: the nodes import ComfyUI lazily, and the maths (``tiling``,
``blenders``) never does. Imported as a bare file (no package, as some test
runners do), it only defines empty mappings.
"""

WEB_DIRECTORY = "./js"
NODE_CLASS_MAPPINGS = {}
NODE_DISPLAY_NAME_MAPPINGS = {}

if __package__:
    from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS  # noqa: F811

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
