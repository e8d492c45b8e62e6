"""Making invitations: contacts, outbox items, idempotency, active surveys, cancelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.collect.invitation_support import active_survey
from tests.collect.invitation_support import invite as _invite

from cxpulse.collect.invitation_requests import InvitationRequest
from cxpulse.collect.invitation_scheduling import cancel_invitation, create_invitations, outbox_key
from cxpulse.store import accounts, contacts, surveys
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Invitation, Organisation, OutboxItem, Survey


@pytest.fixture
def active(sessions: sessionmaker[Session], org: Organisation) -> Survey:
    return active_survey(sessions, org)


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


def test_outbox_keys_name_the_kind_and_the_invitation() -> None:
    assert outbox_key("invitation", 12) == "invitation:12"
    assert outbox_key("reminder", 12) == "reminder:12"
