"""Each invitation's state as a person reads it (answered, delivery unknown, else its status),
the counts per state, and the newest-first keyset pages, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.store import contacts, invitation_states
from cxpulse.store.models import Invitation, Organisation, OutboxItem, Response, Survey

START = datetime(2026, 1, 1, 9, tzinfo=UTC)


def _invite(session: Session, org: Organisation, survey: Survey, n: int, status: str) -> Invitation:
    contact = contacts.create_contact(session, org.id, email=f"p{n}@example.com")
    row = Invitation(
        organisation_id=org.id,
        survey_id=survey.id,
        contact_id=contact.id,
        status=status,
        send_at=START,
        created_at=START + timedelta(minutes=n),
    )
    session.add(row)
    session.flush()
    return row


def test_states_counts_and_pages(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    statuses = [
        "scheduled",
        "sent",
        "sent",
        "sent",
        "failed",
        "throttled",
        "unsubscribed",
        "cancelled",
    ]
    made = [_invite(session, org, survey, n, s) for n, s in enumerate(statuses)]
    answered, unknown = made[2], made[3]
    session.add(
        Response(
            organisation_id=org.id,
            survey_id=survey.id,
            score=5,
            submitted_at=START,
            invitation_id=answered.id,
        )
    )
    # The worker lost the connection after the end of data: delivery unknown.
    session.add(
        OutboxItem(
            organisation_id=org.id,
            kind="invitation",
            dedupe_key=f"invitation:{unknown.id}",
            state="unconfirmed",
        )
    )
    session.flush()
    counts = invitation_states.state_counts(session, org.id, survey.id)
    assert counts == {
        "scheduled": 1,
        "sent": 1,
        "unknown": 1,
        "failed": 1,
        "throttled": 1,
        "unsubscribed": 1,
        "cancelled": 1,
        "answered": 1,
    }
    assert sum(invitation_states.state_counts(session, other_org.id).values()) == 0
    for state in invitation_states.STATES:
        page = invitation_states.list_with_states(session, org.id, survey_id=survey.id, state=state)
        assert [row.state for row in page.items] == [state]
    first = invitation_states.list_with_states(session, org.id, limit=5)
    assert [r.id for r in first.items] == [m.id for m in reversed(made)][:5]
    assert first.next_after is not None
    rest = invitation_states.list_with_states(session, org.id, before=first.next_after, limit=5)
    assert [r.id for r in rest.items] == [m.id for m in reversed(made)][5:]
    assert rest.next_after is None
    assert invitation_states.scheduled_count(session, org.id, survey.id) == 1
