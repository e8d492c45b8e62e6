"""Follow-up cases written straight into the cases table, for the tests of the figures
that read them: an answer and its case, with the moments a test needs."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.store import responses
from cxpulse.store.models import FollowUpCase


def answer(
    session: Session, organisation_id: int, survey_id: int, score: float, at: datetime
) -> int:
    """Store one answer; its id."""
    stored = responses.add_responses(
        session,
        organisation_id,
        [responses.NewResponse(survey_id=survey_id, score=score, submitted_at=at)],
    )
    return stored[0][0].id


def add_case(
    session: Session,
    organisation_id: int,
    survey_id: int,
    created_at: datetime,
    *,
    response_id: int | None = None,
    state: str = "new",
    contact_after: timedelta | None = None,
    close_after: timedelta | None = None,
    due_after: timedelta | None = None,
    recovery_score: float | None = None,
) -> FollowUpCase:
    """One case opened at ``created_at``; the other moments are given from it."""
    row = FollowUpCase(
        organisation_id=organisation_id,
        survey_id=survey_id,
        response_id=response_id,
        title="Unhappy customer",
        state=state,
        priority="normal",
        created_at=created_at,
        first_contact_at=None if contact_after is None else created_at + contact_after,
        closed_at=None if close_after is None else created_at + close_after,
        due_at=None if due_after is None else created_at + due_after,
        recovery_score=recovery_score,
        reply_token=secrets.token_hex(16),
    )
    session.add(row)
    session.flush()
    return row


def answer_with_case(
    session: Session,
    organisation_id: int,
    survey_id: int,
    score: float,
    at: datetime,
    **case: object,
) -> FollowUpCase:
    """An answer submitted at ``at`` and its case, opened a minute later."""
    response_id = answer(session, organisation_id, survey_id, score, at)
    return add_case(
        session,
        organisation_id,
        survey_id,
        at + timedelta(minutes=1),
        response_id=response_id,
        **case,  # type: ignore[arg-type]
    )
