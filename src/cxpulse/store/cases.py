"""Follow-up cases of one organisation (``models.FollowUpCase``) and their history
(``models.CaseEvent``): read, add, list for the inbox with keyset paging.

The rules of a case's life (states, who may be assigned, due times) are
``act.cases``'s; this module only reads and writes rows, always within one organisation,
except ``case_by_reply_token``, whose random token is itself the proof of which case a
customer's email belongs to.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxpulse.store import scoped
from cxpulse.store.models import CaseEvent, FollowUpCase, Response

__all__ = [
    "OPEN_STATES",
    "CaseFilter",
    "CasePage",
    "SortKey",
    "add_event",
    "answered_resurveys",
    "case_by_reply_token",
    "case_by_resurvey_invitation",
    "case_for_response",
    "count_cases",
    "events",
    "get_case",
    "get_cases",
    "has_message",
    "insert_case",
    "list_cases",
]

OPEN_STATES = ("new", "contacted")
PRIORITY_RANK = {"urgent": 3, "high": 2, "normal": 1, "low": 0}
SortKey = Literal["due", "priority", "created"]


@dataclass(frozen=True)
class CaseFilter:
    """Which cases a listing shows; every field narrows it (None: any)."""

    assignee_user_id: int | None = None
    team_ids: tuple[int, ...] | None = None
    """Cases of any of these teams (an empty tuple: none)."""
    states: tuple[str, ...] = ()
    """Empty: every state."""
    priority: str | None = None
    overdue_at: datetime | None = None
    """Only the new cases whose due time is before this instant (no first contact yet)."""
    survey_id: int | None = None
    contact_id: int | None = None


@dataclass(frozen=True)
class CasePage:
    items: list[FollowUpCase]
    next_key: tuple[Any, ...] | None
    """The key after which the next page starts; None on the last page."""


def _rank() -> ColumnElement[int]:
    return case(
        *((FollowUpCase.priority == name, rank) for name, rank in PRIORITY_RANK.items()),
        else_=0,
    )


def _conditions(organisation_id: int, where: CaseFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [FollowUpCase.organisation_id == organisation_id]
    if where.assignee_user_id is not None:
        conditions.append(FollowUpCase.assignee_user_id == where.assignee_user_id)
    if where.team_ids is not None:
        conditions.append(FollowUpCase.team_id.in_(list(where.team_ids)))
    if where.states:
        conditions.append(FollowUpCase.state.in_(list(where.states)))
    if where.priority is not None:
        conditions.append(FollowUpCase.priority == where.priority)
    if where.overdue_at is not None:
        conditions.append(FollowUpCase.state == "new")
        conditions.append(FollowUpCase.due_at < where.overdue_at)
    if where.survey_id is not None:
        conditions.append(FollowUpCase.survey_id == where.survey_id)
    if where.contact_id is not None:
        conditions.append(FollowUpCase.contact_id == where.contact_id)
    return conditions


def _after(sort: SortKey, key: tuple[Any, ...]) -> ColumnElement[bool]:
    """Rows after ``key`` in the listing's order (keyset paging: no OFFSET)."""
    if sort == "created":
        moment, last_id = key
        return or_(
            FollowUpCase.created_at < moment,
            and_(FollowUpCase.created_at == moment, FollowUpCase.id < last_id),
        )
    if sort == "due":
        moment, last_id = key
        return or_(
            FollowUpCase.due_at > moment,
            and_(FollowUpCase.due_at == moment, FollowUpCase.id > last_id),
        )
    rank, moment, last_id = key
    return or_(
        _rank() < rank,
        and_(
            _rank() == rank,
            or_(
                FollowUpCase.due_at > moment,
                and_(FollowUpCase.due_at == moment, FollowUpCase.id > last_id),
            ),
        ),
    )


def _key(sort: SortKey, row: FollowUpCase) -> tuple[Any, ...]:
    if sort == "created":
        return (row.created_at, row.id)
    if sort == "due":
        return (row.due_at, row.id)
    return (PRIORITY_RANK.get(row.priority, 0), row.due_at, row.id)


def list_cases(
    session: Session,
    organisation_id: int,
    where: CaseFilter,
    *,
    sort: SortKey = "due",
    after: tuple[Any, ...] | None = None,
    limit: int = 50,
) -> CasePage:
    """One page of cases: soonest due first (``due``), most urgent then soonest due
    (``priority``) or newest first (``created``)."""
    orders = {
        "due": (FollowUpCase.due_at, FollowUpCase.id),
        "priority": (_rank().desc(), FollowUpCase.due_at, FollowUpCase.id),
        "created": (FollowUpCase.created_at.desc(), FollowUpCase.id.desc()),
    }
    query = select(FollowUpCase).where(*_conditions(organisation_id, where))
    if after is not None:
        query = query.where(_after(sort, after))
    rows = list(session.scalars(query.order_by(*orders[sort]).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return CasePage(rows, _key(sort, rows[-1]) if more and rows else None)


def count_cases(session: Session, organisation_id: int, where: CaseFilter) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(FollowUpCase)
            .where(*_conditions(organisation_id, where))
        )
        or 0
    )


def get_case(session: Session, organisation_id: int, case_id: int) -> FollowUpCase:
    where = FollowUpCase.id == case_id
    return scoped.get_one(session, FollowUpCase, organisation_id, where, entity="case", key=case_id)


def get_cases(
    session: Session, organisation_id: int, case_ids: Collection[int]
) -> list[FollowUpCase]:
    """The organisation's cases among ``case_ids`` (others are silently absent), by id."""
    if not case_ids:
        return []
    return list(
        session.scalars(
            select(FollowUpCase)
            .where(
                FollowUpCase.organisation_id == organisation_id,
                FollowUpCase.id.in_(list(case_ids)),
            )
            .order_by(FollowUpCase.id)
        )
    )


def case_for_response(
    session: Session, organisation_id: int, response_id: int
) -> FollowUpCase | None:
    return session.scalar(
        select(FollowUpCase).where(
            FollowUpCase.organisation_id == organisation_id,
            FollowUpCase.response_id == response_id,
        )
    )


def case_by_reply_token(session: Session, token: str) -> FollowUpCase | None:
    return session.scalar(select(FollowUpCase).where(FollowUpCase.reply_token == token))


def case_by_resurvey_invitation(
    session: Session, organisation_id: int, invitation_id: int
) -> FollowUpCase | None:
    return session.scalar(
        select(FollowUpCase).where(
            FollowUpCase.organisation_id == organisation_id,
            FollowUpCase.resurvey_invitation_id == invitation_id,
        )
    )


def insert_case(session: Session, row: FollowUpCase) -> FollowUpCase | None:
    """Store a new case; None when its answer has a case already (checked first, and by the
    unique index inside a savepoint when another transaction wins the race)."""
    if row.response_id is not None and (
        case_for_response(session, row.organisation_id, row.response_id) is not None
    ):
        return None
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        if row.response_id is not None and case_for_response(
            session, row.organisation_id, row.response_id
        ):
            return None
        raise
    return row


def add_event(
    session: Session,
    row: FollowUpCase,
    kind: str,
    *,
    author_user_id: int | None = None,
    body: str | None = None,
    data: dict[str, Any] | None = None,
    message_id: str | None = None,
    at: datetime | None = None,
) -> CaseEvent:
    event = CaseEvent(
        organisation_id=row.organisation_id,
        case_id=row.id,
        kind=kind,
        author_user_id=author_user_id,
        body=body,
        data=data or {},
        message_id=message_id,
    )
    if at is not None:
        event.created_at = at
    session.add(event)
    session.flush()
    return event


def events(session: Session, organisation_id: int, case_id: int) -> Sequence[CaseEvent]:
    """The case's history, oldest first."""
    return list(
        session.scalars(
            select(CaseEvent)
            .where(CaseEvent.organisation_id == organisation_id, CaseEvent.case_id == case_id)
            .order_by(CaseEvent.created_at, CaseEvent.id)
        )
    )


def has_message(session: Session, case_id: int, message_ids: Collection[str], kind: str) -> bool:
    """True when an event of ``kind`` of the case carries one of ``message_ids``."""
    if not message_ids:
        return False
    return bool(
        session.scalar(
            select(func.count()).where(
                CaseEvent.case_id == case_id,
                CaseEvent.kind == kind,
                CaseEvent.message_id.in_(list(message_ids)),
            )
        )
    )


def answered_resurveys(session: Session, *, limit: int = 500) -> list[tuple[int, int]]:
    """(case id, response id) of re-surveys answered but not yet recorded on their case,
    across organisations (the worker's sweep). A response answers at most one invitation
    (a unique index), so each case has at most one."""
    rows = session.execute(
        select(FollowUpCase.id, Response.id)
        .join(Response, Response.invitation_id == FollowUpCase.resurvey_invitation_id)
        .where(
            FollowUpCase.resurvey_invitation_id.is_not(None),
            FollowUpCase.recovery_score.is_(None),
            Response.organisation_id == FollowUpCase.organisation_id,
        )
        .order_by(FollowUpCase.id)
        .limit(limit)
    )
    return [(case_id, response_id) for case_id, response_id in rows]
