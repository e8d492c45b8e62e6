"""The rules of an organisation's settings, pure (no database): its name, default language,
industry, the sender name of its emails and the accent colour of its branding, with the
colour's contrast (WCAG 2.x) against the white text and white background it is shown with.

The settings page and ``PATCH /api/v1/organisation`` apply these through
``store.organisation_settings``, so both refuse the same values with the same words. The
reply-to address follows the one email rule (``store.email_addresses``) and the logo its own
module (``store.logo_images``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cxpulse import i18n
from cxpulse.metrics.benchmarks import load_acsi
from cxpulse.store._values import text
from cxpulse.store.errors import Invalid

MAX_NAME_LENGTH = 200
MAX_SENDER_NAME_LENGTH = 200
MAX_INDUSTRY_LENGTH = 100
MIN_CONTRAST = 4.5
"""WCAG AA for normal text: white words on an accent button, accent links on white."""
WHITE = "#ffffff"
PAGE_BACKGROUND = WHITE
"""Survey pages, the widget and emails draw on white (``--bg`` of base.css)."""
DEFAULT_ACCENT = "#0b57d0"
"""The colour of survey pages when the organisation sets none (``--accent`` of base.css)."""

_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_LINE_BREAKS = re.compile(r"[\r\n\t\u2028\u2029\u0085]")


def industries() -> list[str]:
    """The ACSI industry names the benchmarks know, alphabetically."""
    return sorted({score.industry for score in load_acsi()}, key=str.casefold)


def name(value: str | None) -> str:
    checked = text("name", value, MAX_NAME_LENGTH, required=True)
    assert checked is not None
    return one_line("name", checked)


def one_line(field: str, value: str) -> str:
    """``value`` unless it holds a line break or tab (it goes into email headers)."""
    if _LINE_BREAKS.search(value):
        raise Invalid(field, "must be one line, without line breaks or tabs")
    return value


def language(value: str | None) -> str:
    if value not in i18n.LANGUAGES:
        codes = ", ".join(i18n.LANGUAGES)
        raise Invalid("default_language", f"must be one of the languages cxpulse speaks: {codes}")
    return value


def industry(value: str | None) -> str | None:
    """The industry exactly as the ACSI table spells it (case ignored); None: none."""
    typed = text("industry", value, MAX_INDUSTRY_LENGTH)
    if typed is None:
        return None
    for known in industries():
        if known.casefold() == typed.casefold():
            return known
    raise Invalid(
        "industry", "is not an ACSI industry; choose one of the list (cxpulse benchmark shows it)"
    )


def sender_name(value: str | None) -> str | None:
    """The display name of emails' From header; None: the organisation's name."""
    typed = text("sender_name", value, MAX_SENDER_NAME_LENGTH)
    return None if typed is None else one_line("sender_name", typed)


def accent_colour(value: str | None) -> str | None:
    """``#rrggbb`` in lower case; blank or None: no colour of its own (cxpulse's)."""
    typed = text("accent_colour", value, 20)
    if typed is None:
        return None
    if not _HEX_COLOUR.fullmatch(typed):
        raise Invalid("accent_colour", "must be a colour written #rrggbb, such as #0b57d0")
    return typed.lower()


# -- contrast ----------------------------------------------------------------------------------


def _channel(byte: int) -> float:
    value = byte / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb``: 0 for black, 1 for white."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.x contrast ratio of two ``#rrggbb`` colours, from 1 (same) to 21."""
    light, dark = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@dataclass(frozen=True)
class Contrast:
    """How readable an accent colour is where cxpulse uses it."""

    colour: str
    with_white_text: float
    """White words on an accent button."""
    on_background: float
    """Accent links and outlines on the white page."""

    @property
    def enough(self) -> bool:
        return min(self.with_white_text, self.on_background) >= MIN_CONTRAST

    @property
    def warning(self) -> str | None:
        """Why the colour is hard to read, for the person choosing it; None when it is not."""
        if self.enough:
            return None
        lowest = min(self.with_white_text, self.on_background)
        return (
            f"{self.colour} has a contrast of {lowest:.1f}:1 with white text and with the "
            f"white page, below the {MIN_CONTRAST}:1 that WCAG asks for: buttons and links "
            "will be hard to read for many people. A darker colour fixes it."
        )


def contrast(colour: str) -> Contrast:
    return Contrast(colour, contrast_ratio(colour, WHITE), contrast_ratio(colour, PAGE_BACKGROUND))


def darker(colour: str, factor: float = 0.8) -> str:
    """``colour`` with each channel scaled by ``factor``: the hover shade of a button."""
    channels = (round(int(colour[i : i + 2], 16) * factor) for i in (1, 3, 5))
    return "#" + "".join(f"{max(0, min(255, c)):02x}" for c in channels)
