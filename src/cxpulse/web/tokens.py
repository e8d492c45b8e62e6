"""Signed session cookies and the login rate limiter.

A session cookie is a token of ``cxpulse.signing`` (purpose ``session``) carrying the user id,
the CSRF token, a fingerprint of the password hash and the expiry, signed under
``CXPULSE_SECRET_KEY`` (or, until they expire, a previous secret key). Nothing is stored on
the server, so:

- the session ends at its expiry, or at once when the user is deactivated, or when their
  password changes (the fingerprint of the password hash no longer matches);
- logging out deletes the cookies in the browser.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cxpulse.signing import Claim, Signer, TokenProblem

SESSION_COOKIE = "cxpulse_session"
CSRF_COOKIE = "cxpulse_csrf"
CSRF_HEADER = "X-CSRF-Token"

_SESSION = "session"
_PASSWORD = "session-password"  # noqa: S105 (a purpose, not a password)


@dataclass(frozen=True)
class SessionData:
    user_id: int
    csrf_token: str
    fingerprint: str
    expires_at: int


class SessionSigner:
    def __init__(
        self, secret_key: str, max_age_seconds: int, *, previous_secret_keys: Sequence[str] = ()
    ) -> None:
        self._signer = Signer(secret_key, previous_secret_keys)
        self.max_age_seconds = max_age_seconds

    def fingerprint(self, password_hash: str) -> str:
        """The fingerprint of ``password_hash`` under the current secret key."""
        return self._signer.fingerprint(_PASSWORD, password_hash)

    def fingerprint_matches(self, password_hash: str, fingerprint: str) -> bool:
        """Whether ``fingerprint`` is that of ``password_hash`` under any of the secret keys
        (a session made before a key rotation stays valid)."""
        return self._signer.fingerprint_matches(_PASSWORD, password_hash, fingerprint)

    def issue(self, user_id: int, password_hash: str, *, now: float | None = None) -> SessionData:
        moment = time.time() if now is None else now
        return SessionData(
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            fingerprint=self.fingerprint(password_hash),
            expires_at=int(moment) + self.max_age_seconds,
        )

    def dumps(self, data: SessionData) -> str:
        claims: list[Claim] = [data.user_id, data.csrf_token, data.fingerprint]
        return self._signer.dumps(_SESSION, claims, expires_at=data.expires_at)

    def loads(self, token: str, *, now: float | None = None) -> SessionData | None:
        """The session in ``token``, or None when it is forged, damaged or expired."""
        try:
            signed = self._signer.loads(_SESSION, token, now=now)
        except TokenProblem:
            return None
        match signed.claims:
            case (int() as user_id, str() as csrf_token, str() as fingerprint):
                return SessionData(user_id, csrf_token, fingerprint, signed.expires_at)
            case _:
                return None


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
