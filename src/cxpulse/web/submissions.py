"""Single submissions, committed together: the write path of ``POST /surveys/{id}/responses``.

Storing one response costs a transaction: on SQLite taking the write lock and writing the
WAL, on PostgreSQL a commit that waits for the disk. Under many concurrent submissions
that cost, not the insert, sets the pace. So requests hand their response to a queue and
wait; a writer task takes everything queued (up to ``MAX_GROUP``), stores it in one
transaction with ``responses.add_each_with_keys`` and then answers each request. When
requests come one at a time a group is one response and nothing waits; under load, groups
grow to the number of requests that arrived during the previous commit.

What a caller sees is unchanged:

- a 2xx is answered only after the transaction holding its response committed;
- each response gets its own answer: one bad item (unknown survey or contact, a score off
  the scale) fails alone. If the group's transaction fails as a whole (a survey deleted
  meanwhile, a database error), every response is tried again in a transaction of its own,
  so that only the response at fault gets the error;
- idempotency keys behave as if the group's requests had come one after the other, in
  queue order: the first stores, a repeat answers the stored response with 200;
- the transaction checks that each API key is still not revoked, so a key revoked
  anywhere stops storing at once (see ``key_cache``), and records the key's last use at
  most once a minute.

On SQLite one writer takes its turn on the write lock like any other writing request
(``state.database_turn``); on PostgreSQL ``POSTGRES_WRITERS`` groups may commit at once.

On SQLite the writer also keeps the WAL short with a passive checkpoint at most every
``CHECKPOINT_SECONDS``, run beside the writes. Otherwise SQLite checkpoints inside a commit
every 1,000 pages, and that commit (with everyone waiting for it) also waits for the two
fsyncs of the checkpoint: tens of milliseconds on an ordinary disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import HTTPException
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from cxpulse.store import accounts, responses
from cxpulse.store.db import is_sqlite
from cxpulse.store.responses import NewResponse, StoredResponse
from cxpulse.store.types import utc_now
from cxpulse.web.state import database_turn

if TYPE_CHECKING:
    from cxpulse.web.state import AppState

logger = logging.getLogger("cxpulse.web")

MAX_GROUP = 500
"""Most submissions one transaction stores."""
POSTGRES_WRITERS = 2
"""Transactions of submissions that may run at once on PostgreSQL (SQLite: one)."""
CHECKPOINT_SECONDS = 0.25
"""On SQLite, the least time between two background checkpoints of the WAL."""

Outcome = tuple[StoredResponse, bool] | Exception


def revoked() -> HTTPException:
    return HTTPException(
        401, "this API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"}
    )


@dataclass(frozen=True, slots=True)
class _Pending:
    organisation_id: int
    api_key_id: int | None
    item: NewResponse
    future: asyncio.Future[tuple[StoredResponse, bool]]


class SubmissionWriter:
    """The queue of single submissions and the tasks that commit them in groups.

    ``start()`` in the server's event loop (the app's lifespan does), ``close()`` at shutdown.
    Until started, or after closing, ``submit`` stores each response in its own transaction.
    """

    def __init__(self, state: AppState, *, max_group: int = MAX_GROUP) -> None:
        self._state = state
        self._max_group = max_group
        self._queue: asyncio.Queue[_Pending | None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._touched: dict[int, float] = {}
        """Key id -> when this process last recorded its use (time.monotonic)."""
        self._checkpoint: asyncio.Task[None] | None = None
        self._checkpointed = 0.0
        self.groups = 0
        """Transactions committed by the writers, for statistics."""
        self.submissions = 0
        """Submissions those transactions answered."""

    @property
    def running(self) -> bool:
        return self._queue is not None

    def start(self) -> None:
        writers = 1 if is_sqlite(self._state.engine) else POSTGRES_WRITERS
        self._queue = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._run(self._queue), name=f"cxpulse-submissions-{n}")
            for n in range(writers)
        ]

    async def close(self) -> None:
        """Store what is queued, then stop the writers."""
        queue, self._queue = self._queue, None
        if queue is None:
            return
        queue.put_nowait(None)  # after everything queued; each writer passes it on
        tasks, self._tasks = self._tasks, []
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
            self._checkpoint = None

    async def submit(
        self, organisation_id: int, api_key_id: int | None, item: NewResponse
    ) -> tuple[StoredResponse, bool]:
        """Store ``item`` for the caller; raises what storing it alone would raise."""
        loop = asyncio.get_running_loop()
        pending = _Pending(organisation_id, api_key_id, item, loop.create_future())
        if self._queue is None:
            async with database_turn(self._state, writes=True):
                (outcome,) = await run_in_threadpool(self._write, [pending])
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        self._queue.put_nowait(pending)
        return await pending.future

    async def _run(self, queue: asyncio.Queue[_Pending | None]) -> None:
        stopping = False
        while not stopping:
            group: list[_Pending] = []
            pending = await queue.get()
            while pending is not None:
                group.append(pending)
                if len(group) == self._max_group:
                    break
                try:
                    pending = queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
            else:
                stopping = True
                queue.put_nowait(None)  # for the other writers
            group = [p for p in group if not p.future.done()]
            if group:
                await self._commit(group)
                self._maybe_checkpoint()

    async def _commit(self, group: list[_Pending]) -> None:
        try:
            async with database_turn(self._state, writes=True):
                outcomes = await run_in_threadpool(self._write, group)
        except BaseException as error:
            # Cancelled, or the turn itself failed: nobody may wait forever.
            for pending in group:
                if not pending.future.done():
                    pending.future.set_exception(
                        error if isinstance(error, Exception) else RuntimeError("cancelled")
                    )
            if not isinstance(error, Exception):
                raise
            return
        self.groups += 1
        self.submissions += len(group)
        for pending, outcome in zip(group, outcomes, strict=True):
            if pending.future.done():
                continue
            if isinstance(outcome, Exception):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)

    def _maybe_checkpoint(self) -> None:
        if not is_sqlite(self._state.engine):
            return
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        now = time.monotonic()
        if now - self._checkpointed < CHECKPOINT_SECONDS:
            return
        self._checkpointed = now
        self._checkpoint = asyncio.create_task(self._checkpoint_wal())

    async def _checkpoint_wal(self) -> None:
        try:
            # A reader's turn: a passive checkpoint never takes the write lock.
            async with database_turn(self._state, writes=False):
                await run_in_threadpool(_checkpoint_passive, self._state)
        except Exception as error:  # the next commit's automatic checkpoint still runs
            logger.debug("background checkpoint failed: %s", error)

    # In a worker thread, holding the database turn

    def _write(self, group: Sequence[_Pending]) -> list[Outcome]:
        try:
            with self._state.sessions() as session:
                outcomes = self._store(session, group)
                session.commit()
            return outcomes
        except Exception as error:
            if len(group) == 1:
                return [error]
            logger.info(
                "a group of %d submissions failed (%s); storing each alone", len(group), error
            )
        return [outcome for pending in group for outcome in self._write([pending])]

    def _store(self, session: Session, group: Sequence[_Pending]) -> list[Outcome]:
        results, active = responses.add_each_with_keys(
            session, [(p.organisation_id, p.api_key_id, p.item) for p in group]
        )
        key_ids = {p.api_key_id for p in group if p.api_key_id is not None}
        for key_id in key_ids - active:
            self._state.api_keys.forget(key_id)
        now = time.monotonic()
        stale = now - accounts.LAST_USED_RESOLUTION.total_seconds()
        touch = [key_id for key_id in active if self._touched.get(key_id, stale) <= stale]
        if touch:
            accounts.touch_api_keys(session, touch, now=utc_now())
            for key_id in touch:
                self._touched[key_id] = now
        # None: the item's key is unknown or revoked, so nothing was stored for it.
        return [revoked() if result is None else result for result in results]


def _checkpoint_passive(state: AppState) -> None:
    connection = state.engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            cursor.fetchall()
        finally:
            cursor.close()
    finally:
        connection.close()
