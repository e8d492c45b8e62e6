"""Invitation requests: delays, send times, the checks of each field, the contact named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.collect.invitation_support import active_survey

from cxpulse.collect.invitation_requests import (
    InvitationRequest,
    check_request,
    parse_delay,
    resolve_contact,
    send_time,
)
from cxpulse.collect.invitation_scheduling import create_invitations
from cxpulse.store import contacts
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Organisation, Survey


@pytest.fixture
def active(sessions: sessionmaker[Session], org: Organisation) -> Survey:
    return active_survey(sessions, org)


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


NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_send_time_follows_the_delay_or_the_moment_and_is_never_past() -> None:
    assert send_time(InvitationRequest(delay="1d 12h"), NOW, 0) == NOW + timedelta(days=1.5)
    later = NOW + timedelta(hours=3)
    assert send_time(InvitationRequest(send_at=later), NOW, 0) == later
    assert send_time(InvitationRequest(send_at=NOW - timedelta(days=2)), NOW, 0) == NOW
    assert send_time(InvitationRequest(), NOW, 0) == NOW
    cases = [
        (InvitationRequest(delay="soon"), "delay"),
        (InvitationRequest(delay="1h", send_at=later), "delay"),
        (InvitationRequest(send_at=NOW + timedelta(days=366)), "send_at"),
        (InvitationRequest(send_at=datetime(2026, 3, 2)), "send_at"),
    ]
    for request, field in cases:
        with pytest.raises(Invalid) as raised:
            send_time(request, NOW, 4)
        assert (raised.value.index, raised.value.field) == (4, field)


def test_check_request_names_the_field_before_anything_is_stored() -> None:
    check_request(InvitationRequest(email="a@example.com", language="sv", idempotency_key="k"), 0)
    check_request(InvitationRequest(contact_id=3), 0)
    cases = [
        (InvitationRequest(email="a@example.com", channel="fax"), "channel"),
        (InvitationRequest(), "contact_id"),
        (InvitationRequest(contact_id=3, email="a@example.com"), "contact_id"),
        (InvitationRequest(email="not-an-address"), "email"),
        (InvitationRequest(email="a@example.com", language="xx"), "language"),
        (InvitationRequest(email="a@example.com", idempotency_key="k" * 201), "idempotency_key"),
    ]
    for request, field in cases:
        with pytest.raises(Invalid) as raised:
            check_request(request, 2)
        assert (raised.value.index, raised.value.field) == (2, field)


def test_the_contact_is_found_created_or_updated_as_the_request_asks(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session:
        known = contacts.create_contact(session, org.id, email="k@example.com", name="Old")
        request = InvitationRequest(email=" k@example.com ", name="New", attributes={"plan": 2})
        found, created = resolve_contact(session, org.id, request)
        assert (found.id, created) == (known.id, False)
        assert (found.name, found.attributes) == ("New", {"plan": "2"})
        made, created = resolve_contact(session, org.id, InvitationRequest(email="n@example.com"))
        assert created
        assert made.email == "n@example.com"
        by_id, created = resolve_contact(session, org.id, InvitationRequest(contact_id=known.id))
        assert (by_id.id, created) == (known.id, False)
        with pytest.raises(Invalid) as raised:
            resolve_contact(session, org.id, InvitationRequest(contact_id=10**9), index=2)
        assert (raised.value.index, raised.value.field) == (2, "contact_id")
