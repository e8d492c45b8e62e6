"""The contacts page's search: letters of name, address or external id, one attribute,
newest first by keyset, and the attribute names in use."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cxpulse.store import accounts, contacts, invitations
from cxpulse.store.contact_listing import attribute_names, search_contacts


def test_search_filters_pages_and_names(session: Session) -> None:
    org = accounts.create_organisation(session, slug="a", name="A").id
    other = accounts.create_organisation(session, slug="b", name="B").id
    made = [
        contacts.create_contact(
            session,
            org,
            email=f"p{n}@example.com",
            name=f"Person {n}",
            external_id=f"ext_{n}",
            attributes={"plan": "gold" if n % 2 else "basic", "café": "yes"},
        )
        for n in range(5)
    ]
    contacts.create_contact(session, other, email="p1@example.com", attributes={"theirs": "x"})
    invitations.add_unsubscribe(session, org, "p3@example.com", "link")
    first = search_contacts(session, org, limit=3)
    assert [c.id for c in first.items] == [c.id for c in reversed(made)][:3]
    assert first.unsubscribed == {"p3@example.com"}
    rest = search_contacts(session, org, after=first.next_after, limit=3)
    assert [c.id for c in rest.items] == [made[1].id, made[0].id]
    assert rest.next_after is None
    assert [c.id for c in search_contacts(session, org, text="PERSON 2").items] == [made[2].id]
    assert search_contacts(session, org, text="_").items  # in the external ids, literally
    assert search_contacts(session, org, text="%").items == []
    gold = search_contacts(session, org, attribute="plan", value="gold").items
    assert sorted(c.id for c in gold) == [made[1].id, made[3].id]
    assert len(search_contacts(session, org, attribute="café").items) == 5
    assert search_contacts(session, org, attribute="theirs").items == []
    assert attribute_names(session, org) == ["café", "plan"]
