"""What a load or fault run left in the database, and the checks made on it afterwards.

    ledger = read_ledger(url, survey_id)     # stored ids, outbox states, rule notices
    wait_settled(url, survey_id, timeout=60) # the closed loop's items all done (or failed)
    problems = delivery_problems(ledger, accepted, seen)

``delivery_problems`` states the promises of docs/architecture.md (the closed loop) as a
list of broken ones (empty: all kept):

- every accepted answer (a 2xx with its id) is stored;
- each detractor's ``rule-notice`` email arrives once per Message-ID, never twice; an item
  that a killed worker left between handing the message over and hearing the server's
  verdict is ``unconfirmed`` by design and never retried, so it may be missing, nothing
  more;
- each answer's ``response.created`` webhook arrives (at least once is the promise; more
  than once only when a worker was interrupted after posting and before recording it,
  killed or cut off from its database, so an uninterrupted run demands exactly once).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from sqlalchemy import func, select
from tests.load_client import Result
from tests.load_fleet import LOW_SCORES, MAIL_DOMAIN
from tests.load_receivers import Seen

LOOP_KINDS = ("response-event", "webhook", "rule-notice")
OPEN_STATES = ("pending", "sending", "completing")


@dataclass
class Ledger:
    stored: set[int] = field(default_factory=set)
    low: set[int] = field(default_factory=set)
    """Stored answers scored as detractors (the rule's band)."""
    states: dict[tuple[str, str], int] = field(default_factory=dict)
    notices: dict[int, tuple[int, str]] = field(default_factory=dict)
    """rule-notice outbox item id -> (response id, state)."""
    analysed: int = 0
    with_comment: int = 0
    open_errors: list[str] = field(default_factory=list)
    """The last error of a few items still open (why they wait)."""

    def open_items(self) -> int:
        return sum(n for (kind, state), n in self.states.items() if state in OPEN_STATES)


def read_ledger(url: str, survey_id: int) -> Ledger:
    from cxpulse.store.db import create_engine_for, session_factory
    from cxpulse.store.models import AnalysedComment, OutboxItem, Response

    engine = create_engine_for(url)
    try:
        with session_factory(engine, read_only=True)() as session:
            ledger = Ledger()
            for response_id, score, comment in session.execute(
                select(Response.id, Response.score, Response.comment).where(
                    Response.survey_id == survey_id
                )
            ):
                ledger.stored.add(int(response_id))
                if score is not None and int(score) in LOW_SCORES:
                    ledger.low.add(int(response_id))
                if comment:
                    ledger.with_comment += 1
            ledger.states = {
                (str(kind), str(state)): int(n)
                for kind, state, n in session.execute(
                    select(OutboxItem.kind, OutboxItem.state, func.count())
                    .where(OutboxItem.kind.in_(LOOP_KINDS))
                    .group_by(OutboxItem.kind, OutboxItem.state)
                )
            }
            for item_id, payload, state in session.execute(
                select(OutboxItem.id, OutboxItem.payload, OutboxItem.state).where(
                    OutboxItem.kind == "rule-notice"
                )
            ):
                ledger.notices[int(item_id)] = (int(payload["response_id"]), str(state))
            ledger.open_errors = [
                f"{kind} {item_id} {state} attempts={attempts} until={available}: {error}"
                for item_id, kind, state, attempts, available, error in session.execute(
                    select(
                        OutboxItem.id,
                        OutboxItem.kind,
                        OutboxItem.state,
                        OutboxItem.attempts,
                        OutboxItem.available_at,
                        OutboxItem.last_error,
                    )
                    .where(OutboxItem.kind.in_(LOOP_KINDS), OutboxItem.state.in_(OPEN_STATES))
                    .limit(5)
                )
            ]
            ledger.analysed = int(
                session.scalar(
                    select(func.count())
                    .select_from(AnalysedComment)
                    .where(AnalysedComment.survey_id == survey_id)
                )
                or 0
            )
            return ledger
    finally:
        engine.dispose()


def open_items(url: str) -> int:
    """The closed loop's items still pending or in hand: one count, cheap to poll."""
    from cxpulse.store.db import create_engine_for, session_factory
    from cxpulse.store.models import OutboxItem

    engine = create_engine_for(url)
    try:
        with session_factory(engine, read_only=True)() as session:
            return int(
                session.scalar(
                    select(func.count()).where(
                        OutboxItem.kind.in_(LOOP_KINDS), OutboxItem.state.in_(OPEN_STATES)
                    )
                )
                or 0
            )
    finally:
        engine.dispose()


def wait_settled(
    url: str,
    survey_id: int,
    timeout: float,
    progress: Callable[[float, int], None] | None = None,
    poll: float = 1.0,
) -> Ledger:
    """The ledger once no item of the closed loop is pending or in hand (or at the
    timeout: the caller's checks then say what is left). Polls only the count of open
    items, so that the waiting does not load the database it waits for: reading the whole
    ledger each second took 41% of a core after a soak of 270,000 answers."""
    started = time.monotonic()
    while True:
        left = open_items(url)
        waited = time.monotonic() - started
        if progress is not None:
            progress(waited, left)
        if left == 0 or waited > timeout:
            return read_ledger(url, survey_id)
        time.sleep(poll)


def message_id(item_id: int) -> str:
    return f"<cxpulse.rule-notice.{item_id}@{MAIL_DOMAIN}>"


def delivery_problems(
    ledger: Ledger,
    accepted: Collection[Result],
    seen: Seen,
    *,
    interrupted: bool = False,
) -> list[str]:
    problems: list[str] = []
    accepted_ids = {r.response_id for r in accepted if r.response_id is not None}
    lost = accepted_ids - ledger.stored
    if lost:
        problems.append(f"{len(lost)} accepted answers are not stored: {sorted(lost)[:10]}")
    open_items = {k: n for k, n in ledger.states.items() if k[1] in OPEN_STATES}
    if open_items:
        problems.append(f"outbox items still open: {open_items}; {ledger.open_errors}")
    dead = {k: n for k, n in ledger.states.items() if k[1] == "dead"}
    if dead:
        problems.append(f"outbox items given up: {dead}")
    # Emails: one rule-notice per detractor, each Message-ID at most once.
    emails = Counter(seen.message_ids)
    twice = {ident: n for ident, n in emails.items() if n > 1}
    if twice:
        problems.append(f"{len(twice)} emails arrived more than once: {list(twice)[:5]}")
    noticed = {response_id for response_id, _ in ledger.notices.values()}
    if noticed != ledger.low:
        problems.append(
            f"rule notices queued for {len(noticed)} answers, {len(ledger.low)} detractors "
            f"stored (missing {sorted(ledger.low - noticed)[:10]}, extra "
            f"{sorted(noticed - ledger.low)[:10]})"
        )
    for item_id, (response_id, state) in ledger.notices.items():
        arrived = emails.get(message_id(item_id), 0)
        if state == "sent" and arrived != 1:
            problems.append(f"notice {item_id} (answer {response_id}) is sent, arrived {arrived}x")
        elif state == "unconfirmed" and not interrupted:
            problems.append(f"notice {item_id} is unconfirmed although nothing was interrupted")
    expected_ids = {message_id(item_id) for item_id in ledger.notices}
    strangers = set(emails) - expected_ids
    if strangers:
        problems.append(f"{len(strangers)} emails of no rule notice: {sorted(strangers)[:5]}")
    # Webhooks: one response.created per stored answer.
    events = Counter(seen.event_ids)
    expected_events = {f"response-{i}-created" for i in ledger.stored}
    missing = expected_events - set(events)
    if missing:
        problems.append(f"{len(missing)} webhooks never arrived: {sorted(missing)[:5]}")
    extra = set(events) - expected_events
    if extra:
        problems.append(f"{len(extra)} webhooks of no stored answer: {sorted(extra)[:5]}")
    repeated = {e: n for e, n in events.items() if n > 1}
    if repeated and not interrupted:
        problems.append(f"{len(repeated)} webhooks arrived more than once, nothing interrupted")
    if seen.rejected:
        problems.append(f"{seen.rejected} webhooks had a bad signature")
    return problems
