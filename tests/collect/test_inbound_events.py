"""Inbound events turned into invitations, on SQLite and PostgreSQL: the invitation path's
throttle and unsubscribes, the delay, contacts found or created, one invitation per event."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect import inbound_events
from cxpulse.collect.inbound_presets import Unmappable
from cxpulse.store import contacts, outbox, sms_opt_outs
from cxpulse.store import invitations as invitation_store
from cxpulse.store.errors import Invalid
from cxpulse.store.models import (
    Contact,
    InboundEndpoint,
    InboundEvent,
    Invitation,
    Organisation,
    OutboxItem,
)

from .invitation_support import active_survey

NOW = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)
SECRET = "the-endpoint-secret-1234"


def _ticket(ticket_id: int, email: str = "ana@example.com", **extra: object) -> dict[str, object]:
    return {
        "ticket": {
            "id": str(ticket_id),
            "status": "solved",
            "requester": {"email": email, "name": "Ana"},
            "assignee": {"name": "Bo"},
            **extra,
        }
    }


def _endpoint(
    sessions: sessionmaker[Session], org: Organisation, preset: str = "zendesk", **fields: object
) -> InboundEndpoint:
    survey = active_survey(sessions, org)
    with sessions.begin() as session:
        endpoint = inbound_events.create_endpoint(
            session,
            org.id,
            survey_id=survey.id,
            name="Solved tickets",
            preset=preset,
            secret=SECRET,
            **fields,  # type: ignore[arg-type]
        )
        session.expunge(endpoint)
    return endpoint


def _receive(
    sessions: sessionmaker[Session],
    endpoint: InboundEndpoint,
    document: object,
    headers: dict[str, str] | None = None,
    now: datetime = NOW,
) -> inbound_events.Received:
    body = json.dumps(document).encode()
    with sessions.begin() as session:
        found = inbound_events.verified_endpoint(
            session, endpoint.token, body, {"x-cxpulse-secret": SECRET, **(headers or {})}
        )
        return inbound_events.receive(session, found, document, body, headers or {}, now=now)


def test_a_solved_ticket_invites_its_requester_after_the_delay(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    endpoint = _endpoint(sessions, org, delay_minutes=30)
    received = _receive(sessions, endpoint, _ticket(4521))
    assert received.outcome == "scheduled"
    assert not received.repeat
    with sessions() as session:
        invitation = session.get(Invitation, received.invitation_id)
        assert invitation is not None
        assert invitation.send_at == NOW + timedelta(minutes=30)
        assert invitation.properties == {
            "ticket": "4521",
            "agent": "Bo",
            "touchpoint": "support ticket",
        }
        contact = session.get(Contact, invitation.contact_id)
        assert contact is not None
        assert (contact.email, contact.name) == ("ana@example.com", "Ana")
        # The invitation's email is queued like every other, due after the delay.
        item = session.scalar(select(OutboxItem).where(OutboxItem.kind == "invitation"))
        assert item is not None
        assert item.payload == {"invitation_id": invitation.id}
        event = session.scalar(select(InboundEvent))
        assert event is not None
        assert (event.source_event_id, event.outcome) == ("ticket-4521", "scheduled")


def test_a_repeated_event_gives_the_first_outcome_and_invites_once(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    endpoint = _endpoint(sessions, org)
    first = _receive(sessions, endpoint, _ticket(7))
    again = _receive(sessions, endpoint, _ticket(7))
    assert again.repeat
    assert again.outcome == first.outcome
    assert again.invitation_id == first.invitation_id
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Invitation)) == 1
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 1


def test_the_throttle_of_every_invitation_applies(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    endpoint = _endpoint(sessions, org)
    with sessions.begin() as session:
        session.get(Organisation, org.id).throttle_days = 30  # type: ignore[union-attr]
    assert _receive(sessions, endpoint, _ticket(1)).outcome == "scheduled"
    second = _receive(sessions, endpoint, _ticket(2), now=NOW + timedelta(days=3))
    assert second.outcome.startswith("throttled: contacted on 2026-12-06")
    with sessions() as session:
        event = session.scalar(
            select(InboundEvent).where(InboundEvent.source_event_id == "ticket-2")
        )
        assert event is not None
        assert event.outcome.startswith("throttled")
        # The throttled invitation is kept (with its reason) but queues no email.
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 1


def test_an_unsubscribed_address_is_not_invited(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    endpoint = _endpoint(sessions, org)
    with sessions.begin() as session:
        invitation_store.add_unsubscribe(session, org.id, "Ana@Example.com", "link")
    assert _receive(sessions, endpoint, _ticket(3)).outcome.startswith("unsubscribed")


def test_contacts_are_found_by_external_id_and_get_the_phone(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session:
        known = contacts.create_contact(
            session, org.id, external_id="crm-1", email="old@example.com"
        )
    endpoint = _endpoint(
        sessions,
        org,
        preset="generic",
        mapping={
            "external_id": "who.id",
            "email": "who.email",
            "phone": "who.tel",
            "event_id": "id",
        },
    )
    document = {
        "id": "e1",
        "who": {"id": "crm-1", "email": "new@example.com", "tel": "+46 70 123 45 67"},
    }
    received = _receive(sessions, endpoint, document)
    with sessions() as session:
        invitation = session.get(Invitation, received.invitation_id)
        assert invitation is not None
        assert invitation.contact_id == known.id
        contact = session.get(Contact, known.id)
        assert contact is not None
        assert (contact.email, contact.phone) == ("new@example.com", "+46701234567")


def test_refusals_store_nothing(sessions: sessionmaker[Session], org: Organisation) -> None:
    endpoint = _endpoint(sessions, org)
    with pytest.raises(Unmappable, match=r"ticket\.requester\.email"):
        _receive(sessions, endpoint, _ticket(5, email=""))
    with pytest.raises(Invalid, match="email"):
        _receive(sessions, endpoint, _ticket(6, email="not an address"))
    # A reopened ticket is answered but not recorded: solved later, it is surveyed then.
    ignored = _receive(sessions, endpoint, {"ticket": {"id": "8", "status": "open"}})
    assert ignored.outcome.startswith("ignored")
    assert ignored.invitation_id is None
    assert _receive(sessions, endpoint, _ticket(8)).outcome == "scheduled"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundEvent)) == 1


def test_credentials_and_token(sessions: sessionmaker[Session], org: Organisation) -> None:
    endpoint = _endpoint(sessions, org)
    with sessions() as session:
        with pytest.raises(inbound_events.UnknownEndpoint):
            inbound_events.verified_endpoint(session, "nope", b"{}", {"x-cxpulse-secret": SECRET})
        with pytest.raises(inbound_events.BadCredentials):
            inbound_events.verified_endpoint(
                session, endpoint.token, b"{}", {"x-cxpulse-secret": "x"}
            )
    with sessions.begin() as session:
        inbound_events.update_endpoint(session, org.id, endpoint.id, {"enabled": False})
    with sessions() as session, pytest.raises(inbound_events.EndpointDisabled):
        inbound_events.verified_endpoint(
            session, endpoint.token, b"{}", {"x-cxpulse-secret": SECRET}
        )


def test_endpoint_settings_are_checked(sessions: sessionmaker[Session], org: Organisation) -> None:
    endpoint = _endpoint(sessions, org)
    with sessions.begin() as session:
        with pytest.raises(Invalid, match="no such survey"):
            inbound_events.create_endpoint(session, org.id, survey_id=99999, name="x")
        with pytest.raises(Invalid, match="delay_minutes"):
            inbound_events.update_endpoint(session, org.id, endpoint.id, {"delay_minutes": -1})
        with pytest.raises(Invalid, match="secret"):
            inbound_events.update_endpoint(session, org.id, endpoint.id, {"secret": "short"})
        with pytest.raises(Invalid, match="name the customer"):
            inbound_events.update_endpoint(session, org.id, endpoint.id, {"preset": "generic"})
        changed = inbound_events.update_endpoint(
            session, org.id, endpoint.id, {"new_secret": True, "delay_minutes": 60}
        )
        assert changed.secret != SECRET
        assert len(changed.secret) >= 32
        assert changed.delay_minutes == 60


def test_an_sms_endpoint_needs_a_phone(sessions: sessionmaker[Session], org: Organisation) -> None:
    endpoint = _endpoint(sessions, org, mapping={"channel": "sms"})
    with pytest.raises(Unmappable, match="phone number"):
        _receive(sessions, endpoint, _ticket(9))
    with sessions() as session:
        assert not outbox.has_due(session, ("sms", "invitation"), now=NOW + timedelta(days=1))


def test_two_deliveries_at_once_invite_once(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    """A source that retries before the first delivery's answer: the second waits for the
    first's transaction and gets its outcome."""
    endpoint = _endpoint(sessions, org)
    barrier = threading.Barrier(4)
    results: list[inbound_events.Received] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        barrier.wait()
        try:
            results.append(_receive(sessions, endpoint, _ticket(11)))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.repeat for r in results) == [False, True, True, True]
    assert len({r.invitation_id for r in results}) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Invitation)) == 1


def test_an_sms_endpoint_invites_by_sms_through_the_invitation_path(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    endpoint = _endpoint(
        sessions,
        org,
        preset="generic",
        mapping={"channel": "sms", "phone": "tel", "name": "name", "event_id": "id"},
    )
    with sessions.begin() as session:
        session.get(Organisation, org.id).throttle_days = 30  # type: ignore[union-attr]
    first = _receive(sessions, endpoint, {"id": "a", "tel": "+46 70 123 45 67", "name": "Ana"})
    assert first.outcome == "scheduled"
    with sessions() as session:
        invitation = session.get(Invitation, first.invitation_id)
        assert invitation is not None
        assert invitation.channel == "sms"
        contact = session.get(Contact, invitation.contact_id)
        assert contact is not None
        assert (contact.phone, contact.email) == ("+46701234567", None)
        item = session.scalar(select(OutboxItem))
        assert item is not None
        assert (item.kind, item.payload) == ("sms", {"invitation_id": invitation.id})
    # The same number a day later is the same person: throttled like an address.
    second = _receive(
        sessions, endpoint, {"id": "b", "tel": "+46701234567"}, now=NOW + timedelta(days=1)
    )
    assert second.outcome.startswith("throttled")
    with sessions.begin() as session:
        sms_opt_outs.add_opt_out(session, org.id, "+46701234567", "stop")
        session.get(Organisation, org.id).throttle_days = 0  # type: ignore[union-attr]
    third = _receive(sessions, endpoint, {"id": "c", "tel": "+46701234567"})
    assert third.outcome == "unsubscribed: the number opted out of SMS"
