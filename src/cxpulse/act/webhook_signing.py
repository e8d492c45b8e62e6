"""Signing webhooks in the Standard Webhooks style (https://www.standardwebhooks.com), and the
check a receiver makes. Pure: no I/O, no clock unless given one.

A request carries three headers:

- ``webhook-id``: the event's id (``msg_...``), the same on every attempt and replay, which
  receivers deduplicate on;
- ``webhook-timestamp``: the attempt's Unix time in seconds, so a receiver can refuse an old
  request replayed by someone who captured it;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, one per secret,
  separated by spaces. During a secret rotation the request is signed with the new and the
  previous secret, so a receiver still holding either accepts it.

A secret is ``whsec_`` followed by the base64 of its key bytes (24 to 64 bytes); new ones
are made by ``store.webhooks.new_secret``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from datetime import datetime

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "SECRET_PREFIX",
    "InvalidSignature",
    "request_headers",
    "secret_key",
    "sign",
    "verify",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 - the standard's prefix, not a secret
DEFAULT_TOLERANCE_SECONDS = 300
"""How far a request's timestamp may be from the receiver's clock (5 minutes, as the
standard suggests)."""
_EVENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class InvalidSignature(ValueError):
    """The request is not signed by any of the secrets, or is too old or too new."""


def secret_key(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret; ValueError for anything else."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is whsec_ and base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("a webhook secret holds 24 to 64 bytes")
    return key


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<signature>`` of one request."""
    # The id and timestamp are ours, never a caller's text: a dot in them could make two
    # different requests sign the same bytes.
    if not _EVENT_ID.fullmatch(event_id):
        raise ValueError("an event id is 1 to 64 letters, digits, '_' or '-'")
    signed = f"{event_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def request_headers(
    event_id: str, timestamp: int, body: bytes, secrets_: Iterable[str]
) -> dict[str, str]:
    """The three headers of a request signed with each of ``secrets_`` (newest first)."""
    signatures = [sign(secret, event_id, timestamp, body) for secret in secrets_]
    if not signatures:
        raise ValueError("a request is signed with at least one secret")
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(signatures),
    }


def verify(
    secrets_: str | Iterable[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> str:
    """The event id of a request whose signature matches one of ``secrets_`` and whose
    timestamp is within ``tolerance_seconds`` of ``now``; InvalidSignature otherwise.
    ``headers`` may be any mapping, looked up without regard to case."""
    lowered = {name.lower(): value for name, value in headers.items()}
    event_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "")
    sent = lowered.get("webhook-signature", "")
    if not event_id or not stamp or not sent:
        raise InvalidSignature("the webhook-id, -timestamp and -signature headers are required")
    if not stamp.isascii() or not stamp.isdecimal() or len(stamp) > 12:
        raise InvalidSignature("webhook-timestamp is not a Unix time in seconds")
    if abs(now.timestamp() - int(stamp)) > tolerance_seconds:
        raise InvalidSignature("webhook-timestamp is too far from now")
    keys = [secrets_] if isinstance(secrets_, str) else list(secrets_)
    offered = [part.strip() for part in sent.split(" ") if part.strip().startswith("v1,")]
    for secret in keys:
        try:
            expected = sign(secret, event_id, int(stamp), body)
        except ValueError:
            raise InvalidSignature("the event id or secret is malformed") from None
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return event_id
    raise InvalidSignature("no signature matches")
