"""The demo seeder's reads and bulk writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.store import accounts, contacts, demo_data, responses
from cxpulse.store.models import Invitation, Organisation, Response, Survey

SINCE = datetime(2025, 1, 1, tzinfo=UTC)


def test_find_user_by_email_in_any_organisation(session: Session, org: Organisation) -> None:
    user = accounts.create_user(
        session, org.id, email="boss@example.com", password="long enough 1", role="admin"
    )
    assert demo_data.find_user_by_email(session, "boss@example.com") is user
    assert demo_data.find_user_by_email(session, "nobody@example.com") is None


def test_contacts_inserted_in_one_statement_are_found_by_prefix(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    rows = [
        {"organisation_id": org.id, "external_id": f"demo-{n}", "attributes": {"plan": "pro"}}
        for n in range(3)
    ]
    ids = demo_data.insert_contacts(session, rows)
    # In the order of the rows: the ids follow the external ids.
    assert [contacts.get_contact(session, org.id, i).external_id for i in ids] == [
        "demo-0",
        "demo-1",
        "demo-2",
    ]
    assert demo_data.insert_contacts(session, []) == []
    contacts.create_contact(session, org.id, external_id="crm-1")
    # A LIKE wildcard in the prefix is taken literally.
    contacts.create_contact(session, org.id, external_id="demoX1")
    contacts.create_contact(session, other_org.id, external_id="demo-9")
    found = demo_data.contacts_with_prefix(session, org.id, "demo-")
    assert sorted(c.id for c in found) == ids
    assert {c.attributes["plan"] for c in found} == {"pro"}
    assert demo_data.contacts_with_prefix(session, org.id, "demo_") == []


def test_survey_responses_are_counted(session: Session, org: Organisation, survey: Survey) -> None:
    assert not demo_data.survey_has_responses(session, survey.id)
    assert demo_data.count_survey_responses(session, survey.id) == 0
    responses.add_responses(
        session, org.id, [responses.NewResponse(survey_id=survey.id, score=4)] * 2
    )
    assert demo_data.survey_has_responses(session, survey.id)
    assert demo_data.count_survey_responses(session, survey.id) == 2


def test_email_answers_are_linked_to_invitations(
    session: Session, org: Organisation, survey: Survey
) -> None:
    contact = contacts.create_contact(session, org.id, email="a@example.com")

    def answer(channel: str, days: int, contact_id: int | None = contact.id) -> Response:
        stored, _ = responses.add_response(
            session,
            org.id,
            survey.id,
            4.0,
            channel=channel,
            contact_id=contact_id,
            submitted_at=SINCE + timedelta(days=days),
        )
        return stored

    wanted = answer("email", 3)
    answer("web", 3)
    answer("email", -3)
    answer("email", 3, contact_id=None)
    found = demo_data.email_answers(session, org.id, survey.id, SINCE)
    assert found == [demo_data.EmailAnswer(wanted.id, contact.id, SINCE + timedelta(days=3))]

    invitation = Invitation(
        organisation_id=org.id, survey_id=survey.id, contact_id=contact.id, status="sent"
    )
    session.add(invitation)
    session.flush()
    demo_data.link_responses(session, [(wanted.id, invitation.id)])
    demo_data.link_responses(session, [])
    session.expire_all()
    assert responses.get_response(session, org.id, wanted.id).invitation_id == invitation.id
