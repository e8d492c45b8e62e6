"""Response rates counted by the database, per period and channel, within an organisation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect.rates import rate, response_rates
from cxpulse.metrics.intervals import wilson
from cxpulse.store import accounts, contacts, responses, surveys
from cxpulse.store.models import Invitation, Organisation


def test_rate_has_a_wilson_interval_and_none_without_a_denominator() -> None:
    assert rate(0, 0).value is None
    half = rate(5, 10)
    assert half.value == 0.5
    assert (half.low, half.high) == wilson(5, 10, 0.95)


def _invitation(
    org_id: int, survey_id: int, contact_id: int, status: str, when: datetime, **fields: object
) -> Invitation:
    return Invitation(
        organisation_id=org_id,
        survey_id=survey_id,
        contact_id=contact_id,
        status=status,
        send_at=when,
        sent_at=when if status == "sent" else None,
        **fields,
    )


def test_counts_per_month(sessions: sessionmaker[Session], org: Organisation) -> None:
    january = datetime(2025, 1, 10, 12, tzinfo=UTC)
    february = datetime(2025, 2, 3, 8, tzinfo=UTC)
    with sessions.begin() as session:
        survey = surveys.create_survey(
            session, org.id, slug="rated", name="Rated", metric="csat", status="active"
        )
        contact = contacts.create_contact(session, org.id, email="a@example.com")
        rows = [
            _invitation(org.id, survey.id, contact.id, "sent", january, opened_at=january),
            _invitation(org.id, survey.id, contact.id, "sent", january),
            _invitation(org.id, survey.id, contact.id, "sent", january),
            _invitation(org.id, survey.id, contact.id, "failed", january),
            _invitation(org.id, survey.id, contact.id, "throttled", january),
            _invitation(org.id, survey.id, contact.id, "sent", february),
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
                responses.NewResponse(survey_id=survey.id, score=4),  # not through an invitation
            ],
        )
        # Another organisation's invitations never count.
        other = accounts.create_organisation(session, slug="other-org", name="Other")
        other_contact = contacts.create_contact(session, other.id, email="b@example.com")
        session.add(_invitation(other.id, survey.id, other_contact.id, "sent", january))
    with sessions() as session:
        found = response_rates(session, org.id, survey.id, period="month")
    assert [(r.period, r.channel) for r in found] == [("2025-01", "email"), ("2025-02", "email")]
    jan = found[0]
    assert (jan.invited, jan.sent, jan.failed, jan.throttled, jan.opened) == (5, 3, 1, 1, 1)
    assert (jan.answered, jan.commented) == (2, 1)
    assert jan.response_rate.value == pytest.approx(2 / 3)
    assert jan.comment_rate.value == 0.5
    assert found[1].answered == 0
    assert found[1].comment_rate.value is None
    with sessions() as session:
        days = response_rates(session, org.id, survey.id, period="day")
        weeks = response_rates(session, org.id, survey.id, period="week")
    assert [r.period for r in days] == ["2025-01-10", "2025-02-03"]
    assert [r.period for r in weeks] == ["2025-W02", "2025-W06"]


def test_bounds_keep_the_invitations_sent_in_the_period(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    """Only invitations with send_at in [start, end) are counted, so the first and last
    periods hold only their part inside the bounds (a date is midnight UTC)."""
    moments = [
        datetime(2024, 12, 31, 23, 59, tzinfo=UTC),  # before
        datetime(2025, 1, 1, 0, 0, tzinfo=UTC),  # the first instant inside
        datetime(2025, 1, 9, 8, tzinfo=UTC),  # January, inside
        datetime(2025, 1, 20, 8, tzinfo=UTC),  # January, after the end
        datetime(2023, 6, 1, 8, tzinfo=UTC),  # long before
    ]
    with sessions.begin() as session:
        survey = surveys.create_survey(
            session, org.id, slug="bounded", name="Bounded", metric="csat", status="active"
        )
        contact = contacts.create_contact(session, org.id, email="a@example.com")
        rows = [_invitation(org.id, survey.id, contact.id, "sent", when) for when in moments]
        session.add_all(rows)
        session.flush()
        responses.add_responses(
            session,
            org.id,
            [
                responses.NewResponse(survey_id=survey.id, score=5, invitation_id=row.id)
                for row in (rows[0], rows[2], rows[3])
            ],
        )
    with sessions() as session:
        everything = response_rates(session, org.id, survey.id, period="month")
        bounded = response_rates(
            session,
            org.id,
            survey.id,
            period="month",
            start=date(2025, 1, 1),
            end=date(2025, 1, 15),
        )
        from_day = response_rates(
            session, org.id, survey.id, period="day", start=datetime(2025, 1, 9, tzinfo=UTC)
        )
    assert [(r.period, r.sent) for r in everything] == [
        ("2023-06", 1),
        ("2024-12", 1),
        ("2025-01", 3),
    ]
    (january,) = bounded
    assert (january.period, january.sent, january.answered) == ("2025-01", 2, 1)
    assert january.response_rate.value == 0.5
    assert [(r.period, r.sent) for r in from_day] == [("2025-01-09", 1), ("2025-01-20", 1)]
