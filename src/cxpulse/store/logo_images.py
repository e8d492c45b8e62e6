"""An organisation's logo, checked by its bytes (pure): PNG, JPEG or WebP by their magic
numbers, at most ``MAX_LOGO_BYTES``, and at most ``MAX_WIDTH`` x ``MAX_HEIGHT`` pixels.

The kind is read from the file, never from its name or the type a browser claims, and the
logo is served with that type and ``nosniff``: a file that only says it is an image cannot be
served as HTML or script. SVG is refused: it is a document that may carry script and links.
The size is read from the image's header (PNG IHDR, JPEG start-of-frame, WebP VP8/VP8L/VP8X),
without an imaging library.
"""

from __future__ import annotations

from dataclasses import dataclass

from cxpulse.store.errors import Invalid

MAX_LOGO_BYTES = 200_000
MAX_WIDTH = 600
MAX_HEIGHT = 200
TYPES = ("image/png", "image/jpeg", "image/webp")

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
# JPEG start-of-frame markers: C0-CF but DHT (C4), JPG (C8) and DAC (CC).
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass(frozen=True)
class Logo:
    data: bytes
    media_type: str
    width: int
    height: int


class _Unreadable(Exception):
    pass


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise _Unreadable
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            raise _Unreadable
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            at += 2
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if length < 2:
            raise _Unreadable
        if marker in _JPEG_FRAMES:
            if at + 9 > len(data):
                raise _Unreadable
            height = int.from_bytes(data[at + 5 : at + 7], "big")
            width = int.from_bytes(data[at + 7 : at + 9], "big")
            return width, height
        at += 2 + length
    raise _Unreadable


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
        return width, height
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    raise _Unreadable


def media_type(data: bytes) -> str | None:
    """The logo type the bytes are, by their magic numbers; None for anything else."""
    if data.startswith(_PNG):
        return "image/png"
    if data.startswith(_JPEG):
        return "image/jpeg"
    if len(data) >= 16 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def dimensions(data: bytes, kind: str) -> tuple[int, int] | None:
    """Width and height in pixels from the image's header; None when it cannot be read."""
    reader = {"image/png": _png_size, "image/jpeg": _jpeg_size, "image/webp": _webp_size}[kind]
    try:
        width, height = reader(data)
    except _Unreadable:
        return None
    return (width, height) if width > 0 and height > 0 else None


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in head


def check_logo(data: bytes) -> Logo:
    """The logo if ``data`` is one cxpulse takes; ``Invalid`` (field ``logo``) saying why not."""
    if not data:
        raise Invalid("logo", "is an empty file")
    if len(data) > MAX_LOGO_BYTES:
        raise Invalid(
            "logo",
            f"is {len(data) // 1000} kB; at most {MAX_LOGO_BYTES // 1000} kB are allowed "
            "(a logo rarely needs more than 50 kB: save it smaller, or as WebP)",
        )
    kind = media_type(data)
    if kind is None:
        if _looks_like_svg(data):
            raise Invalid(
                "logo",
                "is an SVG drawing, which is not accepted (it may carry script): export it as PNG",
            )
        raise Invalid("logo", "must be a PNG, JPEG or WebP image")
    size = dimensions(data, kind)
    if size is None:
        raise Invalid("logo", f"is not a {kind.split('/')[1].upper()} image that can be read")
    width, height = size
    if width > MAX_WIDTH or height > MAX_HEIGHT:
        raise Invalid(
            "logo",
            f"is {width} x {height} pixels; at most {MAX_WIDTH} x {MAX_HEIGHT} are allowed",
        )
    return Logo(data, kind, width, height)


def shown_size(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The size to draw a ``width`` x ``height`` image at, kept in proportion, within the box."""
    scale = min(1.0, max_width / width, max_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))
