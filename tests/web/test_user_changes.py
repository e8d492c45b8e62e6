"""The one rule of who may change whom (``web.user_changes``), through the REST API: nobody
deactivates themselves, while another owner or admin may; the team page's tests hold the
same through its forms."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from .helpers import World, session_headers


def test_deactivating_oneself_is_refused_by_the_api(
    app: FastAPI, client: TestClient, world: World
) -> None:
    org = world.a
    admin = session_headers(app, org.users["admin"])
    refused = client.patch(
        f"/api/v1/users/{org.users['admin']}", json={"is_active": False}, headers=admin
    )
    assert refused.status_code == 409
    assert refused.json()["detail"] == [
        {
            "loc": ["body", "is_active"],
            "msg": "you cannot deactivate yourself: ask another owner or admin",
            "type": "conflict",
        }
    ]
    assert client.get("/api/v1/auth/me", headers=admin).status_code == 200
    # Lowering one's own role stays allowed while an owner remains.
    lowered = client.patch(
        f"/api/v1/users/{org.users['admin']}", json={"role": "analyst"}, headers=admin
    )
    assert lowered.status_code == 200
    assert lowered.json()["role"] == "analyst"
    # Another owner or admin deactivates them.
    owner = session_headers(app, org.users["owner"])
    done = client.patch(
        f"/api/v1/users/{org.users['admin']}", json={"is_active": False}, headers=owner
    )
    assert done.status_code == 200
    assert client.get("/api/v1/auth/me", headers=admin).status_code == 401


def test_the_last_manager_keeps_a_managing_role(
    app: FastAPI, client: TestClient, world: World
) -> None:
    org = world.a
    owner = session_headers(app, org.users["owner"])
    off = client.patch(
        f"/api/v1/users/{org.users['admin']}", json={"is_active": False}, headers=owner
    )
    assert off.status_code == 200
    # The owner is now the only one who manages users: no stepping down to analyst.
    down = client.patch(
        f"/api/v1/users/{org.users['owner']}", json={"role": "analyst"}, headers=owner
    )
    assert down.status_code == 409
    assert down.json()["detail"][0]["msg"] == (
        "you are the only active owner or admin: give the role to someone else first"
    )
