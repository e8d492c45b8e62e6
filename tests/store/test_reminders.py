"""The reads behind reminders: surveys that send them, invitations that are due one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.store import contacts, outbox, responses, surveys
from cxpulse.store.models import Invitation, Organisation, Survey
from cxpulse.store.reminders import DueReminder, due_reminders, reminder_surveys

NOW = datetime(2025, 3, 20, 12, tzinfo=UTC)


def test_only_active_surveys_with_reminder_days_send_reminders(
    session: Session, org: Organisation, survey: Survey
) -> None:
    reminding = surveys.create_survey(
        session, org.id, slug="r", name="R", metric="csat", status="active", reminder_days=3
    )
    surveys.create_survey(
        session, org.id, slug="d", name="D", metric="csat", status="draft", reminder_days=3
    )
    assert [s.id for s in reminder_surveys(session)] == [reminding.id]


def test_due_reminders_leave_out_answered_reminded_queued_and_out_of_window(
    session: Session, org: Organisation, survey: Survey
) -> None:
    contact = contacts.create_contact(session, org.id, email="a@example.com")

    def sent(days_ago: float, **fields: object) -> Invitation:
        moment = NOW - timedelta(days=days_ago)
        return Invitation(
            organisation_id=org.id,
            survey_id=survey.id,
            contact_id=contact.id,
            status=str(fields.pop("status", "sent")),
            send_at=moment,
            sent_at=moment,
            **fields,
        )

    due, answered, queued, due_too = sent(4), sent(4), sent(4), sent(5)
    left_out = [sent(4, reminded_at=NOW), sent(1), sent(40), sent(4, status="failed")]
    session.add_all([due, answered, queued, due_too, *left_out])
    session.flush()
    responses.add_responses(
        session,
        org.id,
        [responses.NewResponse(survey_id=survey.id, score=4, invitation_id=answered.id)],
    )
    outbox.enqueue(session, org.id, "reminder", f"reminder:{queued.id}")

    def found(limit: int = 10, key_prefix: str = "reminder:") -> list[DueReminder]:
        return due_reminders(
            session,
            survey.id,
            sent_by=NOW - timedelta(days=3),
            sent_after=NOW - timedelta(days=30),
            key_prefix=key_prefix,
            limit=limit,
        )

    assert found() == [DueReminder(due.id, org.id), DueReminder(due_too.id, org.id)]
    assert found(limit=1) == [DueReminder(due.id, org.id)]
    # An outbox item under another key is not this invitation's reminder.
    assert [r.invitation_id for r in found(key_prefix="nudge:")] == [due.id, queued.id, due_too.id]
