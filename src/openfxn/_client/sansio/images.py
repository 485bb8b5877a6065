"""PIL images to bytes and back, without loss; Pillow is imported only here,
and only when an image is met."""

from __future__ import annotations

import importlib
import io
import sys
from typing import Any

from openfxn._client.errors import ConversionError

# Modes each format stores exactly (PNG would cut mode I's 32 bits to 16).
PNG_MODES = frozenset({"1", "L", "LA", "I;16", "I;16B", "P", "RGB", "RGBA"})
TIFF_MODES = frozenset({"I", "F", "CMYK", "YCbCr", "LAB", "PA", "RGBX", "I;16L"})
STRAIGHT_ALPHA = {"La": "LA", "RGBa": "RGBA"}


def is_image(value: object) -> bool:
    """Whether ``value`` is a PIL image (only possible once Pillow is imported)."""
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(value, module.Image)


def encode(image: Any, name: str) -> tuple[bytes, str]:
    """An image file holding ``image`` exactly, and its MIME type.

    PNG for the modes it holds, TIFF for the others it holds (32-bit integer
    and float pixels, CMYK, YCbCr, LAB); premultiplied alpha becomes straight
    alpha, and the few remaining modes (such as HSV) become RGB.
    """
    mode = image.mode
    if mode not in PNG_MODES | TIFF_MODES:
        image = image.convert(STRAIGHT_ALPHA.get(mode, "RGB"))
        mode = image.mode
    file_format = "PNG" if mode in PNG_MODES else "TIFF"
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=file_format)
    except (OSError, ValueError) as error:
        raise ConversionError(
            f"Input '{name}' is an image that cannot be saved as {file_format}: "
            f"{error}."
        ) from None
    return buffer.getvalue(), f"image/{file_format.lower()}"


def decode(data: bytes) -> Any:
    """A loaded PIL image of ``data``, or ``data`` itself without Pillow."""
    try:
        module: Any = importlib.import_module("PIL.Image")
    except ImportError:
        return data
    try:
        image = module.open(io.BytesIO(data))
        image.load()
    except Exception as error:  # Pillow raises many kinds for a file it cannot read
        raise ConversionError(f"An image result cannot be read: {error}.") from None
    return image
