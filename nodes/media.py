"""Load and save photos at full bit depth (16-bit PNG / TIFF, float TIFF) with their ICC profile and metadata.

ComfyUI's own Load Image goes through 8 bits; these nodes give the IMAGE
exactly ``code / 65535`` and write it back bit-identically. The metadata
travels as ``IMAGE_META`` from the loader to the saver (connect them), and the
saver adds ComfyUI's prompt and workflow to PNG text like Save Image does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
from typing import List, Optional, Tuple

import numpy as np
import torch

from ..graph.shipped import SAMPLE_PHOTO
from ..media import COMPRESSION, OUTPUT_FORMATS, READ_EXTENSIONS, ImageMeta, compression_choice, read_rgb_alpha, write_image
from .common import category, check_finite, check_image, progress_hook

IMAGE_META = "IMAGE_META"
log = logging.getLogger("tilestitch")


HASH_SPAN = 1 << 20  # bytes read from each end of a file for Load Image 16-bit's change check


def provide_sample_photo() -> Optional[str]:
    """Copy the demo's sample photo into ComfyUI's input folder when it is not there yet (never over a file).

    So the demo template runs as it opens. Returns the path written, or None
    (outside ComfyUI, already there, or the folder is not writable: logged).
    """
    try:
        import folder_paths
    except ImportError:
        return None
    target = os.path.join(folder_paths.get_input_directory(), SAMPLE_PHOTO.name)
    if os.path.exists(target) or not SAMPLE_PHOTO.is_file():
        return None
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(SAMPLE_PHOTO, "rb") as src, open(target, "xb") as dst:
            shutil.copyfileobj(src, dst)
    except OSError as e:
        log.warning("TileStitch: could not copy the sample photo to %s (%s); the demo workflow needs it there", target, e)
        return None
    return target


def _is_image_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode) and os.path.splitext(path)[1].lower() in READ_EXTENSIONS
    except (OSError, ValueError):
        return False


def _input_files() -> List[str]:
    """Image files in ComfyUI's input folder (links that lead outside it are not offered)."""
    try:
        import folder_paths
    except ImportError:
        return []
    root = os.path.realpath(folder_paths.get_input_directory())
    names = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            path = os.path.join(dirpath, f)
            if _is_image_file(path) and _inside(os.path.realpath(path), root):
                names.append(os.path.relpath(path, root).replace(os.sep, "/"))
    return sorted(names)


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def resolve_input_image(name) -> str:
    """The real path of the image ``name`` names, or a ValueError that says where images must be.

    Only regular image files whose resolved path lies inside ComfyUI's input
    folder (or, for names ending in `` [input]``, `` [output]`` or `` [temp]``,
    inside that folder) are accepted: no absolute paths, no ``..``, no links
    out, no devices. Every refusal says the same thing, so the message tells
    nothing about files elsewhere. Outside ComfyUI (tests, scripts) a path is
    taken as it is.
    """
    try:
        import folder_paths
    except ImportError:
        return str(name)
    if isinstance(name, str) and name and "\x00" not in name:
        rel, base = folder_paths.annotated_filepath(name.strip())
        root = os.path.realpath(base or folder_paths.get_input_directory())
        if rel and not os.path.isabs(rel):
            path = os.path.realpath(os.path.join(root, rel))
            if _inside(path, root) and _is_image_file(path):
                return path
    raise ValueError(
        f"image {str(name)[:200]!r} is not an image file in ComfyUI's input folder: Load Image 16-bit reads only "
        f"{', '.join(READ_EXTENSIONS)} files inside that folder (upload one, or pick it from the list)"
    )


class LoadImage16:
    """A 16-bit / float / 8-bit file -> IMAGE (exact values), MASK (from alpha), IMAGE_META."""

    DESCRIPTION = (
        "Load a PNG (8/16-bit), TIFF (8/16-bit integer, 16/32-bit float) or JPEG/WebP without an 8-bit round "
        "trip. The ICC profile, EXIF, XMP, DPI and text come out as IMAGE_META for Save Image 16-bit."
    )
    CATEGORY = category("io")
    FUNCTION = "load"
    RETURN_TYPES = ("IMAGE", "MASK", IMAGE_META, "STRING")
    RETURN_NAMES = ("image", "mask", "meta", "info")
    OUTPUT_TOOLTIPS = (
        "RGB, float32, exactly code / (2^bits - 1); float TIFF values as stored (they may exceed 0..1).",
        "1 - alpha where the file has alpha (ComfyUI's convention), else an empty 64 x 64 mask.",
        "Colour profile and metadata: connect to Save Image 16-bit to keep them.",
        "Format, bit depth, profile and metadata found, in words.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": (_input_files(), {"image_upload": True, "tooltip": (
            "A file in ComfyUI's input folder (or upload one): .png, .tif/.tiff, .jpg, .webp.")})}}

    def load(self, image: str) -> Tuple[torch.Tensor, torch.Tensor, ImageMeta, str]:
        path = resolve_input_image(image)
        rgb, alpha, meta = read_rgb_alpha(path)
        img = torch.from_numpy(rgb).unsqueeze(0)
        if alpha is not None:
            mask = torch.from_numpy(np.subtract(1.0, alpha, out=alpha)).unsqueeze(0)  # ComfyUI's MASK is 1 - alpha
        else:
            mask = torch.zeros((1, 64, 64), dtype=torch.float32)
        h, w = rgb.shape[:2]
        channels = "RGBA" if alpha is not None else "RGB"
        return (img, mask, meta, f"{os.path.basename(path)}: {w} x {h} px, {channels}; {meta.describe()}")

    @classmethod
    def IS_CHANGED(cls, image) -> str:
        """Size, modification time and the first and last MiB: bounded work whatever the file (a refused name: its text)."""
        try:
            path = resolve_input_image(image)
        except ValueError:
            return f"refused:{str(image)[:200]}"
        st = os.stat(path)
        digest = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode())
        with open(path, "rb") as f:
            digest.update(f.read(HASH_SPAN))
            if st.st_size > 2 * HASH_SPAN:
                f.seek(-HASH_SPAN, os.SEEK_END)
            digest.update(f.read(HASH_SPAN))
        return digest.hexdigest()

    @classmethod
    def VALIDATE_INPUTS(cls, image):
        try:
            resolve_input_image(image)
        except ValueError as e:
            return str(e)
        return True


class SaveImage16:
    """IMAGE -> 16-bit PNG / 16-bit TIFF / float TIFF files in the output folder, with the source's profile."""

    DESCRIPTION = (
        "Save images without quantising to 8 bits: PNG 16-bit, TIFF 16-bit, TIFF float 32/16 (values outside "
        "0..1 kept), or 8-bit. Connect the loader's meta to keep the ICC profile, EXIF, XMP, DPI and text."
    )
    CATEGORY = category("io")
    FUNCTION = "save"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("paths",)
    OUTPUT_TOOLTIPS = ("The files written, one per line (relative to the output folder).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The images to save (any size; float, never quantised before writing)."}),
                "filename_prefix": ("STRING", {"default": "TileStitch/photo", "tooltip": (
                    "File name prefix; may contain a subfolder and ComfyUI's %date:...% style patterns.")}),
                "format": (list(OUTPUT_FORMATS), {"default": "png16", "tooltip": "; ".join(
                    f"{k}: {v[1]}" for k, v in OUTPUT_FORMATS.items())}),
                "compression": (list(COMPRESSION), {"default": "fast", "tooltip": (
                    "Lossless compression. none: largest files, fastest. fast: zlib level 1 (a few times smaller for "
                    "smooth photos, quick). small: zlib level 9, TIFF with horizontal prediction (smallest, slowest). "
                    "Earlier versions' levels 0-9 still work (0 none, 1-5 fast, 6-9 small).")}),
            },
            "optional": {
                "meta": (IMAGE_META, {"tooltip": "Metadata from Load Image 16-bit: ICC profile, EXIF, XMP, DPI, text."}),
            },
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    @classmethod
    def VALIDATE_INPUTS(cls, compression):
        try:
            compression_choice(compression)
        except ValueError as e:
            return str(e)
        return True

    def save(self, images: torch.Tensor, filename_prefix: str, format: str, compression: str, meta: Optional[ImageMeta] = None,
             prompt: Optional[dict] = None, extra_pnginfo: Optional[dict] = None) -> dict:
        import folder_paths

        images = check_image(images, "images")
        check_finite(images, "images")
        if meta is not None and not isinstance(meta, ImageMeta):
            raise ValueError(f"meta must be IMAGE_META from Load Image 16-bit, got {type(meta).__name__}")
        meta = meta or ImageMeta()
        if format.startswith("png") and not _metadata_disabled():
            extra = {}
            if prompt is not None:
                extra["prompt"] = json.dumps(prompt)
            for k, v in (extra_pnginfo or {}).items():
                extra[k] = json.dumps(v)
            meta = meta.with_text(**extra)
        out_dir = folder_paths.get_output_directory()
        b, h, w, _ = images.shape
        full_dir, name, counter, subfolder, _ = folder_paths.get_save_image_path(filename_prefix, out_dir, w, h)
        ext = OUTPUT_FORMATS[format][0]
        kind = "images" if format.startswith("png") else "files"
        results, paths = [], []
        progress = progress_hook(b)
        for i in range(b):
            file = f"{name}_{counter:05}_{ext}"
            write_image(os.path.join(full_dir, file), images[i].detach().cpu().float().numpy(), meta, format, compression)
            results.append({"filename": file, "subfolder": subfolder, "type": "output"})
            paths.append(os.path.join(subfolder, file).replace(os.sep, "/"))
            counter += 1
            if progress:
                progress(i + 1, b)
        return {"ui": {kind: results}, "result": ("\n".join(paths),)}


def _metadata_disabled() -> bool:
    try:
        from comfy.cli_args import args
    except ImportError:
        return False
    return bool(getattr(args, "disable_metadata", False))


NODE_CLASS_MAPPINGS = {
    "TileStitchLoadImage16": LoadImage16,
    "TileStitchSaveImage16": SaveImage16,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "TileStitchLoadImage16": "Load Image 16-bit",
    "TileStitchSaveImage16": "Save Image 16-bit",
}
