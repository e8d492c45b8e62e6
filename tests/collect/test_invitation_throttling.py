"""Which invitations may go out: the throttle window and unsubscribed addresses."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker
from tests.collect.invitation_support import active_survey
from tests.collect.invitation_support import invite as _invite

from cxpulse.collect.invitation_requests import InvitationRequest
from cxpulse.collect.invitation_scheduling import create_invitations
from cxpulse.collect.invitation_throttling import (
    Fate,
    decide_fates,
    set_organisation_throttle,
    throttle_days,
)
from cxpulse.store import accounts, contacts, surveys
from cxpulse.store import invitations as store
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Invitation, Organisation, OutboxItem, Survey


@pytest.fixture
def active(sessions: sessionmaker[Session], org: Organisation) -> Survey:
    return active_survey(sessions, org)


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


def test_the_survey_window_wins_over_the_organisation_one(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    with sessions() as session:
        organisation = session.get(Organisation, org.id)
        survey = session.get(Survey, active.id)
        assert organisation is not None
        assert survey is not None
        assert throttle_days(organisation, survey) == 30
        survey.throttle_days = 0
        assert throttle_days(organisation, survey) == 0
        organisation.throttle_days = 0
        survey.throttle_days = 7
        assert throttle_days(organisation, survey) == 7


def test_fates_are_decided_in_order_and_nothing_is_stored(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    now = datetime.now(UTC)
    with sessions.begin() as session:
        organisation = session.get(Organisation, org.id)
        survey = session.get(Survey, active.id)
        assert organisation is not None
        assert survey is not None
        one = contacts.create_contact(session, org.id, email="one@example.com")
        gone = contacts.create_contact(session, org.id, email="Gone@example.com")
        store.add_unsubscribe(session, org.id, "gone@example.com", "api")
        fates = decide_fates(
            session,
            organisation,
            survey,
            [
                (one, now),
                (gone, now),
                (one, now + timedelta(days=3)),
                (one, now + timedelta(days=40)),
            ],
        )
        assert session.scalars(select(Invitation)).all() == []
    assert fates[0] == fates[3] == Fate("scheduled", None)
    assert fates[1] == Fate("unsubscribed", "the address unsubscribed")
    assert fates[2] == Fate(
        "throttled",
        f"contacted on {now.date().isoformat()}; at most one invitation per 30 days",
    )


@pytest.mark.parametrize("one_batch", [False, True])
def test_one_address_in_three_spellings_is_invited_once(
    sessions: sessionmaker[Session], org: Organisation, active: Survey, one_batch: bool
) -> None:
    """Defect 5: ``Throttle@A.test``, ``throttle@a.test`` and ``THROTTLE@a.test`` were three
    contacts and got three invitations within a minute despite the 30-day throttle."""
    spellings = ["Throttle@A.test", "throttle@a.test", "THROTTLE@a.test", "\uff54hrottle@a.test"]
    requests = [InvitationRequest(email=s, delay=f"{n}m") for n, s in enumerate(spellings)]
    if one_batch:
        made = _invite(sessions, org, active, *requests)
    else:
        made = [i for r in requests for i in _invite(sessions, org, active, r)]
    assert [i.status for i in made] == ["scheduled", "throttled", "throttled", "throttled"]
    assert len({i.contact_id for i in made}) == 1
    with sessions() as session:
        [contact] = contacts.list_contacts(session, org.id).items
        assert contact.email == "throttle@a.test"
        assert len(session.scalars(select(OutboxItem)).all()) == 1


@pytest.mark.parametrize("one_batch", [False, True])
def test_two_contacts_with_one_address_are_throttled_as_one_person(
    sessions: sessionmaker[Session], org: Organisation, active: Survey, one_batch: bool
) -> None:
    """Two records of the organisation's CRM (two external ids) may share an address: the
    throttle counts the address, not the record."""
    requests = [
        InvitationRequest(external_id="crm-1", email="Ann@X.test"),
        InvitationRequest(external_id="crm-2", email="ann@x.test", delay="1m"),
        InvitationRequest(external_id="crm-3", email="bo@x.test", delay="1m"),
    ]
    if one_batch:
        made = _invite(sessions, org, active, *requests)
    else:
        made = [i for r in requests for i in _invite(sessions, org, active, r)]
    assert [i.status for i in made] == ["scheduled", "throttled", "scheduled"]
    assert len({i.contact_id for i in made}) == 3
    # An unsubscribe in any spelling stops both records.
    with sessions.begin() as session:
        store.add_unsubscribe(session, org.id, "ANN@x.test", "api")
    later = InvitationRequest(external_id="crm-2", send_at=datetime.now(UTC) + timedelta(days=90))
    [stopped] = _invite(sessions, org, active, later)
    assert stopped.status == "unsubscribed"
