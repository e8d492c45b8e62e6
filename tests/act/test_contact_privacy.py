"""A contact's export and erasure with their audit entries: the document groups each kind of
record, erasing needs the id or address repeated, a second erasure changes nothing and says
so, and the audit log names the contact without holding their data."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.store.privacy_support import build_person, places_holding, rollups_match

from cxpulse.act import contact_privacy
from cxpulse.store import audit
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import AuditLog, Organisation, Survey


def test_the_document(sessions: sessionmaker[Session], org: Organisation, survey: Survey) -> None:
    with sessions.begin() as session:
        anna = build_person(session, org.id, survey.id, "anna")
        build_person(session, org.id, survey.id, "bert")
    with sessions() as session:
        document = contact_privacy.export_contact(session, org.id, anna.contact_id)
    text = json.dumps(document, ensure_ascii=False)  # JSON-ready: no datetimes left
    assert document["format"] == contact_privacy.FORMAT
    assert document["organisation"] == {"id": org.id, "name": "Acme"}
    assert document["contact"]["email"] == anna.email
    assert document["contact"]["attributes"] == {"plan": "pro", "vip": "yes"}
    answers = document["answers"]
    assert [a["id"] for a in answers] == anna.response_ids
    assert [a["comment"] for a in answers] == anna.comments
    assert answers[0]["survey"] == {"id": survey.id, "slug": "support-csat", "name": "Support"}
    assert answers[0]["analysis"]["sentiment"] == "negative"
    assert answers[0]["themes"] == [
        {"theme_key": "delivery", "theme_name": "Delivery", "sentiment": "negative"}
    ]
    assert answers[0]["tags"] == ["unhappy"]
    assert len(answers[0]["rule_matches"]) == 1
    assert [len(i["emails"]) for i in document["invitations"]] == [2, 2]
    assert document["invitations"][0]["inbound_events"][0]["source_event_id"] == (
        "ticket-anna-solved"
    )
    events = document["cases"][0]["events"]
    assert [e["kind"] for e in events] == ["note", "email_out"]
    assert [len(e["emails"]) for e in events] == [0, 1]
    assert events[1]["emails"][0]["kind"] == "case-reply"
    assert document["referral_codes"][0]["code"] == anna.code
    assert document["unsubscribes"][0]["email"] == anna.email
    assert document["sms_opt_outs"][0]["phone"] == anna.phone
    assert "bert" not in text
    assert "reply_token" not in text
    assert datetime.fromisoformat(document["exported_at"]).tzinfo is not None


def test_plain_values() -> None:
    moment = datetime(2025, 5, 1, 8, tzinfo=UTC)
    assert contact_privacy.plain({"a": [moment, (1, moment.date())]}) == {
        "a": ["2025-05-01T08:00:00+00:00", [1, "2025-05-01"]]
    }


@pytest.mark.parametrize(
    ("confirmation", "email", "accepted"),
    [("42", None, True), (" 42 ", "a@b.se", True), ("A@B.se", "a@b.se", True),
     ("43", "a@b.se", False), ("", "a@b.se", False), ("a@b.se", None, False)],
)  # fmt: skip
def test_confirmation(confirmation: str, email: str | None, accepted: bool) -> None:
    assert contact_privacy.confirms(confirmation, 42, email) is accepted


def _entries(session: Session, organisation_id: int) -> list[AuditLog]:
    return list(
        session.scalars(select(AuditLog).where(AuditLog.organisation_id == organisation_id))
    )


def test_erasure_is_confirmed_recorded_and_idempotent(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        anna = build_person(session, org.id, survey.id, "anna")
    actor = audit.user_actor(7)
    with sessions.begin() as session, pytest.raises(Invalid) as refused:
        contact_privacy.erase_contact(
            session, org.id, anna.contact_id, mode="delete", confirmation="999999", actor=actor
        )
    assert refused.value.field == "confirm"
    with sessions.begin() as session:
        contact_privacy.record_export(session, org.id, anna.contact_id, actor=actor)
        erasure = contact_privacy.erase_contact(
            session,
            org.id,
            anna.contact_id,
            mode="anonymise",
            confirmation=anna.email.upper(),
            actor=actor,
            keep_opt_outs=False,
        )
    assert erasure.counts.responses_anonymised == 3
    assert not erasure.already_erased
    with sessions.begin() as session:
        again = contact_privacy.erase_contact(
            session,
            org.id,
            anna.contact_id,
            mode="delete",
            confirmation=str(anna.contact_id),
            actor=actor,
        )
        assert again.already_erased
        assert again.mode == "anonymise"
        assert sum(again.counts.as_dict().values()) == 0
        with pytest.raises(Invalid):
            contact_privacy.erase_contact(
                session, org.id, anna.contact_id, mode="delete", confirmation=anna.email,
                actor=actor,
            )  # fmt: skip
        with pytest.raises(NotFound):
            contact_privacy.erase_contact(
                session, org.id, 10**9, mode="delete", confirmation=str(10**9), actor=actor
            )
    with sessions() as session:
        entries = _entries(session, org.id)
        assert [(e.action, e.entity, e.entity_id, e.actor) for e in entries] == [
            ("export", "contact", str(anna.contact_id), actor),
            ("erase", "contact", str(anna.contact_id), actor),
        ]
        assert entries[1].details["mode"] == "anonymise"
        assert entries[1].details["responses_anonymised"] == 3
        # Nothing of the person anywhere, the audit log included.
        assert places_holding(session, anna.secrets()) == []
        rollups_match(session, org.id)
