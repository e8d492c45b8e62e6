"""Users of an organisation through the API: only owners touch owners, and the last active
owner stays one."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ..helpers import PASSWORD, World, session_headers


def test_an_admin_cannot_touch_owners(app: FastAPI, client: TestClient, world: World) -> None:
    org = world.a
    admin = session_headers(app, org.users["admin"])
    demote = client.patch(
        f"/api/v1/users/{org.users['owner']}", json={"role": "viewer"}, headers=admin
    )
    assert demote.status_code == 403
    promote = client.patch(
        f"/api/v1/users/{org.users['viewer']}", json={"role": "owner"}, headers=admin
    )
    assert promote.status_code == 403


def test_the_last_owner_stays(app: FastAPI, client: TestClient, world: World) -> None:
    org = world.a
    owner = session_headers(app, org.users["owner"])
    demote = client.patch(
        f"/api/v1/users/{org.users['owner']}", json={"role": "admin"}, headers=owner
    )
    assert demote.status_code == 409
    assert demote.json()["detail"] == [
        {
            "loc": ["body", "role"],
            "msg": "the organisation would be left without an owner",
            "type": "conflict",
        }
    ]
    off = client.patch(
        f"/api/v1/users/{org.users['owner']}", json={"is_active": False}, headers=owner
    )
    assert off.status_code == 409
    assert off.json()["detail"][0]["loc"] == ["body", "is_active"]


def _create(client: TestClient, headers: dict[str, str], email: str, password: str) -> Any:
    return client.post(
        "/api/v1/users",
        json={"email": email, "password": password, "role": "viewer"},
        headers=headers,
    )


def test_an_address_with_an_account_elsewhere_gets_the_answer_a_new_one_gets(
    app: FastAPI, client: TestClient, world: World
) -> None:
    """Defect 11: creating a user whose address was a user of another organisation said so."""
    owner_b = session_headers(app, world.b.users["owner"])
    taken_in_a = world.a.emails["analyst"]
    new = _create(client, owner_b, "fresh@elsewhere.example", "globex password")
    elsewhere = _create(client, owner_b, taken_in_a.upper(), "globex password")
    assert (new.status_code, elsewhere.status_code) == (201, 201)
    assert set(new.json()) == set(elsewhere.json())
    assert elsewhere.json()["email"] == taken_in_a
    for field in ("role", "name", "is_active", "last_login_at"):
        assert new.json()[field] == elsewhere.json()[field]
    # Each account logs in with its own password, into its own organisation.
    for password, organisation in [("globex password", world.b.id), (PASSWORD, world.a.id)]:
        login = client.post("/api/v1/auth/login", json={"email": taken_in_a, "password": password})
        assert login.status_code == 200, login.text
        assert login.json()["organisation"]["id"] == organisation
    # Within one organisation an address is one user, in any spelling.
    again = _create(client, owner_b, "\uff26resh@elsewhere.example", "another password")
    assert again.status_code == 409
    assert again.json()["detail"] == [
        {
            "loc": ["body", "email"],
            "msg": "a user of this organisation with this address exists already",
            "type": "conflict",
        }
    ]


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("ann\u200b@x.example", "invisible character (U+200B zero width space) at position 4"),
        ("ann@x.example\u200e", "invisible character (U+200E left-to-right mark) at position 14"),
        ("a\u0301nn@x.example", "only ASCII letters, digits and punctuation before the @"),
    ],
)
def test_a_look_alike_address_is_refused_naming_the_field(
    app: FastAPI, client: TestClient, world: World, address: str, problem: str
) -> None:
    owner = session_headers(app, world.a.users["owner"])
    refused = _create(client, owner, address, "long enough")
    assert refused.status_code == 422
    [detail] = refused.json()["detail"]
    assert detail["loc"] == ["body", "email"]
    assert problem in detail["msg"]
