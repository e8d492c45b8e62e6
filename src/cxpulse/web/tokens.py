"""Signed session cookies and the login rate limiter.

A session cookie is ``<payload>.<signature>``: the payload is URL-safe base64 of a small JSON
object (user id, CSRF token, password fingerprint, expiry), the signature an HMAC-SHA256 of it
under a key derived from ``CXPULSE_SECRET_KEY``. Nothing is stored on the server, so:

- the session ends at its expiry, or at once when the user is deactivated, or when their
  password changes (the fingerprint of the password hash no longer matches);
- logging out deletes the cookies in the browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

SESSION_COOKIE = "cxpulse_session"
CSRF_COOKIE = "cxpulse_csrf"
CSRF_HEADER = "X-CSRF-Token"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SessionData:
    user_id: int
    csrf_token: str
    fingerprint: str
    expires_at: int


class SessionSigner:
    def __init__(self, secret_key: str, max_age_seconds: int) -> None:
        self._key = hashlib.sha256(b"cxpulse-session\0" + secret_key.encode("utf-8")).digest()
        self.max_age_seconds = max_age_seconds

    def fingerprint(self, password_hash: str) -> str:
        digest = hmac.new(self._key, password_hash.encode("utf-8"), hashlib.sha256).digest()
        return _b64(digest[:12])

    def issue(self, user_id: int, password_hash: str, *, now: float | None = None) -> SessionData:
        moment = time.time() if now is None else now
        return SessionData(
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            fingerprint=self.fingerprint(password_hash),
            expires_at=int(moment) + self.max_age_seconds,
        )

    def dumps(self, data: SessionData) -> str:
        document = {"u": data.user_id, "c": data.csrf_token, "f": data.fingerprint}
        document["e"] = data.expires_at
        payload = _b64(json.dumps(document, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._sign(payload)}"

    def loads(self, token: str, *, now: float | None = None) -> SessionData | None:
        """The session in ``token``, or None when it is forged, damaged or expired."""
        payload, dot, signature = token.partition(".")
        if not dot or not hmac.compare_digest(self._sign(payload), signature):
            return None
        try:
            document = json.loads(_unb64(payload))
            data = SessionData(
                user_id=int(document["u"]),
                csrf_token=str(document["c"]),
                fingerprint=str(document["f"]),
                expires_at=int(document["e"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if data.expires_at <= (time.time() if now is None else now):
            return None
        return data

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())


class TokenBucket:
    """Per-client token buckets: ``burst`` attempts at once, ``per_minute`` regained a minute.

    In memory, per process: behind several processes each one counts on its own, which still
    bounds guessing to a small multiple of the rate.
    """

    MAX_CLIENTS = 10_000

    def __init__(
        self, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = float(burst)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, client: str) -> float:
        """0 when ``client`` may go ahead (a token is spent), else seconds until it may."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                if len(self._buckets) > self.MAX_CLIENTS:
                    self._forget_full(now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop clients whose bucket has refilled: they are indistinguishable from new ones."""
        full = [
            client
            for client, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.burst
        ]
        for client in full:
            del self._buckets[client]
        if len(self._buckets) > self.MAX_CLIENTS:
            # Many clients busy at once: forget the least recently seen half.
            by_age = sorted(self._buckets, key=lambda client: self._buckets[client][1])
            for client in by_age[: len(by_age) // 2]:
                del self._buckets[client]


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
