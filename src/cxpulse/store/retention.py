"""An organisation's retention of answers and cases: the policy, and one bounded batch of it.

``loop_settings.retention_months`` (None: kept for ever) and ``retention_action`` (delete or
anonymise, as ``store.contact_erasure`` does them) say what happens to answers and follow-up
cases older than that many months. The worker applies the policy in batches of at most
``limit`` rows per transaction, walking each survey's answers along the index of
(survey, submitted_at, id) from a cursor, so that a backlog of a million answers never holds
the write lock for long and a batch costs what the first one did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.orm import Session

from cxpulse.store import contact_erasure, loop_settings
from cxpulse.store.contact_erasure import ANONYMOUS_CASE_TITLE, IDENTIFIED, ErasureCounts
from cxpulse.store.errors import Invalid
from cxpulse.store.keyset import after_key
from cxpulse.store.models import RETENTION_ACTIONS, FollowUpCase, LoopSettings, Response, Survey

MAX_MONTHS = 240
"""Longest retention that can be set (20 years); longer is "keep", which is None."""


@dataclass(frozen=True)
class Policy:
    months: int | None
    """None: answers and cases are kept."""
    action: str
    """``delete`` or ``anonymise``."""


@dataclass(frozen=True)
class Cursor:
    """Where a retention run goes on: after this answer of this survey, or (``cases``)
    after this case."""

    survey_id: int = 0
    submitted_at: datetime | None = None
    response_id: int = 0
    cases: bool = False
    case_id: int = 0

    def to_payload(self) -> dict[str, Any]:
        return {
            "survey_id": self.survey_id,
            "submitted_at": None if self.submitted_at is None else self.submitted_at.isoformat(),
            "response_id": self.response_id,
            "cases": self.cases,
            "case_id": self.case_id,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Cursor:
        moment = payload.get("submitted_at")
        return cls(
            survey_id=int(payload.get("survey_id", 0)),
            submitted_at=None if moment is None else datetime.fromisoformat(str(moment)),
            response_id=int(payload.get("response_id", 0)),
            cases=bool(payload.get("cases", False)),
            case_id=int(payload.get("case_id", 0)),
        )


def get_policy(session: Session, organisation_id: int) -> Policy:
    settings = loop_settings.get_settings(session, organisation_id)
    return Policy(settings.retention_months, settings.retention_action)


def check_policy(months: int | None, action: str) -> Policy:
    if months is not None and not 1 <= months <= MAX_MONTHS:
        raise Invalid("months", f"must be between 1 and {MAX_MONTHS}, or null to keep everything")
    if action not in RETENTION_ACTIONS:
        raise Invalid("action", f"must be one of {', '.join(RETENTION_ACTIONS)}")
    return Policy(months, action)


def set_policy(session: Session, organisation_id: int, months: int | None, action: str) -> Policy:
    """Set the organisation's retention, making its settings row if it has none."""
    policy = check_policy(months, action)
    loop_settings.update_settings(
        session, organisation_id, retention_months=policy.months, retention_action=policy.action
    )
    return policy


def policies(session: Session) -> dict[int, Policy]:
    """The organisations that have a retention, with theirs."""
    rows = session.execute(
        select(
            LoopSettings.organisation_id,
            LoopSettings.retention_months,
            LoopSettings.retention_action,
        ).where(LoopSettings.retention_months.is_not(None))
    )
    return {int(org): Policy(months, action) for org, months, action in rows}


def _due_answers(
    session: Session,
    organisation_id: int,
    cutoff: datetime,
    action: str,
    cursor: Cursor,
    limit: int,
) -> tuple[list[int], Cursor | None]:
    """Up to ``limit`` answers older than ``cutoff`` after the cursor (for ``anonymise``, only
    those that may still identify someone), and the cursor after them (None: no more)."""
    survey_ids = session.scalars(
        select(Survey.id)
        .where(Survey.organisation_id == organisation_id, Survey.id >= cursor.survey_id)
        .order_by(Survey.id)
    ).all()
    found: list[int] = []
    for survey_id in survey_ids:
        query = select(Response.id, Response.submitted_at).where(
            Response.survey_id == survey_id,
            Response.organisation_id == organisation_id,
            Response.submitted_at < cutoff,
        )
        if survey_id == cursor.survey_id and cursor.submitted_at is not None:
            query = query.where(
                *after_key(
                    Response.submitted_at,
                    Response.id,
                    (cursor.submitted_at, cursor.response_id),
                )
            )
        if action == "anonymise":
            query = query.where(or_(IDENTIFIED, cast(Response.properties, Text) != "{}"))
        rows = session.execute(
            query.order_by(Response.submitted_at, Response.id).limit(limit - len(found))
        ).all()
        found += [int(row.id) for row in rows]
        if len(found) >= limit:
            last = rows[-1]
            return found, Cursor(survey_id, last.submitted_at, int(last.id))
    return found, None


def _due_cases(
    session: Session, organisation_id: int, cutoff: datetime, action: str, after: int, limit: int
) -> list[int]:
    query = select(FollowUpCase.id).where(
        FollowUpCase.organisation_id == organisation_id,
        FollowUpCase.created_at < cutoff,
        FollowUpCase.id > after,
    )
    if action == "anonymise":
        query = query.where(FollowUpCase.title != ANONYMOUS_CASE_TITLE)
    return [int(i) for i in session.scalars(query.order_by(FollowUpCase.id).limit(limit))]


def apply_batch(
    session: Session,
    organisation_id: int,
    *,
    cutoff: datetime,
    action: str,
    cursor: Cursor,
    limit: int,
) -> tuple[ErasureCounts, Cursor | None]:
    """Delete or anonymise up to ``limit`` answers (then cases) older than ``cutoff`` after
    ``cursor``, in the caller's transaction; what changed, and where to go on (None: done)."""
    counts = ErasureCounts()
    if not cursor.cases:
        answers, following = _due_answers(session, organisation_id, cutoff, action, cursor, limit)
        if action == "delete":
            counts.responses_deleted = contact_erasure.delete_responses(
                session, organisation_id, answers
            )
        else:
            counts.responses_anonymised = contact_erasure.anonymise_responses(
                session, organisation_id, answers
            )
        if following is not None:
            return counts, following
        cursor = Cursor(cases=True)
        limit -= len(answers)
        if limit <= 0:
            return counts, cursor
    cases = _due_cases(session, organisation_id, cutoff, action, cursor.case_id, limit)
    if action == "delete":
        counts.cases_deleted = contact_erasure.delete_cases(session, organisation_id, cases)
    else:
        counts.cases_anonymised = contact_erasure.anonymise_cases(session, organisation_id, cases)
    if len(cases) >= limit:
        return counts, Cursor(cases=True, case_id=cases[-1])
    return counts, None
