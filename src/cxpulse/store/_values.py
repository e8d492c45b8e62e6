"""Checks and normalisations shared by the repositories."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Final

from email_validator import EmailNotValidError, validate_email

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


MAX_EMAIL_LENGTH = 320


def email_problem(address: str) -> str | None:
    """Why ``address`` cannot be emailed, or None when it can.

    Strict on purpose: the address goes into the To header, so a control character or line
    break would let it add headers or body text, and we send without SMTPUTF8, so non-ASCII
    addresses could not be delivered anyway (an international domain is accepted in its
    ASCII form, ``xn--...``). The shape checks below give the messages people meet most;
    email-validator then checks the rest of the syntax (``a..b@x.com``, ``a@-x.com``, reserved
    names such as ``.invalid`` or ``.local``; ``.test`` stays allowed for test set-ups).
    """
    if len(address) > MAX_EMAIL_LENGTH:
        return f"is {len(address)} characters long; at most {MAX_EMAIL_LENGTH} are allowed"
    local, at, domain = address.partition("@")
    if any(_unsafe(c) for c in address):
        # Only letters beyond ASCII in the domain: say how to write it instead.
        if (
            at
            and not any(_unsafe(c) for c in local)
            and not any(ord(c) < 0x80 and _unsafe(c) for c in domain)
        ):
            ascii_domain = _ascii_domain(domain)
            if ascii_domain is not None:
                return f"needs its domain in ASCII form: {local}@{ascii_domain}"
        return "may hold only ASCII letters, digits and punctuation (no spaces or line breaks)"
    if not at or "@" in domain:
        return "needs exactly one @"
    if not local:
        return "needs a name before the @"
    if "." not in domain or domain.startswith(".") or domain.endswith("."):
        return "needs a domain with a dot after the @, such as example.com"
    try:
        validate_email(
            address,
            check_deliverability=False,
            allow_smtputf8=False,
            test_environment=True,
        )
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        return f"is not a valid address: {reason[:1].lower()}{reason[1:]}"
    return None


def _unsafe(character: str) -> bool:
    """A space, control character or non-ASCII character: not for a header we send."""
    return ord(character) <= 0x20 or ord(character) >= 0x7F


def _ascii_domain(domain: str) -> str | None:
    """The ASCII (IDNA) form of an international domain name, or None when it has none."""
    try:
        checked = validate_email("x@" + domain, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return None
    return checked.ascii_domain


def email(field: str, value: str | None, *, index: int | None = None) -> str | None:
    """A trimmed email address that is safe to put in a header; empty means absent."""
    address = text(field, value, MAX_EMAIL_LENGTH, index=index)
    if address is None:
        return None
    problem = email_problem(address)
    if problem is not None:
        raise Invalid(field, problem, index=index)
    return address
