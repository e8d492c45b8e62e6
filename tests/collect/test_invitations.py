"""Triggering invitations: delays, contacts, throttling, unsubscribes, idempotency, reminders."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect.invitations import (
    InvitationRequest,
    cancel_invitation,
    create_invitations,
    parse_delay,
    schedule_reminders,
    set_organisation_throttle,
)
from cxpulse.store import accounts, contacts, responses, surveys
from cxpulse.store import invitations as store
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Invitation, Organisation, OutboxItem, Survey


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("24h", timedelta(hours=24)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        (" 1d 12h ", timedelta(days=1, hours=12)),
        ("0s", timedelta()),
    ],
)
def test_delays(text: str, expected: timedelta) -> None:
    assert parse_delay(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "24", "h", "-1h", "2 days", "400d", "1.5h"])
def test_bad_delays_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"delay|year"):
        parse_delay(text)


@pytest.fixture
def active(sessions: sessionmaker[Session], org: Organisation) -> Survey:
    with sessions.begin() as session:
        return surveys.create_survey(
            session,
            org.id,
            slug="after-ticket",
            name="After ticket",
            metric="csat",
            status="active",
        )


def _invite(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey, *items: InvitationRequest
) -> list[Invitation]:
    with sessions.begin() as session:
        return [t.invitation for t in create_invitations(session, org.id, survey.id, list(items))]


def test_contacts_are_found_or_created_and_outbox_items_written_with_them(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    with sessions.begin() as session:
        known = contacts.create_contact(session, org.id, external_id="crm-1", email="k@example.com")
    soon = datetime.now(UTC) + timedelta(hours=2)
    made = _invite(
        sessions,
        org,
        active,
        InvitationRequest(contact_id=known.id, properties={"ticket": 12}),
        InvitationRequest(external_id="crm-2", email="new@example.com", name="New", locale="nl"),
        InvitationRequest(email="k@example.com", send_at=soon, language="de"),
    )
    assert next(i.contact_id for i in made) == known.id
    assert made[2].contact_id == known.id  # found by email
    assert made[0].properties == {"ticket": "12"}
    assert made[2].language == "de"
    assert made[2].send_at == soon
    with sessions() as session:
        created = contacts.get_contact_by_external_id(session, org.id, "crm-2")
        assert (created.email, created.locale) == ("new@example.com", "nl")
        items = session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
    # The third is throttled: the same contact, two hours after the first.
    assert [i.status for i in made] == ["scheduled", "scheduled", "throttled"]
    assert [(i.kind, i.dedupe_key) for i in items] == [
        ("invitation", f"invitation:{made[0].id}"),
        ("invitation", f"invitation:{made[1].id}"),
    ]


def test_throttle_window_of_the_organisation_or_the_survey(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    now = datetime.now(UTC)
    [first] = _invite(sessions, org, active, InvitationRequest(email="t@example.com"))
    later = InvitationRequest(email="t@example.com", send_at=now + timedelta(days=29))
    [throttled] = _invite(sessions, org, active, later)
    assert throttled.status == "throttled"
    assert throttled.reason is not None
    assert "at most one invitation per 30 days" in throttled.reason
    [outside] = _invite(
        sessions,
        org,
        active,
        InvitationRequest(email="t@example.com", send_at=now + timedelta(days=31)),
    )
    assert outside.status == "scheduled"
    # Across surveys, and with the survey's own window.
    with sessions.begin() as session:
        weekly = surveys.create_survey(
            session,
            org.id,
            slug="weekly",
            name="Weekly",
            metric="nps",
            status="active",
            throttle_days=1,
        )
    in_two_days = InvitationRequest(email="t@example.com", send_at=now + timedelta(days=2))
    [unthrottled] = _invite(sessions, org, weekly, in_two_days)
    assert unthrottled.status == "scheduled"
    with sessions.begin() as session:
        organisation = session.get(Organisation, org.id)
        assert organisation is not None
        organisation.throttle_days = 0
    [free] = _invite(sessions, org, active, InvitationRequest(email="t@example.com"))
    assert free.status == "scheduled"
    assert first.status == "scheduled"


def test_an_invitation_due_later_does_not_hide_one_sent_recently(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    sent_at = now - timedelta(days=5)
    with sessions.begin() as session:
        [early] = create_invitations(
            session, org.id, active.id, [InvitationRequest(email="w@example.com")], now=sent_at
        )
        early.invitation.status, early.invitation.sent_at = "sent", sent_at
        other = surveys.get_survey_by_slug(session, org.id, "nps")
        other.status = "active"
        other_id = other.id
    with sessions.begin() as session:
        [ahead] = create_invitations(
            session,
            org.id,
            other_id,
            [InvitationRequest(email="w@example.com", send_at=now + timedelta(days=60))],
            now=now,
        )
        assert ahead.invitation.status == "scheduled"
    # Now: 5 days after the sent one; +45: 15 days before the one due; +27: 32 and 33 days
    # from either, so free.
    with sessions.begin() as session:
        made = [
            t.invitation
            for t in create_invitations(
                session,
                org.id,
                active.id,
                [
                    InvitationRequest(email="w@example.com"),
                    InvitationRequest(email="w@example.com", send_at=now + timedelta(days=45)),
                    InvitationRequest(email="w@example.com", send_at=now + timedelta(days=27)),
                ],
                now=now,
            )
        ]
        assert [i.status for i in made] == ["throttled", "throttled", "scheduled"]
        assert made[0].reason == (
            f"contacted on {sent_at.date().isoformat()}; at most one invitation per 30 days"
        )
        due = (now + timedelta(days=60)).date().isoformat()
        assert made[1].reason == (
            f"another invitation is due on {due}; at most one invitation per 30 days"
        )


def test_the_throttle_reads_the_invitations_once_per_batch(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    now = datetime.now(UTC)
    requests = [InvitationRequest(email=f"b{n}@example.com") for n in range(40)]
    _invite(sessions, org, active, *requests[:20])
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.lower())

    with sessions.begin() as session:
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            # Each contact twice: the later request of the same batch counts as well.
            batch = [*requests, *(replace(r, send_at=now + timedelta(days=1)) for r in requests)]
            made = create_invitations(session, org.id, active.id, batch, now=now)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    statuses = [t.invitation.status for t in made]
    assert statuses == ["throttled"] * 20 + ["scheduled"] * 20 + ["throttled"] * 40
    throttle_reads = [s for s in statements if "from invitations" in s and "coalesce" in s]
    assert len(throttle_reads) == 1


def test_the_organisation_throttle_can_be_changed_within_limits(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    with sessions.begin() as session:
        assert set_organisation_throttle(session, org.id, 7) == 30
    with sessions.begin() as session:
        assert set_organisation_throttle(session, org.id, 0) == 7
    for wrong in (-1, 3651, True, "5", None, 2.5):
        with sessions() as session, pytest.raises(Invalid) as raised:
            set_organisation_throttle(session, org.id, wrong)
        assert raised.value.field == "throttle_days"
    with sessions() as session, pytest.raises(NotFound):
        set_organisation_throttle(session, 10**6, 3)
    # 0 is off: two invitations a minute apart both go.
    made = _invite(
        sessions,
        org,
        active,
        InvitationRequest(email="z@example.com"),
        InvitationRequest(email="z@example.com", delay="1m"),
    )
    assert [i.status for i in made] == ["scheduled", "scheduled"]


def test_unsubscribed_addresses_are_recorded_never_scheduled(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    with sessions.begin() as session:
        assert store.add_unsubscribe(session, org.id, " Gone@Example.COM ", "api")
        assert not store.add_unsubscribe(session, org.id, "gone@example.com", "link")
    [made] = _invite(sessions, org, active, InvitationRequest(email="GONE@example.com"))
    assert made.status == "unsubscribed"
    with sessions() as session:
        assert session.scalars(select(OutboxItem)).all() == []
        # Another organisation's unsubscribe list is its own.
        other = accounts.create_organisation(session, slug="other", name="Other")
        assert not store.is_unsubscribed(session, other.id, "gone@example.com")
        session.rollback()


def test_idempotency_keys_return_the_first_invitation(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    request = InvitationRequest(email="i@example.com", idempotency_key="ticket-1")
    with sessions.begin() as session:
        first = create_invitations(session, org.id, active.id, [request, request])
    assert [t.created for t in first] == [True, False]
    assert first[0].invitation.id == first[1].invitation.id
    with sessions.begin() as session:
        again = create_invitations(session, org.id, active.id, [request])
    assert not again[0].created
    assert again[0].invitation.id == first[0].invitation.id
    with sessions() as session:
        assert len(session.scalars(select(Invitation)).all()) == 1


def test_invalid_requests_name_the_item_and_field(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    cases = [
        (InvitationRequest(), "contact_id"),
        (InvitationRequest(email="not-an-address"), "email"),
        (InvitationRequest(email="a@b.se\nBcc:x@y.se"), "email"),
        (InvitationRequest(email="victim@x.se\n\nText"), "email"),
        (InvitationRequest(external_id="c-1", email="a@b.se\r\nBcc: x@y.se"), "email"),
        (InvitationRequest(email="åsa@exempel.se"), "email"),
        (InvitationRequest(email="a@example.com", delay="1h", send_at=datetime.now(UTC)), "delay"),
        (InvitationRequest(email="a@example.com", language="xx"), "language"),
        (InvitationRequest(contact_id=10**9), "contact_id"),
        (InvitationRequest(external_id="no-address"), "email"),
        (InvitationRequest(email="a@example.com", send_at=datetime(2030, 1, 1)), "send_at"),
    ]
    for request, field in cases:
        with sessions() as session, pytest.raises(Invalid) as raised:
            create_invitations(
                session, org.id, active.id, [InvitationRequest(email="ok@example.com"), request]
            )
        assert (raised.value.index, raised.value.field) == (1, field)


def test_only_active_surveys_of_the_organisation_invite(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    with sessions() as session:
        draft = surveys.get_survey_by_slug(session, org.id, "nps")
        with pytest.raises(Invalid, match="draft"):
            create_invitations(
                session, org.id, draft.id, [InvitationRequest(email="a@example.com")]
            )
        other = accounts.create_organisation(session, slug="other", name="Other")
        with pytest.raises(NotFound):
            create_invitations(
                session, other.id, active.id, [InvitationRequest(email="a@example.com")]
            )


def test_cancel_only_while_scheduled(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    [made] = _invite(sessions, org, active, InvitationRequest(email="c@example.com"))
    with sessions.begin() as session:
        assert cancel_invitation(session, org.id, made.id).status == "cancelled"
    with sessions() as session, pytest.raises(Invalid, match="cancelled"):
        cancel_invitation(session, org.id, made.id)


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
