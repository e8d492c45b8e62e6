"""The durable outbox: background work stored in the same transaction as its cause.

``enqueue`` adds an item unless one with the same ``dedupe_key`` exists in the organisation
(so enqueueing twice is harmless); ``add_unless_queued`` does the same with an item the
caller made. A worker ``claim``s due items atomically: their state
becomes ``sending`` with a lock until ``locked_until`` and ``attempts`` grows by one. An item
whose lock expired (its worker died) is due again. ``finish`` marks it ``completing`` only
while the claim still holds, so a worker that lost its lock can tell before it lets an email
go; once the SMTP server has accepted the message, ``confirm`` makes it ``sent``. An item
left ``completing`` by a worker that died (its lock expired) is one whose delivery nobody can
know: ``flag_unconfirmed`` marks it ``unconfirmed`` and it is never sent again, since that
could send it twice. ``retry`` puts an item back with an exponential backoff, ``bury`` gives
up (``dead``).

On PostgreSQL the claim selects with ``FOR UPDATE SKIP LOCKED``, so concurrent workers take
different items without waiting; on SQLite the write transaction (BEGIN IMMEDIATE) already
serialises claimers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxpulse.store import prebuilt
from cxpulse.store.models import OutboxItem
from cxpulse.store.types import utc_now

DEFAULT_LOCK_SECONDS = 120.0
"""How long a claim holds: longer than sending one batch takes, short enough to recover."""
BASE_BACKOFF_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 6 * 3600.0
DEFAULT_MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Claimed:
    """An item a worker holds; ``locked_until`` identifies this claim."""

    id: int
    organisation_id: int
    kind: str
    dedupe_key: str
    payload: Mapping[str, Any]
    attempts: int
    locked_until: datetime


def enqueue(
    session: Session,
    organisation_id: int,
    kind: str,
    dedupe_key: str,
    payload: Mapping[str, Any] | None = None,
    *,
    available_at: datetime | None = None,
) -> bool:
    """Add an item unless its ``dedupe_key`` is taken in the organisation; True when added."""
    now = utc_now()
    values = {
        "organisation_id": organisation_id,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "payload": dict(payload or {}),
        "state": "pending",
        "attempts": 0,
        "available_at": available_at or now,
        "created_at": now,
    }
    statement = _ENQUEUE[session.get_bind().dialect.name]
    return session.connection().execute(statement, values).first() is not None


def add_unless_queued(session: Session, item: OutboxItem) -> bool:
    """Add an item made by the caller unless its ``dedupe_key`` is taken in the organisation
    (by another worker, say); True when added, and then ``item`` is the stored row."""
    # A savepoint, so that a taken key undoes this insert alone, not the caller's work.
    try:
        with session.begin_nested():
            session.add(item)
    except IntegrityError:
        return False
    return True


_ITEMS = cast(Table, OutboxItem.__table__)
# The statements a worker runs for every item are built once (``store.prebuilt``).
_INSERT_ITEMS = prebuilt.DriverInsert(insert(_ITEMS))
_ENQUEUE = prebuilt.insert_ignoring(_ITEMS, ["organisation_id", "dedupe_key"], [_ITEMS.c.id])
"""``enqueue``'s insert by dialect name."""


def enqueue_many(session: Session, items: list[dict[str, Any]]) -> None:
    """Insert new items in one statement; the caller knows their keys are new."""
    if items:
        now = utc_now()
        rows = [
            # Due at once unless the item says when; one instant for both columns.
            {
                "state": "pending",
                "attempts": 0,
                "created_at": now,
                "available_at": now,
                "payload": {},
                **item,
            }
            for item in items
        ]
        # Core on the session's connection (on SQLite straight to the driver): the ORM's
        # bulk insert costs several times more per row, and this runs once per batch of
        # submissions.
        _INSERT_ITEMS.execute(session.connection(), rows)


def _abandoned(now: datetime, kinds: Collection[str]) -> Any:
    """Items a worker died holding: to be taken again."""
    return and_(
        OutboxItem.kind.in_(list(kinds)),
        OutboxItem.state == "sending",
        OutboxItem.locked_until < now,
    )


def _pending(now: datetime, kinds: Collection[str]) -> Any:
    return and_(
        OutboxItem.kind.in_(list(kinds)),
        OutboxItem.state == "pending",
        OutboxItem.available_at <= now,
    )


# Due items are looked for with two conditions, never one OR of both: an OR made PostgreSQL
# gather and sort every due item of the kinds for each claim (260 ms with 250,000 waiting),
# where each condition alone is a range of ``ix_outbox_kind_due`` read in order up to the
# limit.
_DUE = (_abandoned, _pending)
"""A dead worker's items first: they were due before anything still pending."""


_CLAIMED_COLUMNS = (
    OutboxItem.id,
    OutboxItem.organisation_id,
    OutboxItem.kind,
    OutboxItem.dedupe_key,
    OutboxItem.payload,
    OutboxItem.attempts,
)


def _claimed(rows: Sequence[Any], locked_until: datetime) -> list[Claimed]:
    """Rows of ``_CLAIMED_COLUMNS`` as claims held until ``locked_until``."""
    return [
        Claimed(r.id, r.organisation_id, r.kind, r.dedupe_key, r.payload, r.attempts, locked_until)
        for r in rows
    ]


def has_due(session: Session, kinds: Collection[str], *, now: datetime | None = None) -> bool:
    """A cheap read, so that an idle worker never takes the write lock."""
    moment = now or utc_now()
    return bool(session.scalar(select(or_(*(exists().where(due(moment, kinds)) for due in _DUE)))))


def claim(
    session: Session,
    kinds: Collection[str],
    *,
    limit: int = 100,
    lock_seconds: float = DEFAULT_LOCK_SECONDS,
    now: datetime | None = None,
) -> list[Claimed]:
    """Take up to ``limit`` due items of ``kinds``, oldest first. The caller commits."""
    moment = now or utc_now()
    locked_until = moment + timedelta(seconds=lock_seconds)
    skip_locked = session.get_bind().dialect.name == "postgresql"
    ids: list[int] = []
    for due in _DUE:
        if len(ids) >= limit:
            break
        chosen = (
            select(OutboxItem.id)
            .where(due(moment, kinds))
            .order_by(OutboxItem.available_at, OutboxItem.id)
            .limit(limit - len(ids))
        )
        if skip_locked:
            chosen = chosen.with_for_update(skip_locked=True)
        ids.extend(session.scalars(chosen))
    if not ids:
        return []
    rows = session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(ids))
        .values(state="sending", locked_until=locked_until, attempts=OutboxItem.attempts + 1)
        .returning(*_CLAIMED_COLUMNS)
        .execution_options(synchronize_session=False)
    ).all()
    claimed = _claimed(rows, locked_until)
    claimed.sort(key=lambda item: ids.index(item.id))
    return claimed


def _held(item: Claimed) -> Any:
    return and_(
        OutboxItem.id == item.id,
        OutboxItem.state == "sending",
        OutboxItem.locked_until == item.locked_until,
    )


def _after_commit(item: Claimed) -> Any:
    return and_(OutboxItem.id == item.id, OutboxItem.state.in_(("completing", "unconfirmed")))


def finish(
    session: Session,
    item: Claimed,
    *,
    now: datetime | None = None,
    lock_seconds: float = DEFAULT_LOCK_SECONDS,
) -> bool:
    """Mark the item ``completing`` if this claim still holds it; False when another worker
    took it. The lock is renewed from now (a long batch must not make a live worker look
    dead): once it expires, an item still ``completing`` belongs to a worker that died
    before ``confirm``."""
    moment = now or utc_now()
    result = session.connection().execute(
        _FINISH,
        {
            "b_id": item.id,
            "b_held_until": item.locked_until,
            "b_done_at": moment,
            "b_locked_until": moment + timedelta(seconds=lock_seconds),
        },
    )
    return bool(result.rowcount)


def complete_many(
    session: Session, items: Collection[Claimed], *, now: datetime | None = None
) -> int:
    """Mark items ``sent`` that this worker's claims still hold, in one statement per claim
    (a batch shares its ``locked_until``): for work whose outcome nothing can undo (a task
    done), where the two steps of ``finish`` and ``confirm`` guard nothing. The count."""
    moment = now or utc_now()
    by_claim: dict[datetime, list[int]] = {}
    for item in items:
        by_claim.setdefault(item.locked_until, []).append(item.id)
    done = 0
    for locked_until, ids in by_claim.items():
        result = session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.id.in_(ids),
                OutboxItem.state == "sending",
                OutboxItem.locked_until == locked_until,
            )
            .values(state="sent", locked_until=None, done_at=moment, last_error=None)
            .execution_options(synchronize_session=False)
        )
        done += int(getattr(result, "rowcount", 0) or 0)
    return done


def confirm(session: Session, item_ids: Collection[int]) -> None:
    """The SMTP server accepted these items' messages: ``sent``."""
    if not item_ids:
        return
    session.connection().execute(_CONFIRM, {"b_ids": list(item_ids)})


_FINISH = (
    update(_ITEMS)
    .where(
        _ITEMS.c.id == bindparam("b_id"),
        _ITEMS.c.state == "sending",
        _ITEMS.c.locked_until == bindparam("b_held_until"),
    )
    .values(
        state="completing",
        done_at=bindparam("b_done_at"),
        locked_until=bindparam("b_locked_until"),
        last_error=None,
    )
)
_CONFIRM = (
    update(_ITEMS)
    .where(
        _ITEMS.c.id.in_(bindparam("b_ids", expanding=True)),
        _ITEMS.c.state.in_(("completing", "unconfirmed")),
    )
    .values(state="sent", locked_until=None, last_error=None)
)


UNCONFIRMED_BY_CRASH = (
    "delivery unknown: the worker stopped after recording the send and before the SMTP "
    "server's answer; not sent again, to never send twice"
)


def mark_unconfirmed(session: Session, item_id: int, reason: str) -> None:
    """The server's verdict on a committed send could not be read."""
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id, OutboxItem.state == "completing")
        .values(state="unconfirmed", locked_until=None, last_error=reason[:2000])
        .execution_options(synchronize_session=False)
    )


def _stale(moment: datetime) -> Any:
    """Left ``completing`` by a worker whose lock has expired: a dead one."""
    return and_(OutboxItem.state == "completing", OutboxItem.locked_until < moment)


def has_stale_completing(session: Session, *, now: datetime | None = None) -> bool:
    """A cheap read: is any item left ``completing`` by a worker whose lock expired?"""
    stale = select(OutboxItem.id).where(_stale(now or utc_now()))
    return session.scalar(stale.limit(1)) is not None


def flag_unconfirmed(session: Session, *, now: datetime | None = None) -> list[Claimed]:
    """Mark the items that dead workers left ``completing`` as ``unconfirmed``; returns them
    (so that the caller can tell their invitations)."""
    moment = now or utc_now()
    rows = session.execute(
        update(OutboxItem)
        .where(_stale(moment))
        .values(state="unconfirmed", locked_until=None, last_error=UNCONFIRMED_BY_CRASH)
        .returning(*_CLAIMED_COLUMNS)
        .execution_options(synchronize_session=False)
    ).all()
    return _claimed(rows, moment)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... doubling, at most 6 h."""
    seconds = BASE_BACKOFF_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, seconds))


def retry(
    session: Session,
    item: Claimed,
    error: str,
    *,
    now: datetime | None = None,
    delay: timedelta | None = None,
    after_commit: bool = False,
) -> bool:
    """Back to ``pending`` after a backoff grown with the attempts.

    Only while this worker's claim holds it, or, with ``after_commit``, once this worker has
    marked it ``completing`` (the server refused the message after the commit): a worker
    whose lock expired must never undo the item that another worker took over.
    """
    moment = now or utc_now()
    condition = _after_commit(item) if after_commit else _held(item)
    result = session.execute(
        update(OutboxItem)
        .where(condition)
        .values(
            state="pending",
            available_at=moment + (delay if delay is not None else backoff(item.attempts)),
            locked_until=None,
            done_at=None,
            last_error=error[:2000],
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def bury(
    session: Session,
    item: Claimed,
    error: str,
    *,
    now: datetime | None = None,
    after_commit: bool = False,
) -> bool:
    """Give up: the item stays as ``dead`` with its last error, for people to look at (the
    claim conditions of ``retry``)."""
    result = session.execute(
        update(OutboxItem)
        .where(_after_commit(item) if after_commit else _held(item))
        .values(state="dead", locked_until=None, done_at=now or utc_now(), last_error=error[:2000])
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def drop(session: Session, item: Claimed, reason: str, *, now: datetime | None = None) -> None:
    """Done without doing anything (an unsubscribed or throttled recipient, say)."""
    session.execute(
        update(OutboxItem)
        .where(_held(item))
        .values(state="sent", locked_until=None, done_at=now or utc_now(), last_error=reason)
        .execution_options(synchronize_session=False)
    )


def count_by_state(session: Session, organisation_id: int | None = None) -> dict[str, int]:
    from sqlalchemy import func

    query = select(OutboxItem.state, func.count()).group_by(OutboxItem.state)
    if organisation_id is not None:
        query = query.where(OutboxItem.organisation_id == organisation_id)
    return {state: int(count) for state, count in session.execute(query).all()}
