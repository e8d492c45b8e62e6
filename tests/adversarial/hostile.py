"""Hostile values as hypothesis strategies: texts, names, dates, deep and huge JSON.

Every generated text holds ``MARK`` in its middle, with hostile pieces on both sides (so a
value may start with ``=`` or a space, or end with a line break), and is never blank: the
tests look for the value where it should show, and a mark makes each value findable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from .site import MARK

FRAGMENTS: tuple[str, ...] = (
    # quotes, brackets, dots, backslashes, wildcards: SQL, JSON paths, LIKE, globs
    "'",
    '"',
    "`",
    "[",
    "]",
    "{",
    "}",
    ".",
    "..",
    "\\",
    "\\\\",
    "$",
    "*",
    "%",
    "_",
    ":",
    ",",
    "=",
    "&",
    "'; DROP TABLE responses; --",
    '" OR "1"="1',
    '$."a"[0]',
    "a.b",
    "a[0]",
    "{{7*7}}",
    "${x}",
    "%s%n",
    "../..",
    # markup: pages, emails, reports
    "<script>alert(1)</script>",
    "<b>",
    "</td>",
    "&amp;",
    "&#0;",
    "-->",
    "]]>",
    # spreadsheet formulas: exports
    "=1+2",
    "+1",
    "-1",
    "@SUM(A1:A2)",
    # control characters and line breaks
    "\x00",
    "\x01",
    "\x08",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\x9b",
    "\t",
    "\n",
    "\r\n",
    "\r",
    " ",
    "\u00a0",
    "\u2028",
    # invisible and direction marks
    "\u202e",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u2066",
    # emoji, combining marks, other scripts, look-alikes
    "😀",
    "👩‍👩‍👧‍👦",
    "🏳️‍🌈",
    "e\u0301",
    "\u0301",
    "\u0308\u0308",
    "ß",
    "İ",
    "ﬁ",
    "Ａ",
    "日本語",
    "עברית",
    "مرحبا",
    "\U0001d54f",
    "\uffff",
)

_piece = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4))
_side = st.lists(_piece, max_size=4).map("".join)
LONG_UNITS = ("x", "é", "😀", "<>", "'\"", "\\", "=", "\u202e")


def _long(unit: str, length: int) -> str:
    """``length`` characters of ``unit``, with the mark near the start."""
    return (MARK + unit * length)[:length]


def texts(*lengths: int) -> st.SearchStrategy[str]:
    """Hostile texts: short ones around the mark, and long ones of exactly ``lengths``
    characters (choose lengths at and just past each limit of the field)."""
    short = st.builds(lambda left, right: left + MARK + right, _side, _side)
    if not lengths:
        return short
    long = st.builds(_long, st.sampled_from(LONG_UNITS), st.sampled_from(lengths))
    return st.one_of(short, short, long)


# -- dates --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateCase:
    """A date as text, and whether it carries its own offset (import files read dates
    without one as UTC, the API refuses them)."""

    text: str
    zoned: bool


EDGE_DATES: tuple[str, ...] = (
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "1970-01-01T00:59:59+01:00",
    "1970-01-01T13:59:59+14:00",
    "2999-12-31T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-14:00",
    "2016-12-31T23:59:60Z",
    "2024-02-29T12:00:00Z",
    "2023-02-29T12:00:00Z",
    "2024-06-01T12:00:00+14:00",
    "2024-06-01T12:00:00-12:00",
    "2024-06-01T12:00:00+24:00",
    "2024-13-01T00:00:00Z",
    "2024-06-01T25:00:00Z",
    "2024-06-01T12:00:00Z\x00",
    "2024-06-01T12:00:00.999999Z",
)
NAIVE_DATES: tuple[str, ...] = ("2024-06-01T12:00:00", "2024-06-01", "1970-01-01 00:00:00")


def expected_instant(text: str) -> datetime | None:
    """The moment ``text`` names, in UTC, or None when it names none (no offset, not a
    date, outside the years 1 to 9999 once in UTC)."""
    if not text.isprintable():
        return None  # datetime.fromisoformat reads past a trailing NUL
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


_offsets = st.integers(-56, 56).map(lambda quarters: timezone(timedelta(minutes=15 * quarters)))


def _relative(minutes: int, zone: timezone) -> DateCase:
    moment = (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0)
    return DateCase(moment.astimezone(zone).isoformat(), True)


def _absolute(moment: datetime, zone: timezone) -> DateCase:
    return DateCase(moment.replace(tzinfo=zone).isoformat(), True)


EDGE_CASES: tuple[DateCase, ...] = tuple(DateCase(t, True) for t in EDGE_DATES) + tuple(
    DateCase(t, False) for t in NAIVE_DATES
)
"""Each one a test of its own, so that every wrong answer is reported."""

dates: st.SearchStrategy[DateCase] = st.one_of(
    # around now: yesterday, an hour ago, tomorrow, the day after, years ahead
    st.builds(
        _relative,
        st.sampled_from([-60 * 24 * 365 * 30, -60 * 24, -60, 60, 60 * 23, 60 * 25, 60 * 24 * 400]),
        _offsets,
    ),
    st.builds(
        _absolute,
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
            lambda moment: moment.replace(microsecond=0)
        ),
        _offsets,
    ),
)


# -- JSON shapes --------------------------------------------------------------------------------


def deep_json(levels: int, *, opener: str = "[", closer: str = "]") -> bytes:
    """``levels`` nested arrays (or objects, with ``{"a":`` as opener), as raw bytes: no
    JSON library can build it, which is the point."""
    return (opener * levels + closer * levels).encode()


HUGE_NUMBERS: tuple[str, ...] = (
    "1e400",
    "-1e400",
    "1" + "0" * 5000,
    "4.0000000000000000000000000000000001",
    "NaN",
    "Infinity",
    "-Infinity",
    "9" * 30,
    "1e-400",
    "-0",
)
