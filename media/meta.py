"""What an image file carries besides its pixels, kept from load to save."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class ImageMeta:
    """Colour profile and metadata of a loaded image.

    Attributes:
        source_format: ``"png"``, ``"tiff"``, ``"jpeg"`` ... (what it was read from).
        bit_depth: bits per sample in the file (8, 16, 32).
        sample_format: ``"uint"`` or ``"float"``.
        icc_profile: the embedded ICC profile, byte for byte (``None``: none embedded).
        exif: raw EXIF block (PNG ``eXIf`` / JPEG APP1 payload without the ``Exif\\0\\0`` header).
        xmp: raw XMP packet.
        text: textual metadata (PNG tEXt/iTXt/zTXt keys; TIFF description, software,
            artist, copyright, date).
        dpi: ``(x, y)`` pixels per inch, when the file says.
        png_colour_chunks: raw PNG ``gAMA`` / ``cHRM`` / ``sRGB`` / ``cICP`` chunks (re-written as they were).
    """

    source_format: str = ""
    bit_depth: int = 8
    sample_format: str = "uint"
    icc_profile: Optional[bytes] = None
    exif: Optional[bytes] = None
    xmp: Optional[bytes] = None
    text: Dict[str, str] = field(default_factory=dict)
    dpi: Optional[Tuple[float, float]] = None
    png_colour_chunks: Dict[str, bytes] = field(default_factory=dict)

    def with_text(self, **items: str) -> "ImageMeta":
        return replace(self, text={**self.text, **items})

    def describe(self) -> str:
        parts = [f"{self.source_format or 'image'} {self.bit_depth}-bit {self.sample_format}"]
        if self.icc_profile:
            parts.append(f"ICC profile {len(self.icc_profile)} bytes")
        if self.exif:
            parts.append(f"EXIF {len(self.exif)} bytes")
        if self.xmp:
            parts.append(f"XMP {len(self.xmp)} bytes")
        if self.dpi:
            parts.append(f"{self.dpi[0]:g} x {self.dpi[1]:g} dpi")
        if self.text:
            parts.append("text: " + ", ".join(sorted(self.text)))
        return "; ".join(parts)
