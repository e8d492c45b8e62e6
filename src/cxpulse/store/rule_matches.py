"""Which rule matched which answer, once: the (rule, response) key makes a rule that runs
again on the same answer (a retried outbox item) find its match taken and do nothing."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from cxpulse.store import prebuilt
from cxpulse.store.models import RuleMatch
from cxpulse.store.types import utc_now

_CHUNK = 500


def claim(
    session: Session,
    organisation_id: int,
    rule_id: int,
    response_id: int,
    *,
    now: datetime | None = None,
) -> int | None:
    """Record that ``rule_id`` matched ``response_id``; the new match's id, or None when it
    was recorded before (then its actions ran already)."""
    values = {
        "organisation_id": organisation_id,
        "rule_id": rule_id,
        "response_id": response_id,
        "matched_at": now or utc_now(),
        "outcome": {},
    }
    statement = _CLAIM[session.get_bind().dialect.name]
    found = session.connection().execute(statement, values).scalar()
    return None if found is None else int(found)


def set_outcome(session: Session, match_id: int, outcome: Mapping[str, Any]) -> None:
    session.connection().execute(_SET_OUTCOME, {"b_id": match_id, "b_outcome": dict(outcome)})


# Built once (``store.prebuilt``): these run for every answer a rule matches.
_MATCHES = cast(Table, RuleMatch.__table__)
_CLAIM = prebuilt.insert_ignoring(_MATCHES, ["rule_id", "response_id"], [_MATCHES.c.id])
_SET_OUTCOME = (
    update(_MATCHES)
    .where(_MATCHES.c.id == bindparam("b_id"))
    .values(outcome=bindparam("b_outcome", type_=_MATCHES.c.outcome.type))
)


def matched_pairs(
    session: Session, rule_ids: Collection[int], response_ids: Collection[int]
) -> set[tuple[int, int]]:
    """(rule id, response id) of the matches recorded among these rules and answers."""
    if not rule_ids or not response_ids:
        return set()
    found: set[tuple[int, int]] = set()
    ids = sorted(response_ids)
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(RuleMatch.rule_id, RuleMatch.response_id).where(
                RuleMatch.rule_id.in_(sorted(rule_ids)),
                RuleMatch.response_id.in_(ids[start : start + _CHUNK]),
            )
        )
        found.update((int(r), int(a)) for r, a in rows)
    return found


def of_response(session: Session, organisation_id: int, response_id: int) -> list[RuleMatch]:
    return list(
        session.scalars(
            select(RuleMatch)
            .where(
                RuleMatch.organisation_id == organisation_id, RuleMatch.response_id == response_id
            )
            .order_by(RuleMatch.id)
        )
    )


def counts_by_rule(session: Session, organisation_id: int) -> dict[int, int]:
    """How many answers each rule of the organisation matched."""
    rows = session.execute(
        select(RuleMatch.rule_id, func.count())
        .where(RuleMatch.organisation_id == organisation_id)
        .group_by(RuleMatch.rule_id)
    )
    return {int(rule_id): int(n) for rule_id, n in rows}


__all__ = ["claim", "counts_by_rule", "matched_pairs", "of_response", "set_outcome"]
