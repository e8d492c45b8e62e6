from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import accounts, contacts, responses
from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.store.models import Organisation, Survey


def test_contact_crud(session: Session, org: Organisation) -> None:
    ann = contacts.create_contact(
        session,
        org.id,
        external_id="crm-1",
        email="ann@example.com",
        name="Ann",
        locale="sv-SE",
        attributes={"plan": "pro", "vip": True, "seats": 12},
    )
    # Attribute values are kept as text so that filters behave alike on both databases.
    assert ann.attributes == {"plan": "pro", "vip": "true", "seats": "12"}
    assert contacts.get_contact_by_external_id(session, org.id, "crm-1") == ann
    assert contacts.get_contact(session, org.id, ann.id) == ann
    with pytest.raises(Conflict):
        contacts.create_contact(session, org.id, external_id="crm-1")

    contacts.update_contact(session, org.id, ann.id, attributes={"plan": "free"}, name=None)
    assert ann.attributes == {"plan": "free"}
    assert ann.name is None

    same, created = contacts.upsert_contact(session, org.id, "crm-1", attributes={"vip": False})
    assert (same, created) == (ann, False)
    assert ann.attributes == {"plan": "free", "vip": "false"}
    bob, created = contacts.upsert_contact(session, org.id, "crm-2", email="bob@example.com")
    assert created
    assert bob.email == "bob@example.com"

    with pytest.raises(Invalid, match="attributes"):
        contacts.create_contact(session, org.id, attributes={"nested": {"no": 1}})
    # Fields passed on as a dict are checked by name as a signature would.
    fields: dict[str, Any] = {"name": "Cy", "nickname": "C"}
    with pytest.raises(TypeError, match="nickname"):
        contacts.create_contact(session, org.id, **fields)


def test_contacts_page_by_id(session: Session, org: Organisation) -> None:
    made = [contacts.create_contact(session, org.id, external_id=f"c{n}") for n in range(5)]
    first = contacts.list_contacts(session, org.id, limit=2)
    assert first.items == made[:2]
    second = contacts.list_contacts(session, org.id, limit=2, after=first.next_after)
    assert second.items == made[2:4]
    last = contacts.list_contacts(session, org.id, limit=2, after=second.next_after)
    assert last.items == made[4:]
    assert last.next_after is None


def test_deleting_a_contact_keeps_their_responses(
    session: Session, org: Organisation, survey: Survey
) -> None:
    ann = contacts.create_contact(session, org.id, external_id="crm-1")
    response, _ = responses.add_response(session, org.id, survey.id, 5, contact_id=ann.id)
    contacts.delete_contact(session, org.id, ann.id)
    with pytest.raises(NotFound):
        contacts.get_contact(session, org.id, ann.id)
    session.expire_all()
    kept = responses.get_response(session, org.id, response.id)
    assert kept.contact_id is None


@pytest.mark.parametrize(
    "address",
    [
        "a@b.se\nBcc:x@y.se",
        "victim@x.se\n\nText",
        "a@b.se\rBcc:x@y.se",
        "tab\t@b.se",
        "del\x7f@b.se",
        "åsa@exempel.se",
        "two@at@b.se",
        "@b.se",
        "a@localhost",
        "a@" + "b" * 320 + ".se",
        "ann\u200b@example.com",
        "ann@example.com\u200e",
        "a\x00@b.se",
    ],
)
def test_addresses_that_cannot_go_in_a_header_are_refused(
    session: Session, org: Organisation, address: str
) -> None:
    with pytest.raises(Invalid) as refused:
        contacts.create_contact(session, org.id, email=address)
    assert refused.value.field == "email"
    ann = contacts.create_contact(session, org.id, external_id="crm-9", email=" ann@example.com ")
    assert ann.email == "ann@example.com"
    with pytest.raises(Invalid, match="email"):
        contacts.update_contact(session, org.id, ann.id, email=address)
    with pytest.raises(Invalid, match="email"):
        contacts.upsert_contact(session, org.id, "crm-9", email=address)
    with pytest.raises(Invalid, match="email"):
        contacts.upsert_contact(session, org.id, "crm-10", email=address)
    assert ann.email == "ann@example.com"


def test_find_by_email_takes_the_first_contact_with_the_address(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    first = contacts.create_contact(session, org.id, email="ann@example.com")
    contacts.create_contact(session, org.id, email="ann@example.com", name="Ann again")
    contacts.create_contact(session, other_org.id, email="bob@example.com")
    assert contacts.find_by_email(session, org.id, "  ann@example.com ") is first
    assert contacts.find_by_email(session, org.id, "bob@example.com") is None


def test_every_write_stores_the_canonical_address_and_lookups_find_any_spelling(
    session: Session, org: Organisation
) -> None:
    """Defect 5: ``Throttle@A.test`` and ``throttle@a.test`` were two people to find."""
    created = contacts.create_contact(session, org.id, email="Throttle@A.test")
    assert created.email == "throttle@a.test"
    upserted, _ = contacts.upsert_contact(session, org.id, "crm-1", email="\uff34hrottle@a.test")
    assert upserted.email == "throttle@a.test"
    updated = contacts.update_contact(session, org.id, upserted.id, email="ANN@B\u00dcCHER.de")
    assert updated.email == "ann@xn--bcher-kva.de"
    for spelling in ["throttle@a.test", "THROTTLE@a.test", " Throttle@A.TEST "]:
        assert contacts.find_by_email(session, org.id, spelling) is created
        assert contacts.list_contacts(session, org.id, email=spelling).items == [created]
    assert contacts.find_by_email(session, org.id, "ann@bücher.de") is updated
    assert contacts.find_by_email(session, org.id, "throttle\u200b@a.test") is None
    assert contacts.list_contacts(session, org.id, email="not an address").items == []


def test_missing_contact_ids_counts_another_organisations_contacts_as_missing(
    session: Session,
) -> None:
    mine = accounts.create_organisation(session, slug="mine-ids", name="Mine")
    theirs = accounts.create_organisation(session, slug="theirs-ids", name="Theirs")
    kept = contacts.create_contact(session, mine.id, email="kept@example.com")
    other = contacts.create_contact(session, theirs.id, email="other@example.com")
    session.flush()
    asked = {kept.id, other.id, 999_999}
    assert contacts.missing_contact_ids(session, mine.id, asked) == {other.id, 999_999}
    assert contacts.missing_contact_ids(session, mine.id, set()) == set()
