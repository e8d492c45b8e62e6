"""The page token of keyset pagination over responses: a (submitted_at, id) cursor as opaque,
URL-safe text, and back. The condition that starts a page after a cursor is
``store.keyset.after_key``."""

from __future__ import annotations

from datetime import datetime

from cxpulse.signing import urlsafe_b64decode, urlsafe_b64encode
from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid

Cursor = tuple[datetime, int]
"""Position after which a page starts: the (submitted_at, id) of the previous page's last row."""


def encode_cursor(cursor: Cursor) -> str:
    """An opaque, URL-safe page token for APIs."""
    moment, last_id = cursor
    return urlsafe_b64encode(f"{values.aware('after', moment).isoformat()}|{last_id}".encode())


def decode_cursor(token: str) -> Cursor:
    """The cursor of a page token from ``encode_cursor``; Invalid (on ``after``) for any
    other text."""
    try:
        raw = urlsafe_b64decode(token).decode("utf-8")
        moment_text, _, id_text = raw.partition("|")
        moment = datetime.fromisoformat(moment_text)
        return values.aware("after", moment), int(id_text)
    except ValueError:  # UnicodeDecodeError is one
        raise Invalid("after", "is not a page token this server gave out") from None
