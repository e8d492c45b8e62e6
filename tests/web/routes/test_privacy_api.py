"""Privacy through API v1: a contact's export (a JSON download) and erasure, and the
retention policy; admins and owners only, another organisation's contact not found, a
confirmation that does not repeat the contact refused with a field message."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.store.privacy_support import Person, build_person, places_holding, rollups_match

from cxpulse.store.models import AuditLog

from ..helpers import World, bearer, session_headers


@pytest.fixture
def anna(db: sessionmaker[Session], world: World) -> Person:
    with db.begin() as session:
        return build_person(session, world.a.id, world.a.survey_id, "anna")


def _audit(db: sessionmaker[Session], organisation_id: int) -> list[tuple[str, str, str | None]]:
    with db() as session:
        rows = session.execute(
            select(AuditLog.action, AuditLog.entity, AuditLog.entity_id)
            .where(AuditLog.organisation_id == organisation_id)
            .order_by(AuditLog.id)
        )
        return [(action, entity, entity_id) for action, entity, entity_id in rows]


def test_only_admins_and_owners(
    app: FastAPI, client: TestClient, world: World, anna: Person
) -> None:
    path = f"/api/v1/contacts/{anna.contact_id}/data"
    for role, status in [("owner", 200), ("admin", 200), ("analyst", 403), ("agent", 403),
                         ("viewer", 403)]:  # fmt: skip
        answer = client.get(path, headers=session_headers(app, world.a.users[role]))
        assert answer.status_code == status, role
    assert client.get(path, headers=bearer(world.a.write_key)).status_code == 403
    assert client.get(path).status_code == 401
    erase = f"/api/v1/contacts/{anna.contact_id}/erase"
    body = {"mode": "delete", "confirm": str(anna.contact_id)}
    assert client.post(erase, json=body, headers=bearer(world.a.write_key)).status_code == 403
    analyst = session_headers(app, world.a.users["analyst"])
    assert client.post(erase, json=body, headers=analyst).status_code == 403
    no_csrf = session_headers(app, world.a.users["admin"], csrf=False)
    assert client.post(erase, json=body, headers=no_csrf).status_code == 403
    assert client.get("/api/v1/organisation/retention", headers=analyst).status_code == 403


def test_the_export_is_a_json_download_of_the_contact(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], world: World, anna: Person
) -> None:
    admin = session_headers(app, world.a.users["admin"])
    answer = client.get(f"/api/v1/contacts/{anna.contact_id}/data", headers=admin)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="contact-{anna.contact_id}.json"'
    )
    assert answer.headers["cache-control"] == "no-store"
    document = answer.json()
    assert document["contact"]["email"] == anna.email
    assert [a["id"] for a in document["answers"]] == anna.response_ids
    assert "c1@example.com" not in answer.text  # the organisation's other contact
    assert _audit(db, world.a.id)[-1] == ("export", "contact", str(anna.contact_id))

    admin_b = session_headers(app, world.b.users["admin"])
    assert (
        client.get(f"/api/v1/contacts/{anna.contact_id}/data", headers=admin_b).status_code == 404
    )
    assert client.get("/api/v1/contacts/0/data", headers=admin).status_code == 422


def test_erasing_needs_the_contact_repeated(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], world: World, anna: Person
) -> None:
    admin = session_headers(app, world.a.users["admin"])
    path = f"/api/v1/contacts/{anna.contact_id}/erase"
    for body, field in [
        ({"mode": "anonymise"}, "confirm"),
        ({"mode": "anonymise", "confirm": "someone@else.se"}, "confirm"),
        ({"mode": "forget", "confirm": anna.email}, "mode"),
        ({"confirm": anna.email}, "mode"),
        ({"mode": "delete", "confirm": anna.email, "keep_opt_outs": "no"}, "keep_opt_outs"),
    ]:
        refused = client.post(path, json=body, headers=admin)
        assert refused.status_code == 422, body
        assert refused.json()["detail"][0]["loc"] == ["body", field], refused.json()
    admin_b = session_headers(app, world.b.users["admin"])
    other = client.post(
        path, json={"mode": "delete", "confirm": str(anna.contact_id)}, headers=admin_b
    )
    assert other.status_code == 404
    assert [entry for entry in _audit(db, world.a.id) if entry[0] == "erase"] == []


def test_erasing_anonymises_everywhere_and_is_idempotent(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], world: World, anna: Person
) -> None:
    admin = session_headers(app, world.a.users["admin"])
    path = f"/api/v1/contacts/{anna.contact_id}/erase"
    body = {"mode": "anonymise", "confirm": anna.email, "keep_opt_outs": False}
    done = client.post(path, json=body, headers=admin)
    assert done.status_code == 200, done.text
    assert done.json()["already_erased"] is False
    assert done.json()["counts"]["responses_anonymised"] == 3
    assert done.json()["counts"]["contacts_deleted"] == 1
    with db() as session:
        assert places_holding(session, anna.secrets()) == []
        rollups_match(session, world.a.id)
    again = client.post(
        path, json={"mode": "anonymise", "confirm": str(anna.contact_id)}, headers=admin
    )
    assert again.status_code == 200
    assert again.json()["already_erased"] is True
    assert set(again.json()["counts"].values()) == {0}
    erasures = [entry for entry in _audit(db, world.a.id) if entry[0] == "erase"]
    assert erasures == [("erase", "contact", str(anna.contact_id))]
    gone = client.get(f"/api/v1/contacts/{anna.contact_id}/data", headers=admin)
    assert gone.status_code == 404


def test_deleting_through_the_api(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], world: World, anna: Person
) -> None:
    owner = session_headers(app, world.a.users["owner"])
    done = client.post(
        f"/api/v1/contacts/{anna.contact_id}/erase",
        json={"mode": "delete", "confirm": str(anna.contact_id)},
        headers=owner,
    )
    assert done.status_code == 200
    assert done.json()["counts"]["responses_deleted"] == 3
    with db() as session:
        rollups_match(session, world.a.id)


def test_the_retention_policy(
    app: FastAPI, client: TestClient, db: sessionmaker[Session], world: World
) -> None:
    admin = session_headers(app, world.a.users["admin"])
    path = "/api/v1/organisation/retention"
    assert client.get(path, headers=admin).json() == {"months": None, "action": "anonymise"}
    put = client.put(path, json={"months": 24, "action": "delete"}, headers=admin)
    assert put.status_code == 200
    assert put.json() == {"months": 24, "action": "delete"}
    assert client.get(path, headers=admin).json() == {"months": 24, "action": "delete"}
    admin_b = session_headers(app, world.b.users["admin"])
    assert client.get(path, headers=admin_b).json() == {"months": None, "action": "anonymise"}
    for body, field in [
        ({"months": 0, "action": "delete"}, "months"),
        ({"months": 241}, "months"),
        ({"months": "12"}, "months"),
        ({"months": 12, "action": "shred"}, "action"),
        ({"action": "delete"}, "months"),
    ]:
        refused = client.put(path, json=body, headers=admin)
        assert refused.status_code == 422, body
        assert refused.json()["detail"][0]["loc"][:2] == ["body", field], refused.json()
    off = client.put(path, json={"months": None}, headers=admin)
    assert off.json() == {"months": None, "action": "anonymise"}
    assert _audit(db, world.a.id)[-2:] == [
        ("update", "retention", str(world.a.id)),
        ("update", "retention", str(world.a.id)),
    ]
