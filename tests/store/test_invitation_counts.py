"""Invitations counted per period and channel with the responses made through them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from cxpulse.store import accounts, contacts, responses
from cxpulse.store.invitation_counts import InvitationCounts, invitation_counts
from cxpulse.store.models import Invitation, Organisation, Survey

JANUARY = datetime(2025, 1, 10, 12, tzinfo=UTC)
FEBRUARY = datetime(2025, 2, 3, 8, tzinfo=UTC)


def _invitation(
    org: Organisation,
    survey: Survey,
    contact_id: int,
    status: str,
    when: datetime,
    **fields: object,
) -> Invitation:
    return Invitation(
        organisation_id=org.id,
        survey_id=survey.id,
        contact_id=contact_id,
        status=status,
        send_at=when,
        sent_at=when if status == "sent" else None,
        **fields,
    )


def test_counts_by_period_and_channel_within_the_organisation(
    session: Session, org: Organisation, survey: Survey
) -> None:
    contact = contacts.create_contact(session, org.id, email="a@example.com")
    rows = [
        _invitation(org, survey, contact.id, "sent", JANUARY, opened_at=JANUARY),
        _invitation(org, survey, contact.id, "sent", JANUARY),
        _invitation(org, survey, contact.id, "failed", JANUARY),
        _invitation(org, survey, contact.id, "throttled", JANUARY),
        _invitation(org, survey, contact.id, "unsubscribed", JANUARY),
        _invitation(org, survey, contact.id, "sent", FEBRUARY, channel="sms"),
    ]
    session.add_all(rows)
    session.flush()
    responses.add_responses(
        session,
        org.id,
        [
            responses.NewResponse(
                survey_id=survey.id, score=5, invitation_id=rows[0].id, comment="Great"
            ),
            responses.NewResponse(
                survey_id=survey.id, score=2, invitation_id=rows[1].id, comment="  "
            ),
        ],
    )
    other = accounts.create_organisation(session, slug="other-org", name="Other")
    other_contact = contacts.create_contact(session, other.id, email="b@example.com")
    session.add(
        Invitation(
            organisation_id=other.id,
            survey_id=survey.id,
            contact_id=other_contact.id,
            status="sent",
            send_at=JANUARY,
            sent_at=JANUARY,
        )
    )
    session.flush()

    found = invitation_counts(session, org.id, survey.id, period="month")
    assert found == [
        InvitationCounts("2025-01", "email", 5, 2, 1, 1, 1, 1, 2, 1),
        InvitationCounts("2025-02", "sms", 1, 1, 0, 0, 0, 0, 0, 0),
    ]
    assert [r.period for r in invitation_counts(session, org.id, survey.id, period="year")] == [
        "2025",
        "2025",
    ]


def test_bounds_keep_the_invitations_sent_inside(
    session: Session, org: Organisation, survey: Survey
) -> None:
    contact = contacts.create_contact(session, org.id, email="a@example.com")
    session.add_all(
        [
            _invitation(org, survey, contact.id, "sent", JANUARY),
            _invitation(org, survey, contact.id, "sent", FEBRUARY),
        ]
    )
    session.flush()
    february = datetime(2025, 2, 1, tzinfo=UTC)
    after = invitation_counts(session, org.id, survey.id, period="month", start=february)
    before = invitation_counts(session, org.id, survey.id, period="month", end=february)
    assert [(r.period, r.invited) for r in after] == [("2025-02", 1)]
    assert [(r.period, r.invited) for r in before] == [("2025-01", 1)]
    assert invitation_counts(session, org.id + 1000, survey.id, period="month") == []
