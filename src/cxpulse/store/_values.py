"""Checks and normalisations shared by the repositories."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Final

from cxpulse.store.errors import Invalid


class _Unset(enum.Enum):
    TOKEN = 0


UNSET: Final = _Unset.TOKEN
"""Marks a keyword argument of an update function as "leave unchanged" (None may mean clear)."""
Unset = _Unset

MAX_KEY_LENGTH = 100
MAX_TEXT_VALUE_LENGTH = 1000
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")


def slug(field: str, value: str) -> str:
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise Invalid(
            field,
            "use 1 to 64 lower-case letters, digits and inner hyphens, such as 'support-csat'",
        )
    return value


def text(
    field: str,
    value: str | None,
    max_length: int,
    *,
    required: bool = False,
    index: int | None = None,
) -> str | None:
    """Trimmed text; empty means absent, so '' and None are stored alike (as NULL)."""
    if value is None:
        if required:
            raise Invalid(field, "is required", index=index)
        return None
    if not isinstance(value, str):
        raise Invalid(field, f"must be text, not {type(value).__name__}", index=index)
    value = value.strip()
    if not value:
        if required:
            raise Invalid(field, "must not be blank", index=index)
        return None
    if len(value) > max_length:
        raise Invalid(
            field, f"is {len(value)} characters long; at most {max_length} are allowed", index=index
        )
    return value


def required_text(field: str, value: str, max_length: int, *, index: int | None = None) -> str:
    result = text(field, value, max_length, required=True, index=index)
    assert result is not None
    return result


def text_mapping(
    field: str, value: Mapping[str, object] | None, *, index: int | None = None
) -> dict[str, str]:
    """Segment attributes as text, so that filters and grouping behave alike on both databases.

    JSON numbers and booleans would otherwise compare differently on SQLite (json_extract
    gives SQL numbers) and PostgreSQL (``->>`` gives text); ``None`` drops the key.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Invalid(field, "must be an object of names to values", index=index)
    result: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
            raise Invalid(
                field, f"names must be 1 to {MAX_KEY_LENGTH} characters, got {key!r}", index=index
            )
        if item is None:
            continue
        if isinstance(item, bool):
            rendered = "true" if item else "false"
        elif isinstance(item, int):
            rendered = str(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise Invalid(f"{field}.{key}", "must be a finite number", index=index)
            rendered = str(int(item)) if item.is_integer() else repr(item)
        elif isinstance(item, str):
            rendered = item
        else:
            raise Invalid(
                f"{field}.{key}",
                f"must be text, a number or a boolean, not {type(item).__name__}",
                index=index,
            )
        if len(rendered) > MAX_TEXT_VALUE_LENGTH:
            raise Invalid(
                f"{field}.{key}", f"is longer than {MAX_TEXT_VALUE_LENGTH} characters", index=index
            )
        result[key] = rendered
    return result


def aware(field: str, value: datetime, *, index: int | None = None) -> datetime:
    if not isinstance(value, datetime):
        raise Invalid(field, f"must be a date and time, not {type(value).__name__}", index=index)
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(field, "needs a time zone (such as Z or +02:00)", index=index)
    return value.astimezone(UTC)


def instant(field: str, value: date | datetime) -> datetime:
    """A bound of a date range: a date means midnight UTC at its start."""
    if isinstance(value, datetime):
        return aware(field, value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise Invalid(field, f"must be a date or a date and time, not {type(value).__name__}")


# -- dates of answers --------------------------------------------------------------------------

EARLIEST_ANSWER: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""The earliest moment an answer may carry (imports of old data reach back to 1970)."""
FUTURE_ALLOWANCE: Final = timedelta(days=1)
"""How far past now an answer's time may lie: clocks and time zones differ by hours, not days.

A date far in the future would move every default dashboard window to an empty year (and
9999-12-31 cannot have a day added to it at all), so it is refused at every door."""


def answer_time_problem(value: datetime, now: datetime | None = None) -> str | None:
    """Why ``value`` (time-zone aware) cannot be an answer's time, or None when it can."""
    latest = (now or datetime.now(UTC)) + FUTURE_ALLOWANCE
    if value < EARLIEST_ANSWER:
        return "must be on or after 1970-01-01"
    if value > latest:
        return "must not be more than one day in the future"
    return None


# -- text --------------------------------------------------------------------------------------

ALLOWED_CONTROLS: Final = frozenset("\t\n\r")
"""Control characters that text may hold: tab and line breaks (a browser's textarea sends CR LF).
Every other C0 control, DEL and the C1 controls are refused: NUL cannot be stored on
PostgreSQL, and the rest are invisible, break CSV and email headers, or hide text."""


def control_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (a control character), or None when it can."""
    for position, character in enumerate(value):
        code = ord(character)
        if (code < 0x20 or 0x7F <= code < 0xA0) and character not in ALLOWED_CONTROLS:
            return f"holds the control character U+{code:04X} at position {position + 1}"
    return None
