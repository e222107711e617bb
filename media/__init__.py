"""Image files in and out at full bit depth, with their colour profile and metadata (pure: no ComfyUI)."""

from .io import (OUTPUT_FORMATS, READ_EXTENSIONS, from_float, read_image, read_image_meta, to_float, to_image_tensor,
                 write_image)
from .meta import ImageMeta

__all__ = ["ImageMeta", "OUTPUT_FORMATS", "READ_EXTENSIONS", "from_float", "read_image", "read_image_meta", "to_float",
           "to_image_tensor", "write_image"]
