"""API keys: created by an admin, shown once, recorded when used, refused once revoked."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import ApiKey

from ..helpers import World, bearer, session_headers


def test_api_keys_revocation_and_last_use(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    admin = session_headers(app, org.users["admin"])
    created = client.post("/api/v1/api-keys", json={"name": "ci", "scope": "read"}, headers=admin)
    assert created.status_code == 201
    key = created.json()
    assert key["key"].startswith("cxp_")
    assert key["created_by"] == org.users["admin"]
    listed = client.get("/api/v1/api-keys", headers=admin).json()["items"]
    assert all("key" not in item for item in listed)
    assert key["id"] in {item["id"] for item in listed}

    assert client.get("/api/v1/surveys", headers=bearer(key["key"])).status_code == 200
    with db() as session:
        stored = session.get(ApiKey, key["id"])
        assert stored is not None
        assert stored.last_used_at is not None

    revoked = client.post(f"/api/v1/api-keys/{key['id']}/revoke", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    gone = client.get("/api/v1/surveys", headers=bearer(key["key"]))
    assert gone.status_code == 401
    for header in ("Basic abc", "Bearer", "Bearer cxp_nothing_here", "Token " + org.write_key):
        assert client.get("/api/v1/surveys", headers={"Authorization": header}).status_code == 401
