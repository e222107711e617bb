"""Image files in and out at full bit depth, with their colour profile and metadata (pure: no ComfyUI)."""

from .io import (COMPRESSION, OUTPUT_FORMATS, READ_EXTENSIONS, compression_choice, from_float, read_image, read_image_meta,
                 read_rgb_alpha, to_float, to_image_tensor, write_image)
from .meta import ImageMeta

__all__ = ["COMPRESSION", "ImageMeta", "OUTPUT_FORMATS", "READ_EXTENSIONS", "compression_choice", "from_float", "read_image",
           "read_image_meta", "read_rgb_alpha", "to_float", "to_image_tensor", "write_image"]
