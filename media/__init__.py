"""Image files in and out, without quantising (pure: numpy / OpenCV, no ComfyUI)."""

from .io import read_image, to_image_tensor

__all__ = ["read_image", "to_image_tensor"]
