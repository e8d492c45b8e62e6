"""The contact pages (/app/contacts, one contact, its form, unsubscribe and re-subscribe,
the CSV import with its column mapping), on SQLite and PostgreSQL, without JavaScript:
plain forms with the page's CSRF token, messages by their fields, every change audited."""

from __future__ import annotations

import html
import re
import time

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import contacts, invitations
from cxpulse.store.models import AuditLog, Contact
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import World, session_headers


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    headers = session_headers(app, user, csrf=False)
    token = headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]
    return headers, token


def _contacts(db: sessionmaker[Session], org_id: int) -> list[Contact]:
    with db() as session:
        query = select(Contact).where(Contact.organisation_id == org_id).order_by(Contact.id)
        return list(session.scalars(query))


def _audit(db: sessionmaker[Session], org_id: int) -> list[AuditLog]:
    with db() as session:
        query = select(AuditLog).where(AuditLog.organisation_id == org_id).order_by(AuditLog.id)
        return list(session.scalars(query))


def _form(token: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "Ana <b>Lind</b>",
        "email": "Ana@Example.COM",
        "phone": "+46 70 123 45 67",
        "external_id": "crm-7",
        "locale": "sv",
        "attributes": "plan = pro\nregion = north",
        **fields,
    }


def test_the_list_searches_filters_and_pages(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    with db() as session:
        for n in range(55):
            contacts.create_contact(
                session,
                a.id,
                email=f"p{n}@example.com",
                name=f"Person {n}",
                attributes={"plan": "gold" if n % 5 == 0 else "basic"},
            )
        contacts.create_contact(session, a.id, name="<script>x</script>", email="x@example.com")
        invitations.add_unsubscribe(session, a.id, "x@example.com", "link")
        contacts.create_contact(session, world.b.id, name="Theirs", email="theirs@example.com")
        session.commit()
    refused, _ = _browser(app, a.users["viewer"])  # no contacts:read, as in the API
    assert client.get("/app/contacts", headers=refused).status_code == 403
    viewer, _ = _browser(app, a.users["agent"])
    page = client.get("/app/contacts", headers=viewer)
    assert page.status_code == 200
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text
    assert "<script>x" not in page.text
    assert "unsubscribed" in page.text
    assert "Theirs" not in page.text
    assert "Add contact" not in page.text  # an agent reads only
    assert '<option value="plan">plan</option>' in page.text
    found = re.search(r'href="/app/contacts\?(after=[^"]+)" rel="next"', page.text)
    assert found is not None
    second = client.get("/app/contacts?" + html.unescape(found.group(1)), headers=viewer)
    assert second.status_code == 200
    assert "First page" in second.text
    shown = set(re.findall(r"p(\d+)@example.com", page.text + second.text))
    assert len(shown) == 55  # the two pages hold every contact once

    by_text = client.get("/app/contacts", params={"q": "PERSON 1"}, headers=viewer).text
    assert "p1@example.com" in by_text
    assert "p10@example.com" in by_text
    assert "p2@example.com" not in by_text
    by_attribute = client.get(
        "/app/contacts", params={"attribute": "plan", "value": "gold"}, headers=viewer
    ).text
    assert "p5@example.com" in by_attribute
    assert "p6@example.com" not in by_attribute
    nothing = client.get("/app/contacts", params={"q": "%_"}, headers=viewer).text
    assert "No contact matches" in nothing
    analyst, _ = _browser(app, a.users["analyst"])
    listed = client.get("/app/contacts", headers=analyst).text
    assert 'href="/app/contacts/new"' in listed
    assert 'href="/app/contacts/import"' in listed


def test_adding_and_editing_a_contact_with_the_api_rules(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    headers, token = _browser(app, a.users["analyst"])
    assert client.get("/app/contacts/new", headers=headers).status_code == 200
    refused = client.post(
        "/app/contacts/new",
        headers=headers,
        data=_form(token, email="not-an-address", phone="12345", attributes="plan pro"),
    )
    assert refused.status_code == 422
    text = refused.text
    assert 'id="email-error"' in text
    assert 'id="phone-error"' in text
    assert 'id="attributes-error"' in text
    assert "line 1: write name = value" in text
    assert 'value="not-an-address"' in text  # the values are kept
    assert "Ana &lt;b&gt;Lind&lt;/b&gt;" in text
    duplicate = client.post(
        "/app/contacts/new", headers=headers, data=_form(token, external_id="c-1")
    )
    assert duplicate.status_code == 422
    assert 'id="external_id-error"' in duplicate.text

    made = client.post(
        "/app/contacts/new", headers=headers, data=_form(token), follow_redirects=False
    )
    assert made.status_code == 303, made.text
    contact = _contacts(db, a.id)[-1]
    assert made.headers["location"] == f"/app/contacts/{contact.id}?created=1"
    assert (contact.email, contact.phone, contact.locale) == (
        "ana@example.com",
        "+46701234567",
        "sv",
    )
    assert contact.attributes == {"plan": "pro", "region": "north"}

    edit = client.get(f"/app/contacts/{contact.id}/edit", headers=headers)
    assert "plan = pro" in edit.text
    changed = client.post(
        f"/app/contacts/{contact.id}/edit",
        headers=headers,
        data=_form(token, phone="", attributes="plan = free", name="Ana"),
        follow_redirects=False,
    )
    assert changed.status_code == 303
    contact = _contacts(db, a.id)[-1]
    assert (contact.name, contact.phone, contact.attributes) == ("Ana", None, {"plan": "free"})
    actions = [(e.action, e.entity, e.entity_id) for e in _audit(db, a.id)]
    assert ("create", "contact", str(contact.id)) in actions
    assert ("update", "contact", str(contact.id)) in actions

    viewer, viewer_token = _browser(app, a.users["viewer"])
    assert client.get("/app/contacts/new", headers=viewer).status_code == 403
    forbidden = client.post("/app/contacts/new", headers=viewer, data=_form(viewer_token))
    assert forbidden.status_code == 403
    forged = client.post("/app/contacts/new", headers=headers, data=_form("forged"))
    assert forged.status_code == 403


def test_a_contact_page_shows_the_timeline_and_is_the_organisations_own(
    app: FastAPI, client: TestClient, world: World
) -> None:
    a = world.a
    viewer, _ = _browser(app, a.users["agent"])
    page = client.get(f"/app/contacts/{a.contact_id}", headers=viewer)
    assert page.status_code == 200
    assert "c1@example.com" in page.text
    assert "plan" in page.text
    assert "Answered" in page.text
    assert f'href="/app/surveys/{a.survey_id}"' in page.text
    assert f"/app/surveys/{a.survey_id}/responses?from=" in page.text
    assert "Unsubscribe" not in page.text  # an agent cannot change it
    assert client.get(f"/app/contacts/{world.b.contact_id}", headers=viewer).status_code == 404
    assert client.get("/app/contacts/999999", headers=viewer).status_code == 404


def test_unsubscribe_and_a_resubscribe_that_needs_a_reason(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    headers, token = _browser(app, a.users["analyst"])
    base = f"/app/contacts/{a.contact_id}"
    assert "Unsubscribe" in client.get(base, headers=headers).text
    done = client.post(
        f"{base}/unsubscribe", headers=headers, data={"csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    with db() as session:
        assert invitations.is_unsubscribed(session, a.id, "c1@example.com")
    assert "Re-subscribe" in client.get(base, headers=headers).text

    blank = client.post(
        f"{base}/resubscribe", headers=headers, data={"csrf_token": token, "reason": "  "}
    )
    assert blank.status_code == 422
    assert 'id="reason-error"' in blank.text
    with db() as session:
        assert invitations.is_unsubscribed(session, a.id, "c1@example.com")
    back = client.post(
        f"{base}/resubscribe",
        headers=headers,
        data={"csrf_token": token, "reason": "Asked again by phone on 3 May"},
        follow_redirects=False,
    )
    assert back.status_code == 303
    with db() as session:
        assert not invitations.is_unsubscribed(session, a.id, "c1@example.com")
    entries = [e for e in _audit(db, a.id) if e.entity == "unsubscribe"]
    assert [e.action for e in entries] == ["create", "delete"]
    assert entries[1].details == {
        "contact_id": a.contact_id,
        "reason": "Asked again by phone on 3 May",
    }
    other = f"/app/contacts/{world.b.contact_id}/unsubscribe"
    assert client.post(other, headers=headers, data={"csrf_token": token}).status_code == 404


# -- the import ----------------------------------------------------------------------------


def _upload(client: TestClient, headers: dict[str, str], token: str, text: str | bytes) -> str:
    answer = client.post(
        "/app/contacts/import",
        headers=headers,
        data={"csrf_token": token},
        files={"file": ("people.csv", text, "text/csv")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    location: str = answer.headers["location"]
    return location


def test_a_file_with_bad_rows_is_reported_by_line_and_nothing_is_stored(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    headers, token = _browser(app, a.users["analyst"])
    before = len(_contacts(db, a.id))
    text = (
        "E-mail;Full name;Customer ID;Mobile;Language;Tier\n"
        "ok@example.com;Ok;k-1;+46701234567;sv;gold\n"
        "not-an-address;Bad;k-2;;en;basic\n"
        ";No id;;;;\n"
        "ph@example.com;Phone;k-4;12;de;basic\n"
    )
    step = _upload(client, headers, token, text.encode("cp1252"))
    mapping = client.get(step, headers=headers)
    assert mapping.status_code == 200
    page = mapping.text
    for index, target in enumerate(["email", "name", "external_id", "phone", "locale"]):
        assert re.search(
            rf'name="column-{index}">.*?<option value="{target}" selected>', page, re.S
        )
    assert '<option value="attribute:Tier" selected>' in page
    choices = {
        f"column-{n}": v
        for n, v in enumerate(["email", "name", "external_id", "phone", "locale", "attribute:Tier"])
    }
    checked = client.post(f"{step}/check", headers=headers, data={"csrf_token": token, **choices})
    assert checked.status_code == 422
    assert "3 rows with a problem" in checked.text
    assert "Lines: 3–5" in checked.text
    for line in (3, 4, 5):
        assert f"Line {line}</th>" in checked.text
    imported = client.post(f"{step}/import", headers=headers, data={"csrf_token": token, **choices})
    assert imported.status_code == 422  # the last step checks again: nothing stored
    assert len(_contacts(db, a.id)) == before

    twice = {**choices, "column-5": "email"}
    mapped_twice = client.post(
        f"{step}/check", headers=headers, data={"csrf_token": token, **twice}
    )
    assert mapped_twice.status_code == 422
    assert 'id="column-5-error"' in mapped_twice.text
    cancelled = client.post(
        f"{step}/cancel", headers=headers, data={"csrf_token": token}, follow_redirects=False
    )
    assert cancelled.status_code == 303
    assert len(_contacts(db, a.id)) == before
    assert client.get(step, headers=headers).status_code == 404  # the file is gone


def test_importing_a_hundred_contacts_all_or_nothing_and_quickly(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    headers, token = _browser(app, a.users["analyst"])
    rows = "".join(f"k-{n},p{n}@example.com,Person {n},+4670123{n:04d},gold\n" for n in range(99))
    text = "id,email,name,phone,plan\nc-1,,Renamed,,silver\n" + rows
    step = _upload(client, headers, token, text)
    # Another user, and the same user in another session, do not find the upload.
    other, _ = _browser(app, a.users["admin"])
    assert client.get(step, headers=other).status_code == 404
    again, _ = _browser(app, a.users["analyst"])
    assert client.get(step, headers=again).status_code == 404
    choices = {
        "column-0": "external_id",
        "column-1": "email",
        "column-2": "name",
        "column-3": "phone",
        "column-4": "attribute:plan",
    }
    checked = client.post(f"{step}/check", headers=headers, data={"csrf_token": token, **choices})
    assert checked.status_code == 200, checked.text
    assert "Import 100 contacts" in checked.text
    started = time.perf_counter()
    done = client.post(
        f"{step}/import",
        headers=headers,
        data={"csrf_token": token, **choices},
        follow_redirects=False,
    )
    elapsed = time.perf_counter() - started
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/app/contacts?imported=99-1"
    assert elapsed < 1.0
    stored = {c.external_id: c for c in _contacts(db, a.id)}
    assert stored["c-1"].name == "Renamed"
    assert stored["c-1"].attributes == {"plan": "silver"}
    assert stored["k-7"].phone == "+46701230007"
    [entry] = [e for e in _audit(db, a.id) if e.action == "import"]
    assert entry.details == {"created": 99, "updated": 1, "file": "people.csv"}
    notice = client.get(done.headers["location"], headers=headers).text
    assert "99 contacts added, 1 updated" in notice
    assert client.get(step, headers=headers).status_code == 404  # imported: forgotten


def test_an_upload_over_the_limit_is_a_413_with_a_message(
    app: FastAPI, client: TestClient, world: World
) -> None:
    headers, token = _browser(app, world.a.users["analyst"])
    over = "email\n" + "\n" * 10_500_000
    refused = client.post(
        "/app/contacts/import",
        headers=headers,
        data={"csrf_token": token},
        files={"file": ("big.csv", over, "text/csv")},
    )
    assert refused.status_code == 413
    assert "is larger than 10 MB: split it into smaller files" in refused.text
    assert 'id="file-error"' in refused.text
    empty = client.post(
        "/app/contacts/import",
        headers=headers,
        data={"csrf_token": token},
        files={"file": ("empty.csv", "", "text/csv")},
    )
    assert empty.status_code == 422
    assert "the file is empty" in empty.text
    viewer, viewer_token = _browser(app, world.a.users["viewer"])
    forbidden = client.post(
        "/app/contacts/import",
        headers=viewer,
        data={"csrf_token": viewer_token},
        files={"file": ("c.csv", "email\na@example.com\n", "text/csv")},
    )
    assert forbidden.status_code == 403
