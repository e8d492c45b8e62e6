"""Signed session cookies, and the rate limiter of logins and public pages.

A session cookie is a token of ``cxpulse.signing`` (purpose ``session``) carrying the secret
of a server-side session (``store.web_sessions``), the CSRF token and the expiry, signed
under ``CXPULSE_SECRET_KEY`` (or, until they expire, a previous secret key). The signature
turns away forged and damaged cookies without a query; the session row decides whether the
session is still valid, so that logging out, "sign out everywhere", an admin, a password
change or a deactivated user end it at once.
"""

from __future__ import annotations

import ipaddress
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


@dataclass(frozen=True)
class SessionData:
    secret: str
    """The server-side session's secret (``store.web_sessions``)."""
    csrf_token: str
    expires_at: int


class SessionSigner:
    def __init__(
        self, secret_key: str, max_age_seconds: int, *, previous_secret_keys: Sequence[str] = ()
    ) -> None:
        self._signer = Signer(secret_key, previous_secret_keys)
        self.max_age_seconds = max_age_seconds

    def issue(self, secret: str, *, expires_at: int | None = None) -> SessionData:
        """The cookie's content for the session ``secret``, with a new CSRF token."""
        ends = int(time.time()) + self.max_age_seconds if expires_at is None else expires_at
        return SessionData(secret=secret, csrf_token=secrets.token_urlsafe(32), expires_at=ends)

    def dumps(self, data: SessionData) -> str:
        claims: list[Claim] = [data.secret, data.csrf_token]
        return self._signer.dumps(_SESSION, claims, expires_at=data.expires_at)

    def loads(self, token: str, *, now: float | None = None) -> SessionData | None:
        """The session in ``token``, or None when it is forged, damaged, expired or from
        before sessions were kept on the server."""
        try:
            signed = self._signer.loads(_SESSION, token, now=now)
        except TokenProblem:
            return None
        match signed.claims:
            case (str() as secret, str() as csrf_token) if secret and csrf_token:
                return SessionData(secret, csrf_token, signed.expires_at)
            case _:
                return None


def client_key(address: str) -> str:
    """What a rate limit or lockout counts a client by: its IPv4 address, or the /64 network
    of an IPv6 one (one subscriber gets a whole /64, and could rotate through it)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


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
        """0 when ``client`` may go ahead (a token is spent), else seconds until it may.

        ``client`` is an address, counted by ``client_key`` (an IPv6 client by its /64)."""
        client = client_key(client)
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
