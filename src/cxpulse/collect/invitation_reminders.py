"""Reminders: one per invitation, enqueued when it is due (sent ``reminder_days`` ago, its link
still valid, no answer, never reminded). The worker sends them and checks unsubscribes then.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, cast, exists, literal, select
from sqlalchemy.orm import Session

from cxpulse.collect.invitation_scheduling import outbox_key
from cxpulse.store import outbox
from cxpulse.store.models import Invitation, OutboxItem, Response, Survey
from cxpulse.store.survey_options import parse_options
from cxpulse.store.types import utc_now

REMINDER_KIND = "reminder"


def schedule_reminders(session: Session, *, now: datetime | None = None, limit: int = 1000) -> int:
    """Enqueue the one reminder of each invitation that is due one; the count enqueued.

    Due: sent at least ``reminder_days`` ago, its link still valid, no answer, never
    reminded. Unsubscribes are checked when the reminder is sent.
    """
    moment = now or utc_now()
    surveys = session.scalars(
        select(Survey).where(Survey.reminder_days.is_not(None), Survey.status == "active")
    ).all()
    enqueued = 0
    for survey in surveys:
        assert survey.reminder_days is not None
        link_days = parse_options(survey.collect_options).link_days
        answered = exists().where(Response.invitation_id == Invitation.id)
        reminder_key = literal(REMINDER_KIND + ":") + cast(Invitation.id, String)
        queued = exists().where(
            OutboxItem.organisation_id == Invitation.organisation_id,
            OutboxItem.dedupe_key == reminder_key,
        )
        due = session.execute(
            select(Invitation.id, Invitation.organisation_id)
            .where(
                Invitation.survey_id == survey.id,
                Invitation.status == "sent",
                Invitation.reminded_at.is_(None),
                Invitation.sent_at <= moment - timedelta(days=survey.reminder_days),
                Invitation.sent_at > moment - timedelta(days=link_days),
                ~answered,
                ~queued,
            )
            .order_by(Invitation.id)
            .limit(limit - enqueued)
        ).all()
        for invitation_id, organisation_id in due:
            if outbox.enqueue(
                session,
                organisation_id,
                REMINDER_KIND,
                outbox_key(REMINDER_KIND, invitation_id),
                {"invitation_id": invitation_id},
                available_at=moment,
            ):
                enqueued += 1
        if enqueued >= limit:
            break
    return enqueued
