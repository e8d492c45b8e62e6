"""The database session of a request, and the queues in front of it.

One session per request, from the read-only factory for GET and HEAD (on SQLite those never
wait for the write lock) and from the writing factory otherwise. Routes that change something
commit explicitly before they answer, so a 2xx always means stored; the session is closed
(and anything uncommitted rolled back) before the response is sent.

Requests queue in the event loop, where waiting costs no worker thread, before their session
starts:

- for a database connection: at most as many requests hold a session as the engine's pool
  has connections. Without this queue, sync routes deadlock under load: every worker thread
  waits for a connection while the requests holding the connections wait for a worker thread
  to continue on.
- on SQLite, writing requests also queue for the single write lock. SQLite's own waiting is
  polling with growing sleeps (busy_timeout), which under 32 concurrent writers wastes most of
  the time and gives second-long tails; a FIFO queue hands the lock over at once. Other
  processes on the same file still wait through busy_timeout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from cxpulse.web.state import SAFE_METHODS, app_state, database_turn


def pool_capacity(engine: Engine) -> int | None:
    """How many connections the engine's pool hands out at most; None when unbounded."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return None
    overflow = int(getattr(pool, "_max_overflow", 0))
    return None if overflow < 0 else pool.size() + overflow


async def _database_turn(request: Request) -> AsyncIterator[None]:
    async with database_turn(app_state(request), writes=request.method not in SAFE_METHODS):
        yield


async def get_session(
    request: Request, _turn: Annotated[None, Depends(_database_turn, scope="function")]
) -> AsyncIterator[Session]:
    """The request's session, used by authentication and then by the route. Nothing else in
    the request takes a turn while it holds this one (a key's last use is recorded after the
    answer), so waiting never nests."""
    # Async, so that opening and (usually) closing cost no trip through the thread pool:
    # making a session touches no database, and after a commit closing it does not either.
    state = app_state(request)
    factory = state.read_sessions if request.method in SAFE_METHODS else state.sessions
    session = factory()
    try:
        yield session
    finally:
        if session.in_transaction():
            # A rollback talks to the database: not on the event loop.
            await run_in_threadpool(session.close)
        else:
            session.close()


DbSession = Annotated[Session, Depends(get_session, scope="function")]
