"""Checks and normalisations shared by the repositories."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
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
