"""Rate limits that hold for the whole service: token buckets in PostgreSQL's ``rate_buckets``.

With several server processes (``cxpulse serve --workers N``, or servers on several
machines), buckets kept in each process's memory would let a client make N times the
attempts before a 429. Here every process takes its tokens from the same row, with one
autocommit statement (an UPSERT ... RETURNING on an UNLOGGED table: no WAL, no transaction
around it), so the limit counts every process's attempts.

A bucket is stored as the moment it will be full again, ``full_at`` (the "theoretical
arrival time" of the generic cell rate algorithm), by the database's clock, so machines whose
clocks differ agree. With ``interval`` = seconds per token and ``tolerance`` = (burst - 1) *
interval, an attempt at ``now`` is allowed when ``full_at - now <= tolerance``, and then moves
``full_at`` to ``max(full_at, now) + interval``; a refused attempt changes nothing. The tokens
left are ``burst - (full_at - now) / interval``; a row whose ``full_at`` has passed is the same
as no row, and ``purge`` deletes those.

The statements run on connections of their own (a small pool beside the app's), so that a
limiter never waits behind the requests holding the app's connections; each has a short
statement timeout, and ``SharedBuckets.take`` raises ``BucketsUnavailable`` when the database
does not answer in time, for the caller to fall back on its own memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from cxpulse.store.db import create_engine_for, normalise_url

STATEMENT_TIMEOUT_MS = 250
"""How long a take may wait for the database (a row locked by a stuck transaction, a
database under strain) before the caller falls back on its per-process bucket."""
CONNECT_TIMEOUT_SECONDS = 2
POOL_SIZE = 2
"""Connections per process: a statement takes well under a millisecond, so two serve a busy
process; more requests at once wait ``POOL_WAIT_SECONDS`` at most for one."""
POOL_WAIT_SECONDS = 0.25

_NOW = "extract(epoch FROM statement_timestamp())"

_TAKE = f"""
INSERT INTO rate_buckets AS b (bucket, full_at, allowed)
VALUES (%(bucket)s, {_NOW} + %(interval)s, true)
ON CONFLICT (bucket) DO UPDATE SET
    full_at = CASE
        WHEN b.full_at - {_NOW} <= %(tolerance)s
        THEN greatest(b.full_at, {_NOW}) + %(interval)s
        ELSE b.full_at
    END,
    allowed = b.full_at - {_NOW} <= %(tolerance)s
RETURNING allowed, full_at - {_NOW}
"""

_PURGE = f"DELETE FROM rate_buckets WHERE full_at < {_NOW}"


class BucketsUnavailable(Exception):
    """The database did not answer a take in time (or at all)."""


@dataclass(frozen=True)
class Taken:
    """The outcome of one attempt on a shared bucket."""

    allowed: bool
    ahead: float
    """Seconds until the bucket is full again (0 or more)."""

    def tokens(self, burst: float, per_minute: float) -> float:
        """The tokens left after the attempt."""
        return max(0.0, burst - self.ahead * per_minute / 60.0)

    def wait(self, burst: float, per_minute: float) -> float:
        """0 when allowed, else seconds until the next attempt may go through."""
        if self.allowed:
            return 0.0
        return max(0.0, (1.0 - self.tokens(burst, per_minute)) * 60.0 / per_minute)


class SharedBuckets:
    """The shared buckets of one PostgreSQL database, for all the limits of a process."""

    def __init__(self, url: str | URL) -> None:
        self._engine = _engine(normalise_url(url))

    @property
    def engine(self) -> Engine:
        return self._engine

    def take(self, bucket: str, burst: float, per_minute: float) -> Taken:
        """Spend a token of ``bucket`` (made full on first use) if it has one."""
        interval = 60.0 / per_minute
        params = {
            "bucket": bucket[:120],
            "interval": interval,
            "tolerance": max(0.0, burst - 1.0) * interval,
        }
        row = self._run(_TAKE, params)
        if row is None:  # never: an UPSERT always returns its row
            raise BucketsUnavailable("the bucket's row was not returned")
        return Taken(allowed=bool(row[0]), ahead=max(0.0, float(row[1])))

    def purge(self) -> None:
        """Delete the buckets that are full again (the same as absent)."""
        self._run(_PURGE, None)

    def close(self) -> None:
        self._engine.dispose()

    def _run(self, statement: str, params: dict[str, Any] | None) -> tuple[Any, ...] | None:
        try:
            connection = self._engine.raw_connection()
        except Exception as error:
            raise BucketsUnavailable(f"no connection: {error}") from error
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(statement, params)
                row: tuple[Any, ...] | None = cursor.fetchone() if cursor.description else None
            finally:
                cursor.close()
        except Exception as error:
            # A broken or timed-out connection must not go back to the pool as is.
            connection.invalidate()
            raise BucketsUnavailable(str(error).strip() or type(error).__name__) from error
        else:
            connection.close()  # back to the pool
        return row


def _engine(url: URL) -> Engine:
    if url.get_backend_name() != "postgresql":
        raise ValueError("shared rate limits need PostgreSQL; SQLite keeps them in memory")
    given = url.query.get("options")
    options = f"-c timezone=UTC -c statement_timeout={STATEMENT_TIMEOUT_MS}"
    return create_engine_for(
        url,
        isolation_level="AUTOCOMMIT",
        pool_size=POOL_SIZE,
        max_overflow=0,
        pool_timeout=POOL_WAIT_SECONDS,
        pool_pre_ping=False,  # a failed statement invalidates its connection instead
        pool_reset_on_return=None,  # autocommit: nothing to roll back
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            # Options of the URL (a search_path) are kept, as create_engine_for keeps them.
            "options": f"{given} {options}" if isinstance(given, str) else options,
        },
    )
