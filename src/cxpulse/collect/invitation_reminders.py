"""Reminders: one per invitation, enqueued when it is due (sent ``reminder_days`` ago, its link
still valid, no answer, never reminded). The worker sends them and checks unsubscribes then.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.collect.invitation_scheduling import outbox_key
from cxpulse.store import outbox
from cxpulse.store.reminders import due_reminders, reminder_surveys
from cxpulse.store.survey_options import parse_options
from cxpulse.store.types import utc_now

REMINDER_KIND = "reminder"


def schedule_reminders(session: Session, *, now: datetime | None = None, limit: int = 1000) -> int:
    """Enqueue the one reminder of each invitation that is due one; the count enqueued.

    Due: sent at least ``reminder_days`` ago, its link still valid, no answer, never
    reminded. Unsubscribes are checked when the reminder is sent.
    """
    moment = now or utc_now()
    enqueued = 0
    for survey in reminder_surveys(session):
        assert survey.reminder_days is not None
        link_days = parse_options(survey.collect_options).link_days
        due = due_reminders(
            session,
            survey.id,
            sent_by=moment - timedelta(days=survey.reminder_days),
            sent_after=moment - timedelta(days=link_days),
            # The prefix of ``outbox_key(REMINDER_KIND, id)``: a reminder already queued.
            key_prefix=f"{REMINDER_KIND}:",
            limit=limit - enqueued,
        )
        for reminder in due:
            if outbox.enqueue(
                session,
                reminder.organisation_id,
                REMINDER_KIND,
                outbox_key(REMINDER_KIND, reminder.invitation_id),
                {"invitation_id": reminder.invitation_id},
                available_at=moment,
            ):
                enqueued += 1
        if enqueued >= limit:
            break
    return enqueued
