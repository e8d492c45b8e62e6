"""Numbers typed into a page's query or form, read the one safe way.

``str.isdigit`` is not a test for "an id": it accepts "²" and other Unicode digits, which
``int`` then refuses (a 500), and it lets through numbers too large for the database's
columns (a 500 from the driver). Every page reads ids and small counts through these
helpers instead: only ASCII decimal digits, inside the column's range, else ``None``, so
that the page answers its own 404 or 422 with a message.
"""

from __future__ import annotations

from cxpulse.web.schemas import MAX_ID, MAX_SMALL_ID

__all__ = [
    "MAX_ID",
    "MAX_SMALL_ID",
    "ascii_digits",
    "over_length",
    "parse_id",
    "parse_whole",
    "sheet_value",
]

_LONGEST = len(str(MAX_ID))
"""More digits than this cannot be an id (leading zeros aside, which ids never have)."""


def ascii_digits(text: str | None) -> bool:
    """Whether ``text`` is one or more ASCII digits 0-9, and nothing else."""
    return text is not None and text != "" and text.isascii() and text.isdecimal()


def parse_whole(text: str | None, low: int, high: int) -> int | None:
    """The whole number ``text`` (ASCII digits, surrounding spaces ignored) when it lies in
    ``low..high``; None for anything else."""
    if text is None:
        return None
    text = text.strip()
    if not ascii_digits(text) or len(text.lstrip("0")) > max(_LONGEST, len(str(high))):
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_id(text: str | None, limit: int = MAX_ID) -> int | None:
    """The id ``text`` names (1..``limit``; ``MAX_SMALL_ID`` for surveys, users, keys and
    organisations), or None when it names none."""
    return parse_whole(text, 1, limit)


def sheet_value(text: str | None) -> int | str | None:
    """A workbook's sheet as typed: a 0-based number when it is ASCII digits, else its name
    (None when empty). A number past the last sheet, or a huge one read as a name, gets the
    file engine's message."""
    text = (text or "").strip()
    if not text:
        return None
    number = parse_whole(text, 0, MAX_SMALL_ID)
    return text if number is None else number


def over_length(declared: str | None, limit: int) -> bool:
    """Whether a request's ``Content-Length`` (as sent) says more than ``limit`` bytes; a
    value that is no number is left to the server's own reading."""
    if not ascii_digits(declared):
        return False
    assert declared is not None
    digits = declared.lstrip("0")
    return len(digits) > len(str(limit)) or int(digits or "0") > limit
