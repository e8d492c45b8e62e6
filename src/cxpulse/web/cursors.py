"""Opaque page tokens for listings paged by id."""

from __future__ import annotations

from cxpulse.signing import urlsafe_b64decode, urlsafe_b64encode
from cxpulse.web.errors import FieldErrors
from cxpulse.web.schemas import MAX_ID


def encode_id_cursor(kind: str, last_id: int) -> str:
    return urlsafe_b64encode(f"{kind}:{last_id}".encode())


def decode_id_cursor(kind: str, token: str) -> int:
    try:
        raw = urlsafe_b64decode(token).decode("ascii")
        tag, _, number = raw.partition(":")
        value = int(number)
        if tag != kind or not 0 <= value <= MAX_ID:
            raise ValueError(raw)
    except ValueError:
        raise FieldErrors.one(["query", "cursor"], "is not a cursor this server gave out") from None
    return value
