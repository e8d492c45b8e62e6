"""Users of an organisation through the API: only owners touch owners, and the last active
owner stays one."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from ..helpers import World, session_headers


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
