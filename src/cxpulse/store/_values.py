"""Checks and normalisations shared by the repositories."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping
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
    """Trimmed text; empty means absent, so '' and None are stored alike (as NULL).

    Every text a person or a program sends passes here (or through ``text_problem``), so
    the API, the survey pages, the widget, imports and the command line refuse the same
    characters with the same words."""
    if value is None:
        if required:
            raise Invalid(field, "is required", index=index)
        return None
    if not isinstance(value, str):
        raise Invalid(field, f"must be text, not {type(value).__name__}", index=index)
    # Before trimming: Python's strip() takes some controls (U+001C to U+001F) for spaces.
    problem = text_problem(value)
    if problem is not None:
        raise Invalid(field, problem, index=index)
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

    Names follow ``name_problem`` and text values ``text_problem``; a problem with a name is
    reported on ``field`` (the name may hold dots), one with a value on ``field.<name>``.

    JSON numbers and booleans would otherwise compare differently on SQLite (json_extract
    gives SQL numbers) and PostgreSQL (``->>`` gives text); ``None`` drops the key.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Invalid(field, "must be an object of names to values", index=index)
    result: dict[str, str] = {}
    for key, item in value.items():
        problem = name_problem(key)
        if problem is not None:
            raise Invalid(field, f"name {key!r} {problem}", index=index)
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
            problem = text_problem(item)
            if problem is not None:
                raise Invalid(f"{field}.{key}", problem, index=index)
        else:
            raise Invalid(
                f"{field}.{key}",
                f"must be text, a number or a boolean, not {type(item).__name__}",
                index=index,
            )
        if len(rendered) > MAX_TEXT_VALUE_LENGTH:
            raise Invalid(
                f"{field}.{key}",
                f"is {len(rendered)} characters long; at most {MAX_TEXT_VALUE_LENGTH} are allowed",
                index=index,
            )
        result[key] = rendered
    return result


def aware(field: str, value: datetime, *, index: int | None = None) -> datetime:
    if not isinstance(value, datetime):
        raise Invalid(field, f"must be a date and time, not {type(value).__name__}", index=index)
    offset = value.utcoffset()
    if offset is None:
        raise Invalid(field, "needs a time zone (such as Z or +02:00)", index=index)
    if abs(offset) >= timedelta(hours=24):
        # The parser takes +24:00, which no time zone has and the import refuses.
        raise Invalid(field, "has a time zone offset of 24 hours or more", index=index)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC
        raise Invalid(
            field, "is outside the years 1 to 9999 once converted to UTC", index=index
        ) from None


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


def answer_time(
    field: str, value: datetime, *, now: datetime | None = None, index: int | None = None
) -> datetime:
    """``value`` in UTC when it can be an answer's time (see ``answer_time_problem``)."""
    moment = aware(field, value, index=index)
    problem = answer_time_problem(moment, now)
    if problem is not None:
        raise Invalid(field, problem, index=index)
    return moment


# -- other dates -------------------------------------------------------------------------------

FIRST_DAY: Final = date(1900, 1, 1)
LAST_DAY: Final = date(2999, 12, 31)
"""The days a person may name where nothing is stored (the dates of a dashboard view, the
month of a report, the bounds of an API filter): wide enough for any question about
answers, narrow enough that a view, the period before it and a trend around it stay far
inside the calendar's years 1 to 9999."""


def day_problem(value: date) -> str | None:
    """Why ``value`` cannot bound a question about answers, or None when it can."""
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        return f"must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"
    return None


# -- text --------------------------------------------------------------------------------------

ALLOWED_CONTROLS: Final = frozenset("\t\n\r")
"""Control characters that text may hold: tab and line breaks (a browser's textarea sends CR LF).
Every other C0 control, DEL and the C1 controls are refused: NUL cannot be stored on
PostgreSQL, and the rest are invisible, break CSV and email headers, or hide text."""
_REFUSED_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ANY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
"""Halves of a UTF-16 pair that JSON's \\ud800 escapes can produce alone: not text in UTF-8,
so neither database can store them."""


def _found(pattern: re.Pattern[str], value: str) -> tuple[str, int] | None:
    match = pattern.search(value)
    return None if match is None else (f"U+{ord(match.group()):04X}", match.start() + 1)


def refused_character(value: str) -> tuple[str, int] | None:
    """The first character text may not hold (``U+0000``) and its position from 1, or None:
    for pages that say it in the reader's language rather than in ``text_problem``'s."""
    return _found(_REFUSED_CONTROL, value) or _found(_SURROGATE, value)


def control_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (a control character), or None when it can."""
    found = _found(_REFUSED_CONTROL, value)
    if found is None:
        return None
    return f"holds the control character {found[0]} at position {found[1]}; remove it"


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can: the one rule of text
    fields (comments, names, survey texts, property values ...): no control character but
    tab, CR and LF, and no unpaired surrogate."""
    problem = control_problem(value)
    if problem is not None:
        return problem
    found = _found(_SURROGATE, value)
    if found is None:
        return None
    return f"holds {found[0]} at position {found[1]}, which is not a character; remove it"


# -- names of properties and attributes --------------------------------------------------------


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a response property or a contact attribute, or None.

    Any Unicode text of 1 to ``MAX_KEY_LENGTH`` characters that is not blank and holds no
    control character at all (a name is one line: no tab or line break either). Quotes,
    brackets, dots, backslashes and right-to-left marks are fine: names reach SQL only as
    bound values of JSON paths (``store.sql``), and pages escape them."""
    if not isinstance(name, str):
        return f"must be text, not {type(name).__name__}"
    if not name.strip():
        return "must not be blank"
    if len(name) > MAX_KEY_LENGTH:
        return f"is {len(name)} characters long; at most {MAX_KEY_LENGTH} are allowed"
    found = _found(_ANY_CONTROL, name)
    if found is not None:
        return f"holds the control character {found[0]} at position {found[1]}; remove it"
    return text_problem(name)


def name(field: str, value: object, *, index: int | None = None) -> str:
    """``value`` when it is a property or attribute name (``name_problem``), else Invalid."""
    problem = name_problem(value)
    if problem is not None:
        raise Invalid(field, problem, index=index)
    assert isinstance(value, str)
    return value


# -- JSON documents ----------------------------------------------------------------------------

MAX_JSON_DEPTH: Final = 32
"""Most levels of arrays and objects a JSON body or stored document may nest. The deepest
body cxpulse reads nests 4 levels (a survey's reasons per language); Python's parser gives
up near 1,000 levels with a RecursionError, which must never reach a user as a 500."""


def json_depth_problem(document: object, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why ``document`` (parsed JSON) nests too deeply, or None. Walks without recursion,
    so any depth the parser managed to build is measured safely."""
    if not isinstance(document, dict | list):
        return None
    pending: list[tuple[dict[object, object] | list[object], int]] = [(document, 1)]
    while pending:
        container, depth = pending.pop()
        if depth > limit:
            return f"nests more than {limit} levels of arrays and objects"
        children: Iterable[object] = (
            container.values() if isinstance(container, dict) else container
        )
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return None
