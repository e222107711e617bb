"""16-bit PNG / TIFF / float TIFF in and out: exact pixels, profile and metadata kept."""

import numpy as np
import pytest

from tilestitch.media import ImageMeta, read_image, read_image_meta, write_image
from tilestitch.media.png import chunks

from support import photo_path, srgb_icc_profile

ICC = srgb_icc_profile()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description dc:title="ring"/></x:xmpmeta>'


def ramp16(h=64, w=1024, c=3):
    """Every 16-bit code at least once (65536 distinct values over h * w >= 65536)."""
    codes = (np.arange(h * w * c, dtype=np.int64) * 7919 % 65536).astype(np.uint16).reshape(h, w, c)
    return codes, codes.astype(np.float64) / 65535.0


META = ImageMeta("png", 16, "uint", ICC, b"MM\x00*\x00\x00\x00\x08\x00\x00", XMP,
                 {"Title": "ring", "Comment": "caf\u00e9 \u2713"}, (300.0, 300.0), {"gAMA": (45455).to_bytes(4, "big")})


@pytest.mark.parametrize("fmt,channels", [("png16", 3), ("png16", 4), ("png16", 1), ("tiff16", 3), ("tiff16", 4)])
def test_16_bit_round_trip_is_bit_exact(tmp_path, fmt, channels):
    codes, values = ramp16(c=channels)
    path = str(tmp_path / ("x.png" if fmt.startswith("png") else "x.tif"))
    write_image(path, values.astype(np.float32), META, fmt)
    back, meta = read_image_meta(path)
    assert back.dtype == np.float32 and back.shape == codes.shape
    assert np.array_equal(np.rint(back.astype(np.float64) * 65535).astype(np.uint16), codes)
    assert np.array_equal(back, (codes.astype(np.float64) / 65535).astype(np.float32))  # exactly code / 65535
    assert len(np.unique(back)) == 65536  # no 8-bit quantisation anywhere
    assert meta.bit_depth == 16 and meta.icc_profile == ICC and meta.xmp == XMP
    assert meta.dpi == pytest.approx((300.0, 300.0), abs=0.01)
    if fmt == "tiff16":
        write_image(path, values.astype(np.float32), META.with_text(artist="A. Jeweller", copyright="(c) 2026"), fmt)
        assert read_image_meta(path)[1].text == {"artist": "A. Jeweller", "copyright": "(c) 2026"}


def test_png_keeps_text_exif_and_colour_chunks_and_writes_valid_crcs(tmp_path):
    path = str(tmp_path / "x.png")
    write_image(path, ramp16()[1].astype(np.float32), META, "png16")
    kinds = [k for k, _ in chunks(open(path, "rb").read())]  # chunks() checks every CRC
    assert kinds[0] == "IHDR" and kinds[-1] == "IEND"
    assert kinds.index("iCCP") < kinds.index("IDAT") and "sRGB" not in kinds
    _, meta = read_image_meta(path)
    assert meta.text == META.text and meta.exif == META.exif and meta.png_colour_chunks["gAMA"] == META.png_colour_chunks["gAMA"]
    from PIL import Image  # an independent reader agrees on the profile and text

    with Image.open(path) as im:
        assert im.info["icc_profile"] == ICC and im.info["Title"] == "ring"


def test_float_tiff_keeps_values_outside_0_1(tmp_path):
    rng = np.random.default_rng(0)
    hdr = (rng.standard_normal((40, 50, 3)) * 3).astype(np.float32)
    path = str(tmp_path / "hdr.tif")
    write_image(path, hdr, ImageMeta(icc_profile=ICC), "tiff_float32")
    back, meta = read_image_meta(path)
    assert np.array_equal(back, hdr) and meta.sample_format == "float" and meta.bit_depth == 32 and meta.icc_profile == ICC
    write_image(path, hdr, ImageMeta(), "tiff_float16")
    back16, _ = read_image_meta(path)
    assert np.allclose(back16, hdr.astype(np.float16).astype(np.float32))


def test_8_bit_formats_and_real_photos_read_exactly():
    import cv2

    path = photo_path("beach")  # a Photo CD scan, 8-bit PNG
    img, meta = read_image_meta(str(path))
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    assert meta.bit_depth == 8 and np.array_equal(img, (raw.astype(np.float64) / 255).astype(np.float32))
    jpg = next(p for p in (path.parents[1] / "unsplash").glob("*.jpg"))
    img8, meta8 = read_image_meta(str(jpg))
    assert meta8.bit_depth == 8 and np.array_equal(np.rint(img8 * 255) / 255, img8.astype(np.float64).astype(np.float32))
    small = read_image(str(path), max_side=300)
    assert max(small.shape[:2]) == 300


def test_bad_input_is_named(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_image_meta(str(tmp_path / "missing.png"))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match="signature"):
        read_image_meta(str(bad))
    with pytest.raises(ValueError, match="unknown format"):
        write_image(str(tmp_path / "x.png"), np.zeros((2, 2, 3), np.float32), ImageMeta(), "jpeg")
    corrupt = tmp_path / "c.png"
    write_image(str(corrupt), np.zeros((4, 4, 3), np.float32), META, "png16")
    data = bytearray(corrupt.read_bytes())
    data[40] ^= 0xFF  # inside the first ancillary chunk
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="CRC"):
        read_image_meta(str(corrupt))
