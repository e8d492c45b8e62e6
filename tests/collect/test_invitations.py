"""Invitations as the other stages import them, and what a link leads to: its invitation,
its unsubscribe, its first open."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.collect.invitation_support import active_survey, invite

from cxpulse.collect import (
    invitation_reminders,
    invitation_requests,
    invitation_scheduling,
    invitation_throttling,
    invitations,
)
from cxpulse.collect.invitations import (
    InvitationRequest,
    invitation_for_link,
    record_open,
    unsubscribe,
)
from cxpulse.store import invitations as store
from cxpulse.store import surveys
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Invitation, Organisation, Survey


@pytest.fixture
def active(sessions: sessionmaker[Session], org: Organisation) -> Survey:
    return active_survey(sessions, org)


def test_the_names_other_stages_use_are_the_ones_of_the_modules_that_hold_them() -> None:
    parts = (
        invitation_requests,
        invitation_throttling,
        invitation_scheduling,
        invitation_reminders,
    )
    own = {"LinkTarget", "invitation_for_link", "unsubscribe", "record_open"}
    for name in invitations.__all__:
        value = getattr(invitations, name)
        held_elsewhere = any(getattr(part, name, None) is value for part in parts)
        assert held_elsewhere != (name in own), name
    assert invitations.create_invitations is invitation_scheduling.create_invitations
    assert invitations.schedule_reminders is invitation_reminders.schedule_reminders


def test_a_link_names_an_invitation_of_its_survey(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    [made] = invite(sessions, org, active, InvitationRequest(email="l@example.com"))
    with sessions() as session:
        target = invitation_for_link(session, made.id, active.id)
        assert target.invitation.id == made.id
        assert target.organisation.id == org.id
        assert target.contact is not None
        assert target.contact.email == "l@example.com"
        other = surveys.get_survey_by_slug(session, org.id, "nps")
        with pytest.raises(NotFound):
            invitation_for_link(session, made.id, other.id)
        with pytest.raises(NotFound):
            invitation_for_link(session, 10**9, active.id)


def test_unsubscribe_records_the_address_once(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    [made] = invite(sessions, org, active, InvitationRequest(email="u@example.com"))
    with sessions.begin() as session:
        target = invitation_for_link(session, made.id, active.id)
        assert unsubscribe(session, target, "link")
        assert not unsubscribe(session, target, "link")
        assert not unsubscribe(session, replace(target, contact=None), "link")
    with sessions() as session:
        assert store.is_unsubscribed(session, org.id, "u@example.com")


def test_only_the_first_open_is_recorded(
    sessions: sessionmaker[Session], org: Organisation, active: Survey
) -> None:
    [made] = invite(sessions, org, active, InvitationRequest(email="o@example.com"))
    first = datetime(2026, 5, 1, 8, tzinfo=UTC)
    with sessions.begin() as session:
        invitation = session.get(Invitation, made.id)
        assert invitation is not None
        record_open(session, invitation, now=first)
        record_open(session, invitation, now=first + timedelta(hours=1))
    with sessions() as session:
        stored = session.get(Invitation, made.id)
        assert stored is not None
        assert stored.opened_at == first
