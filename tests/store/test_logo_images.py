"""Logos are checked by their bytes: the kind by magic numbers, the size from the header."""

from __future__ import annotations

import pytest

from cxpulse.store import logo_images
from cxpulse.store.errors import Invalid

from .logo_samples import SVG, jpeg, png, webp_extended, webp_lossless


@pytest.mark.parametrize(
    ("data", "kind", "size"),
    [
        (png(120, 40), "image/png", (120, 40)),
        (jpeg(600, 200), "image/jpeg", (600, 200)),
        (webp_lossless(300, 100), "image/webp", (300, 100)),
        (webp_extended(64, 64), "image/webp", (64, 64)),
    ],
)
def test_png_jpeg_and_webp_are_read_with_their_size(
    data: bytes, kind: str, size: tuple[int, int]
) -> None:
    logo = logo_images.check_logo(data)
    assert (logo.media_type, logo.width, logo.height) == (kind, *size)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (SVG, "SVG"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        (b"GIF89a" + b"\x00" * 20, "must be a PNG, JPEG or WebP image"),
        (b"<html><script>alert(1)</script></html>", "must be a PNG, JPEG or WebP image"),
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 4, "image that can be read"),
        (png(601, 10), "601 x 10 pixels; at most 600 x 200"),
        (jpeg(100, 201), "100 x 201 pixels"),
        (png(10, 10) + b"\x00" * logo_images.MAX_LOGO_BYTES, "at most 200 kB"),
    ],
)
def test_other_files_are_refused_in_words(data: bytes, words: str) -> None:
    with pytest.raises(Invalid) as refused:
        logo_images.check_logo(data)
    assert refused.value.field == "logo"
    assert words in refused.value.message


def test_a_logo_is_drawn_in_proportion_within_its_box() -> None:
    assert logo_images.shown_size(600, 200, 240, 64) == (192, 64)
    assert logo_images.shown_size(100, 20, 240, 64) == (100, 20)
    assert logo_images.shown_size(600, 50, 240, 64) == (240, 20)
