"""Retention run by the worker: once a day, each organisation that set one deletes or
anonymises its answers and cases older than its number of months (``store.retention``).

A run is a chain of outbox items of kind ``retention``: each item does one batch of at most
:data:`BATCH` rows in its own transaction and, in that transaction, queues the next item with
the cursor where it stopped. A big backlog is therefore many short transactions (the write
lock is never held long, answers keep arriving), and a worker that dies mid-run loses
nothing: the item is claimed again and its batch redone from the same cursor (deleting or
anonymising twice is the same as once). The last item writes one audit entry with the run's
totals.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cxpulse.act.tasks import TASKS, Done, Outcome, TaskContext, TaskHandler, TaskRegistry
from cxpulse.store import audit, outbox, retention
from cxpulse.store.contact_erasure import ErasureCounts
from cxpulse.store.outbox import Claimed

KIND = "retention"
BATCH = 2_000
"""Rows (answers, then cases) one transaction deletes or anonymises at most: about 0.3 s
of writing on SQLite and 0.7 s on PostgreSQL (answers with analysed comments), so answers
arriving meanwhile wait little."""
AUDIT_ACTION = "retention"


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day when
    that month is shorter: 31 March less one month is 28 or 29 February)."""
    year, month = divmod(moment.month - 1 - months, 12)
    year += moment.year
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def run_key(day: str, part: int) -> str:
    return f"{KIND}:{day}" if part == 0 else f"{KIND}:{day}:{part}"


def enqueue_due(session: Session, now: datetime) -> int:
    """Queue today's first batch of every organisation with a retention (once a day: the
    dedupe key names the day)."""
    queued = 0
    day = now.date().isoformat()
    for organisation_id, policy in retention.policies(session).items():
        assert policy.months is not None
        payload = {"day": day, "cursor": retention.Cursor().to_payload(), "part": 0, "totals": {}}
        if outbox.enqueue(
            session, organisation_id, KIND, run_key(day, 0), payload, available_at=now
        ):
            queued += 1
    return queued


def run_batch(
    session: Session,
    organisation_id: int,
    payload: dict[str, Any],
    now: datetime,
    *,
    limit: int = BATCH,
) -> ErasureCounts | None:
    """One batch of a run, in the caller's transaction: the policy as it is now, applied
    from the payload's cursor; the next item queued, or the audit entry written when the run
    is over. None when the organisation no longer has a retention."""
    policy = retention.get_policy(session, organisation_id)
    if policy.months is None:
        return None
    cutoff = months_before(now, policy.months)
    cursor = retention.Cursor.from_payload(dict(payload.get("cursor") or {}))
    counts, following = retention.apply_batch(
        session, organisation_id, cutoff=cutoff, action=policy.action, cursor=cursor, limit=limit
    )
    totals = ErasureCounts(**dict(payload.get("totals") or {}))
    totals.add(counts)
    part = int(payload.get("part", 0))
    if following is not None:
        day = str(payload.get("day") or now.date().isoformat())
        outbox.enqueue(
            session,
            organisation_id,
            KIND,
            run_key(day, part + 1),
            {**payload, "cursor": following.to_payload(), "part": part + 1,
             "totals": totals.as_dict()},
            available_at=now,
        )  # fmt: skip
        return counts
    audit.record(
        session,
        organisation_id,
        actor=audit.SYSTEM,
        action=AUDIT_ACTION,
        entity="organisation",
        entity_id=organisation_id,
        details={
            "months": policy.months,
            "action": policy.action,
            "cutoff": cutoff.isoformat(),
            "batches": part + 1,
            **{name: value for name, value in totals.as_dict().items() if value},
        },
    )
    return counts


def _run(limit: int, context: TaskContext, items: Sequence[Claimed]) -> Sequence[Outcome]:
    outcomes: list[Outcome] = []
    for item in items:
        with context.sessions.begin() as session:
            counts = run_batch(
                session, item.organisation_id, dict(item.payload), context.clock(), limit=limit
            )
        if counts is None:
            outcomes.append(Done("retention is off"))
        else:
            outcomes.append(Done(f"{sum(counts.as_dict().values())} rows"))
    return outcomes


def handler(limit: int = BATCH) -> TaskHandler:
    """The retention task, ``limit`` rows a transaction; one item a claim (each item is
    one batch, its own transaction)."""
    return TaskHandler(KIND, functools.partial(_run, limit), batch=1, enqueue_due=enqueue_due)


HANDLER = handler()


def register(registry: TaskRegistry = TASKS) -> None:
    """Register the retention task (idempotent)."""
    registry.register(HANDLER)
