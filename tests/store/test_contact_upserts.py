"""Many contacts stored at once, by the rule of one invitation request."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cxpulse.collect.invitations import InvitationRequest, resolve_contact
from cxpulse.store import accounts, contacts
from cxpulse.store.contact_upserts import ContactValues, upsert_many


def test_rows_update_by_external_id_else_email_and_see_earlier_rows(session: Session) -> None:
    org = accounts.create_organisation(session, slug="a", name="A").id
    known = contacts.create_contact(session, org, external_id="k", email="k@x.se", name="K")
    by_mail = contacts.create_contact(session, org, email="m@x.se", attributes={"a": "1"})
    contacts.create_contact(session, org, email="m@x.se")  # a later one: not chosen
    made = upsert_many(
        session,
        org,
        [
            ContactValues("k", "K2@X.se", name=None, attributes={"plan": "gold"}),
            ContactValues(None, "M@x.se", name="Em", attributes={"b": "2"}),
            ContactValues("new", None, name="New", phone="+46701234567"),
            ContactValues("new", "n@x.se"),
            ContactValues(None, "fresh@x.se", name="F"),
            ContactValues(None, "FRESH@x.se", locale="sv"),
        ],
    )
    assert [new for _, new in made] == [False, False, True, False, True, False]
    assert made[0][0] is known
    assert (known.email, known.name) == ("k2@x.se", "K")
    assert known.attributes == {"plan": "gold"}
    assert made[1][0] is by_mail
    assert by_mail.attributes == {"a": "1", "b": "2"}
    assert made[3][0] is made[2][0]
    assert made[2][0].email == "n@x.se"
    assert made[2][0].phone == "+46701234567"
    assert made[5][0] is made[4][0]
    assert made[4][0].locale == "sv"


def test_the_same_result_as_one_request_at_a_time(session: Session) -> None:
    org = accounts.create_organisation(session, slug="a", name="A").id
    other = accounts.create_organisation(session, slug="b", name="B").id
    rows = [
        ("e1", "a@x.se", "A"),
        (None, "b@x.se", "B"),
        ("e1", None, "A2"),
        (None, "B@x.se", None),
    ]
    for external, email, name in rows:
        resolve_contact(
            session, org, InvitationRequest(external_id=external, email=email, name=name)
        )
    upsert_many(session, other, [ContactValues(e, m, name=n) for e, m, n in rows])

    def shape(org_id: int) -> list[tuple[str | None, str | None, str | None]]:
        page = contacts.list_contacts(session, org_id, limit=100)
        return [(c.external_id, c.email, c.name) for c in page.items]

    assert shape(org) == shape(other)
