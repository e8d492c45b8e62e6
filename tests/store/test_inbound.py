"""Inbound endpoints and events in the store, on SQLite and PostgreSQL: scoped to their
organisation, one event per endpoint and source id, the latest events first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import contacts, inbound
from cxpulse.store.errors import NotFound
from cxpulse.store.models import InboundEndpoint, Organisation, Survey


def _endpoint(session: Session, org: Organisation, survey: Survey, token: str) -> InboundEndpoint:
    return inbound.add_endpoint(
        session,
        org.id,
        survey_id=survey.id,
        name="Tickets",
        preset="zendesk",
        token=token,
        secret="s" * 20,
        mapping={},
        delay_minutes=0,
    )


def test_endpoints_belong_to_their_organisation(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    endpoint = _endpoint(session, org, survey, "tok-a")
    assert inbound.get_endpoint(session, org.id, endpoint.id) is endpoint
    with pytest.raises(NotFound):
        inbound.get_endpoint(session, other_org.id, endpoint.id)
    with pytest.raises(NotFound):
        inbound.recent_events(session, other_org.id, endpoint.id)
    with pytest.raises(NotFound):
        inbound.delete_endpoint(session, other_org.id, endpoint.id)
    assert inbound.list_endpoints(session, other_org.id) == []
    assert inbound.endpoint_by_token(session, "tok-a") is endpoint
    assert inbound.endpoint_by_token(session, "tok-b") is None
    changed = inbound.change_endpoint(session, org.id, endpoint.id, {"name": "Solved"})
    assert changed.name == "Solved"


def test_an_event_is_claimed_once(session: Session, org: Organisation, survey: Survey) -> None:
    endpoint = _endpoint(session, org, survey, "tok-a")
    other = _endpoint(session, org, survey, "tok-b")
    first = inbound.claim_event(session, org.id, endpoint.id, "ticket-1")
    assert first is not None
    assert first.outcome == "received"
    inbound.settle_event(session, first, "scheduled" + "!" * 300, 7)
    assert inbound.claim_event(session, org.id, endpoint.id, "ticket-1") is None
    found = inbound.find_event(session, endpoint.id, "ticket-1")
    assert found is not None
    assert (found.outcome[:9], len(found.outcome), found.invitation_id) == ("scheduled", 200, 7)
    # The same source id on another endpoint is another event.
    assert inbound.claim_event(session, org.id, other.id, "ticket-1") is not None


def test_recent_events_newest_first(session: Session, org: Organisation, survey: Survey) -> None:
    endpoint = _endpoint(session, org, survey, "tok-a")
    start = datetime(2026, 12, 1, tzinfo=UTC)
    for n in range(5):
        event = inbound.claim_event(session, org.id, endpoint.id, f"e{n}")
        assert event is not None
        event.received_at = start + timedelta(hours=n)
    session.flush()
    ids = [e.source_event_id for e in inbound.recent_events(session, org.id, endpoint.id, limit=3)]
    assert ids == ["e4", "e3", "e2"]
    inbound.delete_endpoint(session, org.id, endpoint.id)
    assert inbound.find_event(session, endpoint.id, "e4") is None


def test_contact_by_phone(session: Session, org: Organisation, other_org: Organisation) -> None:
    mine = contacts.create_contact(session, org.id, name="Ana")
    mine.phone = "+46701234567"
    theirs = contacts.create_contact(session, other_org.id, name="Bo")
    theirs.phone = "+46701234567"
    session.flush()
    assert inbound.contact_by_phone(session, org.id, "+46701234567") is mine
    assert inbound.contact_by_phone(session, org.id, "+46700000000") is None
