"""MIME types of files, from their first bytes or, failing that, their name."""

from __future__ import annotations

import mimetypes
import pathlib

OCTET_STREAM = "application/octet-stream"
IMAGES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"}
)
"""The image types the server opens as images; any other file is not one."""

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"fLaC", "audio/flac"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"glTF", "model/gltf-binary"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
)
_RIFF = {b"WAVE": "audio/wav", b"WEBP": "image/webp", b"AVI ": "video/x-msvideo"}
_MODELS = {
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
    ".usdz": "model/vnd.usdz+zip",
    ".obj": "model/obj",
    ".stl": "model/stl",
}
_SUFFIXES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/tiff": ".tiff",
    "audio/wav": ".wav",
    "audio/mpeg": ".mp3",
    "video/mp4": ".mp4",
    "text/plain": ".txt",
}


def sniff(data: bytes) -> str | None:
    """The MIME type that ``data``'s first bytes show, or None."""
    head = data[:16]
    if head.startswith(b"RIFF") and len(head) >= 12:
        return _RIFF.get(head[8:12])
    if head[4:8] == b"ftyp":
        return "audio/mp4" if head[8:11] == b"M4A" else "video/mp4"
    if head.startswith(b"BM") and len(head) >= 10 and head[6:10] == bytes(4):
        return "image/bmp"
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    return None


def of_file(data: bytes, name: str) -> str:
    """The MIME type of a file: sniffed, then guessed from ``name``'s suffix.

    A zip file's suffix comes first, as it tells a ``.usdz`` model from a zip.
    """
    sniffed = sniff(data)
    if sniffed not in (None, "application/zip"):
        return sniffed
    suffix = pathlib.PurePath(name).suffix.lower()
    guessed = _MODELS.get(suffix) or mimetypes.guess_type(name, strict=False)[0]
    return guessed or sniffed or OCTET_STREAM


def file_dtype(data: bytes, mime: str) -> str:
    """The dtype of a file: image only for images the server opens."""
    if sniff(data) in IMAGES:
        return "image"
    top = mime.partition("/")[0]
    return top if top in ("audio", "video", "model") else "binary"


def suffix_for(mime: str | None) -> str:
    """A file suffix for ``mime`` (``.png``), or "" when none is known."""
    essence = (mime or "").partition(";")[0].strip().lower()
    if not essence or essence == OCTET_STREAM:
        return ""
    return _SUFFIXES.get(essence) or mimetypes.guess_extension(essence) or ""
