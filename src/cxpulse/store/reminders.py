"""The reads behind invitation reminders: the surveys that send them and, for one survey, the
invitations a reminder is due for. When one is due, and enqueueing it, is decided in
``cxpulse.collect.invitation_reminders``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast, exists, literal, select
from sqlalchemy.orm import Session

from cxpulse.store.models import Invitation, OutboxItem, Response, Survey


@dataclass(frozen=True)
class DueReminder:
    """An invitation that is due its reminder."""

    invitation_id: int
    organisation_id: int


def reminder_surveys(session: Session) -> list[Survey]:
    """The active surveys, of every organisation, that send reminders."""
    return list(
        session.scalars(
            select(Survey).where(Survey.reminder_days.is_not(None), Survey.status == "active")
        ).all()
    )


def due_reminders(
    session: Session,
    survey_id: int,
    *,
    sent_by: datetime,
    sent_after: datetime,
    key_prefix: str,
    limit: int,
) -> list[DueReminder]:
    """The survey's invitations sent in (``sent_after``, ``sent_by``], never reminded, not
    answered and with no outbox item keyed ``<key_prefix><invitation id>`` in their
    organisation; at most ``limit``, in id order."""
    answered = exists().where(Response.invitation_id == Invitation.id)
    reminder_key = literal(key_prefix) + cast(Invitation.id, String)
    queued = exists().where(
        OutboxItem.organisation_id == Invitation.organisation_id,
        OutboxItem.dedupe_key == reminder_key,
    )
    rows = session.execute(
        select(Invitation.id, Invitation.organisation_id)
        .where(
            Invitation.survey_id == survey_id,
            # Reminders are emails; an invitation by SMS gets none.
            Invitation.channel == "email",
            Invitation.status == "sent",
            Invitation.reminded_at.is_(None),
            Invitation.sent_at <= sent_by,
            Invitation.sent_at > sent_after,
            ~answered,
            ~queued,
        )
        .order_by(Invitation.id)
        .limit(limit)
    ).all()
    return [DueReminder(int(invitation_id), int(org_id)) for invitation_id, org_id in rows]
