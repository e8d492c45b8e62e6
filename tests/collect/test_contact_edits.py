"""One contact's rules, shared by the API and the pages: phone numbers in E.164, every
field's problem at once, and an unsubscribe undone only with a reason."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cxpulse.collect import contact_edits
from cxpulse.store import accounts, invitations
from cxpulse.store.errors import Invalid


def test_phone_numbers_and_every_problem_at_once(session: Session) -> None:
    org = accounts.create_organisation(session, slug="a", name="A").id
    made = contact_edits.create_contact(session, org, email="A@X.se", phone="+46 70 123 45 67")
    assert (made.email, made.phone) == ("a@x.se", "+46701234567")
    changed = contact_edits.update_contact(session, org, made.id, {"phone": ""})
    assert changed.phone is None
    with pytest.raises(Invalid) as raised:
        contact_edits.create_contact(session, org, phone="0701234567")
    assert raised.value.field == "phone"
    problems = contact_edits.field_problems(
        external_id=None,
        email="nope",
        name="x" * 201,
        locale=None,
        attributes={"": "x"},
        phone="12",
    )
    assert sorted(problems) == ["attributes", "email", "name", "phone"]


def test_resubscribe_needs_a_reason(session: Session) -> None:
    org = accounts.create_organisation(session, slug="a", name="A").id
    contact = contact_edits.create_contact(session, org, email="a@x.se")
    assert contact_edits.unsubscribe(session, org, contact.id, "app")
    assert not contact_edits.unsubscribe(session, org, contact.id, "app")
    with pytest.raises(Invalid) as raised:
        contact_edits.resubscribe(session, org, contact.id, "   ")
    assert raised.value.field == "reason"
    assert invitations.is_unsubscribed(session, org, "a@x.se")
    assert contact_edits.resubscribe(session, org, contact.id, " asked by phone ") == (
        "asked by phone"
    )
    assert not invitations.is_unsubscribed(session, org, "a@x.se")
    with pytest.raises(Invalid):
        contact_edits.resubscribe(session, org, contact.id, "again")
    nobody = contact_edits.create_contact(session, org, name="No address")
    with pytest.raises(Invalid):
        contact_edits.unsubscribe(session, org, nobody.id, "app")
