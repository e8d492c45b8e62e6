"""What one app holds for its whole life: settings, engine, session factories, limiters.

``WebOptions`` is the web layer's view of ``cxpulse.config.Settings`` (cookies, sessions,
rate limits), built from it once per app.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from cxpulse.act import login_notices
from cxpulse.collect.links import LinkSigner
from cxpulse.config import Settings
from cxpulse.store.login_attempts import DEFAULT_POLICY, LockoutPolicy
from cxpulse.store.rate_buckets import SharedBuckets
from cxpulse.web.key_cache import KeyCache
from cxpulse.web.tokens import SessionSigner, TokenBucket

if TYPE_CHECKING:
    from cxpulse.web.access import Principal
    from cxpulse.web.submissions import SubmissionWriter


@dataclass(frozen=True)
class WebOptions:
    """Cookies, sessions and rate limits, as ``CXPULSE_COOKIE_SECURE`` and friends set them."""

    cookie_secure: bool = True
    session_max_age_seconds: int = 12 * 3600
    login_burst: int = 10
    login_per_minute: float = 10.0
    public_burst: int = 30
    public_per_minute: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> WebOptions:
        return cls(
            cookie_secure=settings.cookie_secure,
            session_max_age_seconds=int(settings.session_hours * 3600),
            login_burst=settings.login_burst,
            login_per_minute=settings.login_per_minute,
            public_burst=settings.public_burst,
            public_per_minute=settings.public_per_minute,
        )


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    owns_engine: bool
    sessions: sessionmaker[Session]
    """Sessions for requests that change something (on SQLite: BEGIN IMMEDIATE)."""
    read_sessions: sessionmaker[Session]
    """Sessions for requests that only read (on SQLite they never take the write lock)."""
    signer: SessionSigner
    login_limiter: TokenBucket
    write_lock: asyncio.Lock | None = field(default=None)
    """On SQLite, the queue of writing requests (made at start-up, in the server's loop)."""
    connection_slots: asyncio.Semaphore | None = field(default=None)
    """One per pooled connection: the queue for a database session (see ``deps``)."""
    public_limiter: TokenBucket = field(default_factory=lambda: TokenBucket(30, 60.0))
    """Submissions from survey pages and the widget, per client address (429 beyond)."""
    options: WebOptions = field(init=False)
    """The settings of the web layer (see ``WebOptions``)."""
    links: LinkSigner = field(init=False)
    """Signs and checks the personal links of invitations (made from the secret key)."""
    api_keys: KeyCache[Principal] = field(default_factory=KeyCache)
    """API keys checked in the last seconds, for the submission route (see ``key_cache``)."""
    submissions: SubmissionWriter = field(init=False)
    """Commits single submissions in groups (see ``submissions``); started by the lifespan."""
    rate_buckets: SharedBuckets | None = None
    """On PostgreSQL, the rate limits' buckets shared by every process (``store.rate_buckets``);
    None on SQLite, whose single process counts in memory."""
    lockout: LockoutPolicy = DEFAULT_POLICY
    """When wrong passwords lock an account's logins (``store.login_attempts``)."""
    next_lockout_purge: float = 0.0
    """``time.monotonic()`` after which a failed login also deletes stale tallies."""

    def __post_init__(self) -> None:
        from cxpulse.web.submissions import SubmissionWriter

        # The worker of this process (CXPULSE_INLINE_WORKER) sends the notices that logins
        # queue; act's own job, registered here because act cannot know who runs a worker.
        login_notices.register()

        self.options = WebOptions.from_settings(self.settings)
        self.links = LinkSigner(
            self.settings.secret_key, previous_secret_keys=self.settings.previous_secret_keys
        )
        self.submissions = SubmissionWriter(self)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@asynccontextmanager
async def database_turn(state: AppState, *, writes: bool) -> AsyncIterator[None]:
    """Wait in the event loop for a pooled connection (and on SQLite, for a writer's turn).

    Hold it while using one session, and never wait for a second turn while holding one:
    that keeps sync code from ever blocking a worker thread on an exhausted pool.
    """
    async with AsyncExitStack() as stack:
        if writes and state.write_lock is not None:
            await stack.enter_async_context(state.write_lock)
        if state.connection_slots is not None:
            await stack.enter_async_context(state.connection_slots)
        yield


def app_state(connection: HTTPConnection) -> AppState:
    state = connection.app.state.cxpulse
    assert isinstance(state, AppState)
    return state


_startup_frozen = False


def freeze_startup_objects() -> None:
    """Exclude what exists once the first app has started (modules, the app, caches) from
    garbage collection, once per process.

    Otherwise every full collection walks those hundreds of thousands of long-lived objects:
    under load one ran about every second and stopped the server for ~45 ms each time, the
    whole of the p99 latency of submissions. Objects made later are collected as usual.
    """
    global _startup_frozen
    if not _startup_frozen:
        _startup_frozen = True
        gc.collect()
        gc.freeze()


def thaw_startup_objects() -> None:
    """Undo ``freeze_startup_objects`` when the app stops, so that what it froze can be freed
    (tests start and stop many apps in one process)."""
    global _startup_frozen
    if _startup_frozen:
        _startup_frozen = False
        gc.unfreeze()
