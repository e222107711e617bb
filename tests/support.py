"""Helpers the tests share: where the real photos are, and loading them."""

from __future__ import annotations

from pathlib import Path

import pytest
from import_pack import ROOT, shared_dir  # noqa: F401  (ROOT is used by other test helpers)

SHARED = shared_dir()

PHOTOS = {
    # name: (path under data/images, what it is good for)
    "water": "unsplash/dennis-buchner-WATeNJyEUkA-unsplash.jpg",  # smooth dark water gradient + feathers
    "bokeh": "unsplash/rachel-hisko-rEM3cK8F1pk-unsplash.jpg",  # smooth aquarium bokeh, 6000 px
    "scales": "unsplash/andrew-ridley-jR4Zf-riEjI-unsplash.jpg",  # repeating texture
    "fabric": "unsplash/karly-santiago-E7zsz8JA8FM-unsplash.jpg",  # embroidery threads
    "portrait": "kodak_photocd/kodim04_photocd16base.png",  # skin, film grain
    "beach": "kodak_photocd/kodim12_photocd16base.png",  # sky + sea gradients
    "child": "kodak_photocd/kodim15_photocd16base.png",  # skin, smooth teal backdrop
    "parrots": "kodak_photocd/kodim23_photocd16base.png",  # feathers, green bokeh
    "kodim23": "kodak_768x512/kodim23.png",
    "kodim04": "kodak_768x512/kodim04.png",
}


def photo_path(name: str) -> Path:
    if SHARED is None:
        pytest.skip("real photos not found: set TILESTITCH_SHARED or put shared/ beside the checkout")
    return SHARED / "data" / "images" / PHOTOS[name]


_cache: dict = {}


def load_photo(name: str, max_side: int | None = None):
    """A real photo as an IMAGE tensor ``[1, H, W, 3]`` float32 in [0, 1] (cached per size)."""
    from tilestitch.media import read_image, to_image_tensor

    key = (name, max_side)
    if key not in _cache:
        _cache[key] = to_image_tensor(read_image(str(photo_path(name)), max_side=max_side))
    return _cache[key]


def weights_path(rel: str):
    """A file under shared/data/weights (skips the test when it is not there)."""
    if SHARED is None or not (SHARED / "data" / "weights" / rel).is_file():
        pytest.skip(f"weights {rel} not found under shared/data/weights (set TILESTITCH_SHARED)")
    return SHARED / "data" / "weights" / rel


def srgb_icc_profile() -> bytes:
    """A real ICC profile (sRGB, built by Pillow's LittleCMS), for metadata round trips."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
