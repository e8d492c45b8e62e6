"""Reminders: enqueued once for each unanswered invitation that is due one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.collect.invitation_support import invite as _invite

from cxpulse.collect.invitation_reminders import schedule_reminders
from cxpulse.collect.invitation_requests import InvitationRequest
from cxpulse.store import responses, surveys
from cxpulse.store.models import Invitation, Organisation, OutboxItem


def test_reminders_are_scheduled_once_for_unanswered_invitations(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session:
        survey = surveys.create_survey(
            session,
            org.id,
            slug="remind",
            name="Remind",
            metric="csat",
            status="active",
            reminder_days=3,
        )
    made = _invite(
        sessions, org, survey, *(InvitationRequest(email=f"r{n}@example.com") for n in range(4))
    )
    sent_at = datetime.now(UTC) - timedelta(days=4)
    with sessions.begin() as session:
        for invitation in made:
            row = session.get(Invitation, invitation.id)
            assert row is not None
            row.status, row.sent_at = "sent", sent_at
        fresh = session.get(Invitation, made[3].id)
        assert fresh is not None
        fresh.sent_at = datetime.now(UTC) - timedelta(days=1)
        reminded = session.get(Invitation, made[2].id)
        assert reminded is not None
        reminded.reminded_at = datetime.now(UTC)
        responses.add_responses(
            session,
            org.id,
            [responses.NewResponse(survey_id=survey.id, score=4, invitation_id=made[0].id)],
        )
    with sessions.begin() as session:
        assert schedule_reminders(session) == 1
    with sessions.begin() as session:
        assert schedule_reminders(session) == 0
        keys = session.scalars(
            select(OutboxItem.dedupe_key).where(OutboxItem.kind == "reminder")
        ).all()
    assert keys == [f"reminder:{made[1].id}"]
