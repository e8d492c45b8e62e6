"""One contact's timeline (``store.customer_timeline``) on SQLite and PostgreSQL: answers,
invitations and their emails, cases and their history, in time order and never another
contact's or organisation's."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import cases, contacts, customer_timeline, responses, surveys
from cxpulse.store.errors import NotFound
from cxpulse.store.models import FollowUpCase, Invitation, Organisation, Survey

DAY = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_the_whole_history_in_time_order(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    shop = surveys.create_survey(
        session, org.id, slug="shop-nps", name="Shop NPS", metric="nps", status="active"
    )
    ana = contacts.create_contact(session, org.id, email="ana@example.com")
    bob = contacts.create_contact(session, org.id, email="bob@example.com")
    invitation = Invitation(
        organisation_id=org.id,
        survey_id=survey.id,
        contact_id=ana.id,
        status="sent",
        send_at=DAY,
        sent_at=DAY + timedelta(minutes=1),
        opened_at=DAY + timedelta(hours=1),
        created_at=DAY - timedelta(minutes=5),
    )
    session.add(invitation)
    session.flush()
    stored = responses.add_responses(
        session,
        org.id,
        [
            responses.NewResponse(
                survey_id=survey.id,
                score=1,
                comment="Slow",
                contact_id=ana.id,
                invitation_id=invitation.id,
                submitted_at=DAY + timedelta(hours=2),
            ),
            responses.NewResponse(
                survey_id=shop.id, score=9, contact_id=ana.id, submitted_at=DAY + timedelta(days=3)
            ),
            responses.NewResponse(
                survey_id=survey.id, score=2, contact_id=bob.id, submitted_at=DAY
            ),
        ],
    )
    row = cases.insert_case(
        session,
        FollowUpCase(
            organisation_id=org.id,
            survey_id=survey.id,
            response_id=stored[0][0].id,
            contact_id=ana.id,
            title="Slow delivery",
            state="resolved",
            created_at=DAY + timedelta(hours=2, minutes=1),
            closed_at=DAY + timedelta(days=1),
            resolution_reason="Refunded",
            reply_token=secrets.token_urlsafe(24),
        ),
    )
    assert row is not None
    cases.add_event(session, row, "created", at=row.created_at)
    cases.add_event(session, row, "email_out", body="Sorry!", at=DAY + timedelta(hours=3))
    cases.add_event(session, row, "email_in", body="Thanks", at=DAY + timedelta(hours=5))
    found = customer_timeline.timeline(session, org.id, ana.id)
    assert [entry.kind for entry in found] == [
        "invitation",
        "invitation_sent",
        "invitation_opened",
        "answer",
        "case_opened",
        "case_email_out",
        "case_email_in",
        "case_closed",
        "answer",
    ]
    assert found[3].text == "Slow"
    assert found[3].invitation_id == invitation.id
    assert found[-1].survey_name == "Shop NPS"
    assert found[7].text == "Refunded"
    assert [
        entry.kind for entry in customer_timeline.timeline(session, org.id, ana.id, limit=2)
    ] == ["case_closed", "answer"]
    with pytest.raises(NotFound):
        customer_timeline.timeline(session, other_org.id, ana.id)
