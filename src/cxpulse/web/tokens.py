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
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from cxpulse.signing import Claim, Signer, TokenProblem
from cxpulse.store.rate_buckets import BucketsUnavailable, SharedBuckets

logger = logging.getLogger("cxpulse.web")

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

    In memory, per process: the limiter of one process (SQLite's single server process).
    Several processes on PostgreSQL share theirs through the database (``SharedTokenBucket``).
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

    async def take_async(self, client: str) -> float:
        """``take`` from an async handler: in memory it cannot block the event loop."""
        return self.take(client)

    def wait(self, client: str) -> float:
        """What ``take`` would answer, without spending a token (``client`` as counted by
        ``client_key`` already)."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def settle(self, client: str, tokens: float) -> None:
        """Set ``client``'s bucket (counted by ``client_key`` already) to ``tokens`` now."""
        with self._lock:
            self._buckets[client] = (min(self.burst, max(0.0, tokens)), self._clock())
            if len(self._buckets) > self.MAX_CLIENTS:
                self._forget_full(self._clock())

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


class SharedTokenBucket(TokenBucket):
    """The same limit, counted for every process on one PostgreSQL database.

    Each allowed attempt costs one short statement (``store.rate_buckets``). This process's
    own buckets mirror the last state the database answered, refilled since: other
    processes can only have spent more, so a client this memory refuses is refused without
    a statement (a client hammering a limit costs no database work until its bucket
    refills). When the database does not answer in time, the process falls back on its own
    buckets, the limit of one process, and says so in the log once a minute at most.
    """

    PURGE_SECONDS = 60.0
    """How often a process deletes the buckets that are full again."""

    def __init__(
        self,
        name: str,
        burst: int,
        per_minute: float,
        buckets: SharedBuckets,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(burst, per_minute, clock)
        self.name = name
        self.per_minute = per_minute
        self.buckets = buckets
        self._next_purge = clock() + self.PURGE_SECONDS
        self._next_warning = 0.0

    def take(self, client: str) -> float:
        client = client_key(client)
        wait = self.wait(client)
        if wait:
            return wait
        try:
            taken = self.buckets.take(f"{self.name}:{client}", self.burst, self.per_minute)
        except BucketsUnavailable as error:
            self._warn(error)
            return super().take(client)
        self.settle(client, taken.tokens(self.burst, self.per_minute))
        self._purge_now_and_then()
        return taken.wait(self.burst, self.per_minute)

    async def take_async(self, client: str) -> float:
        """``take`` from an async handler: a refusal from memory at once, an allowed
        attempt's statement in the thread pool, so that the event loop never waits on the
        database."""
        wait = self.wait(client_key(client))
        if wait:
            return wait
        return await run_in_threadpool(self.take, client)

    def _purge_now_and_then(self) -> None:
        now = self._clock()
        if now < self._next_purge:
            return
        self._next_purge = now + self.PURGE_SECONDS
        try:
            self.buckets.purge()
        except BucketsUnavailable as error:
            self._warn(error)

    def _warn(self, error: BucketsUnavailable) -> None:
        now = self._clock()
        if now >= self._next_warning:
            self._next_warning = now + 60.0
            logger.warning(
                "the %s limit is counted by this process alone for now: %s", self.name, error
            )


def limiter(name: str, burst: int, per_minute: float, buckets: SharedBuckets | None) -> TokenBucket:
    """The limit ``name``: shared through ``buckets`` (PostgreSQL), else in this process."""
    if buckets is None:
        return TokenBucket(burst, per_minute)
    return SharedTokenBucket(name, burst, per_minute, buckets)


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
