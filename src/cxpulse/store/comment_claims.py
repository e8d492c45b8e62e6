"""Several workers sharing the queue of comments to analyse (PostgreSQL): who analyses what.

The queue is the responses themselves (``store.comment_queue``), so two workers looking at
the same moment find the same comments. Before a worker analyses a batch it *claims* the
response ids with ``claim``: a transaction-level advisory try-lock per id, taken in a
transaction the worker keeps open for its round (on a connection of its own, holding no row
lock and no snapshot while the comments are analysed). An id another worker holds is
skipped, never waited for. Ending that transaction (commit, rollback, or the connection
closing because the process died) releases every claim at once, so nothing durable is
written and a dead worker strands no comment.

Transaction-level rather than session-level locks: a pooled connection is reset with a
ROLLBACK when it goes back to the pool, which ends transaction-level locks but not
session-level ones (a claim missed by an error path would stay held for the life of the
process), and PgBouncer in transaction mode keeps a transaction on one server connection
but not a session.

``take_write_turn`` makes the workers write one organisation's analyses one after another:
each write adds to the same daily counts (``store.comment_rollups``), whose rows a second
writer would otherwise wait for and, with the background ``lock_timeout``, give up on.

SQLite has one process analysing (the serving process's child or ``cxpulse worker``) and one
writer at a time: every call here is a no-op that runs no SQL there, so no transaction (and
no write lock) is opened early.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

_ID_BITS = 48
"""Response ids below 2**48 share the bigint key space with the class below."""
CLAIM_CLASS = 0x6361  # "ca"
"""The high bits of a claim's advisory lock key (the rest is the response id)."""
WRITE_CLASS = 0x6377  # "cw"
"""The high bits of the key of an organisation's write turn (the rest is its id)."""
_ID_MASK = (1 << _ID_BITS) - 1

_CLAIM = text(
    "SELECT claimed.id FROM unnest(CAST(:ids AS bigint[])) AS claimed(id)"
    " WHERE pg_try_advisory_xact_lock(CAST(:base AS bigint) + claimed.id)"
)
_HELD = text(
    "SELECT objid::bigint + (classid::bigint << 32) AS key FROM pg_locks"
    " WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
    " AND pid <> pg_backend_pid()"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def shared(session: Session) -> bool:
    """Whether several workers may share the queue here (PostgreSQL), so claims are taken."""
    return session.get_bind().dialect.name == "postgresql"


def claim_key(response_id: int) -> int:
    """The advisory lock key of a claim on ``response_id``."""
    return (CLAIM_CLASS << _ID_BITS) | (response_id & _ID_MASK)


def claim(session: Session, response_ids: Iterable[int]) -> set[int]:
    """Claim ``response_ids`` for the session's transaction, until it ends; the ids claimed
    (those another transaction holds are left out). Claiming an id this transaction holds
    already succeeds again. SQLite: every id, without SQL."""
    wanted = sorted(set(response_ids))
    if not wanted or not shared(session):
        return set(wanted)
    rows = session.execute(_CLAIM, {"ids": wanted, "base": CLAIM_CLASS << _ID_BITS})
    return {int(row.id) for row in rows}


def claimed_elsewhere(session: Session, response_ids: Iterable[int]) -> set[int]:
    """Which of ``response_ids`` other connections hold claims on now (PostgreSQL; empty on
    SQLite): for tests and diagnostics, since ``claim`` never waits."""
    wanted = set(response_ids)
    if not wanted or not shared(session):
        return set()
    held = {int(row.key) for row in session.execute(_HELD)}
    return {response_id for response_id in wanted if claim_key(response_id) in held}


def take_write_turn(session: Session, organisation_id: int) -> None:
    """Wait until no other transaction is writing the organisation's analyses, then hold
    the turn until this transaction ends (PostgreSQL; nothing on SQLite, whose write
    transactions are one at a time already). Call it before setting a ``lock_timeout``: the
    wait is another worker's write, a fraction of a second, and must not time out."""
    if shared(session):
        session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:key AS bigint))"),
            {"key": (WRITE_CLASS << _ID_BITS) | organisation_id},
        )
