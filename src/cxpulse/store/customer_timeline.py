"""One contact's whole history with the organisation, across surveys and in time order:
each answer, each invitation (made, sent, reminded, opened), each follow-up case and each
line of a case's history (notes, state changes, emails out and in).

Five small indexed queries merged in Python: a contact has tens of entries, not thousands,
and ``limit`` keeps the newest when one has more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store.contacts import get_contact
from cxpulse.store.models import CaseEvent, FollowUpCase, Invitation, Response, Survey

__all__ = ["DEFAULT_LIMIT", "TimelineEntry", "timeline"]

DEFAULT_LIMIT = 500


@dataclass(frozen=True)
class TimelineEntry:
    """One moment of a contact's history.

    ``kind``: ``answer``, ``invitation`` (made), ``invitation_sent``, ``reminder_sent``,
    ``invitation_opened``, ``case_opened``, ``case_closed`` or ``case_<event kind>``
    (``case_note``, ``case_state``, ``case_email_out``, ``case_email_in`` ...)."""

    at: datetime
    kind: str
    survey_id: int | None = None
    survey_name: str | None = None
    response_id: int | None = None
    invitation_id: int | None = None
    case_id: int | None = None
    score: float | None = None
    text: str | None = None
    """The answer's comment, a note, an email's text; shown escaped, redacted for display."""
    details: dict[str, Any] = field(default_factory=dict)


def timeline(
    session: Session, organisation_id: int, contact_id: int, *, limit: int = DEFAULT_LIMIT
) -> list[TimelineEntry]:
    """The contact's entries, oldest first (the newest ``limit`` of them)."""
    get_contact(session, organisation_id, contact_id)  # NotFound unless the organisation's
    names: dict[int, str] = {
        survey_id: name
        for survey_id, name in session.execute(
            select(Survey.id, Survey.name).where(Survey.organisation_id == organisation_id)
        )
    }
    entries: list[TimelineEntry] = []
    answers = session.scalars(
        select(Response)
        .where(Response.organisation_id == organisation_id, Response.contact_id == contact_id)
        .order_by(Response.submitted_at.desc())
        .limit(limit)
    )
    for answer in answers:
        entries.append(
            TimelineEntry(
                at=answer.submitted_at,
                kind="answer",
                survey_id=answer.survey_id,
                survey_name=names.get(answer.survey_id),
                response_id=answer.id,
                invitation_id=answer.invitation_id,
                score=answer.score,
                text=answer.comment,
                details={"channel": answer.channel, "touchpoint": answer.touchpoint},
            )
        )
    invitations = session.scalars(
        select(Invitation)
        .where(Invitation.organisation_id == organisation_id, Invitation.contact_id == contact_id)
        .order_by(Invitation.send_at.desc())
        .limit(limit)
    )
    for invitation in invitations:
        common: dict[str, Any] = {
            "survey_id": invitation.survey_id,
            "survey_name": names.get(invitation.survey_id),
            "invitation_id": invitation.id,
        }
        entries.append(
            TimelineEntry(
                at=invitation.created_at,
                kind="invitation",
                details={
                    "status": invitation.status,
                    "reason": invitation.reason,
                    "channel": invitation.channel,
                    "send_at": invitation.send_at.isoformat(),
                },
                **common,
            )
        )
        for moment, kind in (
            (invitation.sent_at, "invitation_sent"),
            (invitation.reminded_at, "reminder_sent"),
            (invitation.opened_at, "invitation_opened"),
        ):
            if moment is not None:
                entries.append(TimelineEntry(at=moment, kind=kind, **common))
    cases = list(
        session.scalars(
            select(FollowUpCase)
            .where(
                FollowUpCase.organisation_id == organisation_id,
                FollowUpCase.contact_id == contact_id,
            )
            .order_by(FollowUpCase.created_at.desc())
            .limit(limit)
        )
    )
    for found in cases:
        common = {
            "survey_id": found.survey_id,
            "survey_name": names.get(found.survey_id) if found.survey_id else None,
            "case_id": found.id,
            "response_id": found.response_id,
        }
        entries.append(
            TimelineEntry(
                at=found.created_at,
                kind="case_opened",
                text=found.title,
                details={"priority": found.priority},
                **common,
            )
        )
        if found.closed_at is not None:
            entries.append(
                TimelineEntry(
                    at=found.closed_at,
                    kind="case_closed",
                    text=found.resolution_reason,
                    details={"state": found.state, "recovery_score": found.recovery_score},
                    **common,
                )
            )
    if cases:
        history = session.scalars(
            select(CaseEvent)
            .where(
                CaseEvent.organisation_id == organisation_id,
                CaseEvent.case_id.in_([found.id for found in cases]),
                CaseEvent.kind != "created",
            )
            .order_by(CaseEvent.created_at.desc())
            .limit(limit)
        )
        by_id = {found.id: found for found in cases}
        for event in history:
            owner = by_id[event.case_id]
            entries.append(
                TimelineEntry(
                    at=event.created_at,
                    kind=f"case_{event.kind}",
                    survey_id=owner.survey_id,
                    survey_name=names.get(owner.survey_id) if owner.survey_id else None,
                    case_id=owner.id,
                    text=event.body,
                    details=dict(event.data or {}),
                )
            )
    entries.sort(key=lambda entry: (entry.at, entry.kind))
    return entries[-limit:]
