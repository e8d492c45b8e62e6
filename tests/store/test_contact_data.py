"""A contact's records for an export: each kind found, nothing of another contact or of
another organisation (which holds a person with the same address)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import surveys
from cxpulse.store.contact_data import contact_ids_with_email, contact_records
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Organisation, Survey

from .privacy_support import build_person


def test_every_kind_of_record_of_the_contact_and_nothing_else(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    anna = build_person(session, org.id, survey.id, "anna")
    bert = build_person(session, org.id, survey.id, "bert")
    other_survey = surveys.create_survey(
        session, other_org.id, slug="nps", name="NPS", metric="nps", status="active"
    )
    twin = build_person(session, other_org.id, other_survey.id, "anna")
    assert twin.email == anna.email

    records = contact_records(session, org.id, anna.contact_id)

    assert records.contact["email"] == anna.email
    assert [row["id"] for row in records.responses] == anna.response_ids
    assert {row["response_id"] for row in records.analyses} == set(anna.response_ids)
    assert {(row["response_id"], row["theme_key"]) for row in records.themes} == {
        (response_id, "delivery") for response_id in anna.response_ids
    }
    assert [row["tag"] for row in records.tags] == ["unhappy"]
    assert [row["response_id"] for row in records.rule_matches] == [anna.response_ids[0]]
    assert [row["code"] for row in records.referral_codes] == [anna.code]
    assert [row["id"] for row in records.invitations] == anna.invitation_ids
    assert sorted((row["kind"], row["invitation_id"]) for row in records.outbox) == sorted(
        (kind, invitation_id)
        for invitation_id in anna.invitation_ids
        for kind in ("invitation", "reminder")
    )
    assert [row["invitation_id"] for row in records.inbound_events] == [anna.invitation_ids[0]]
    assert [row["id"] for row in records.cases] == [anna.case_id]
    assert "reply_token" not in records.cases[0]
    assert sorted(row["kind"] for row in records.case_events) == ["email_out", "note"]
    replied = [row["id"] for row in records.case_events if row["kind"] == "email_out"]
    assert [row["event_id"] for row in records.case_emails] == replied
    assert [row["email"] for row in records.unsubscribes] == [anna.email]
    assert [row["phone"] for row in records.sms_opt_outs] == [anna.phone]
    assert [row["id"] for row in records.surveys] == [survey.id]

    everything = repr(records)
    for foreign in (bert.email, bert.name, bert.order, *bert.comments, twin.external_id):
        if foreign != anna.external_id:
            assert foreign not in everything
    ids_of_others = set(bert.response_ids) | set(twin.response_ids)
    assert not ids_of_others & {row["id"] for row in records.responses}
    assert {row["organisation_id"] for row in records.responses + records.invitations} == {org.id}


def test_a_contact_of_another_organisation_is_not_found(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    anna = build_person(session, org.id, survey.id, "anna")
    with pytest.raises(NotFound):
        contact_records(session, other_org.id, anna.contact_id)


def test_a_contact_with_nothing_else(session: Session, org: Organisation) -> None:
    from cxpulse.store import contacts

    lone = contacts.create_contact(session, org.id, email="lone@example.nl")
    records = contact_records(session, org.id, lone.id)
    assert records.responses == records.invitations == records.cases == []
    assert records.unsubscribes == records.sms_opt_outs == []
    assert contact_ids_with_email(session, org.id, "LONE@example.nl") == [lone.id]
