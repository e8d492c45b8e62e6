"""Single submissions committed in groups: each keeps its own answer, revoked keys stop."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx2
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, rollups
from cxpulse.store.models import ApiKey, Response
from cxpulse.web.state import AppState

from .helpers import World, bearer, session_headers


async def _post_all(
    app: FastAPI, requests: list[tuple[str, dict[str, Any], str]]
) -> list[httpx2.Response]:
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="https://testserver") as client:
            return list(
                await asyncio.gather(
                    *(
                        client.post(url, json=body, headers=bearer(key))
                        for url, body, key in requests
                    )
                )
            )


def _stored(db: sessionmaker[Session], survey_id: int) -> int:
    with db() as session:
        return session.scalar(select(func.count()).where(Response.survey_id == survey_id)) or 0


def test_a_bad_item_in_a_group_fails_alone(
    app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    a, b = world.a, world.b
    url = f"/api/v1/surveys/{a.survey_id}/responses"
    requests: list[tuple[str, dict[str, Any], str]] = [
        (url, {"score": 1 + n % 5}, a.write_key) for n in range(40)
    ]
    requests[7] = (url, {"score": 4, "contact_id": b.contact_id}, a.write_key)
    requests[19] = (f"/api/v1/surveys/{b.survey_id}/responses", {"score": 4}, a.write_key)
    answers = asyncio.run(_post_all(app, requests))
    codes = [answer.status_code for answer in answers]
    assert codes[7] == 422
    assert codes[19] == 404
    assert answers[7].json()["detail"][0]["loc"] == ["body", "contact_id"]
    assert Counter(codes) == {201: 38, 422: 1, 404: 1}
    assert _stored(db, a.survey_id) == 10 + 38
    assert _stored(db, b.survey_id) == 10
    state: AppState = app.state.cxpulse
    # Concurrent requests shared transactions, and every one was answered by a writer.
    assert state.submissions.submissions == 40
    assert state.submissions.groups < 40
    with db() as session:
        assert rollups.stored(session, a.id) == rollups.recount(session, a.id)
        key = session.get(ApiKey, a.key_id)
        assert key is not None
        assert key.last_used_at is not None


def test_a_key_revoked_elsewhere_stores_nothing_more(
    app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    """Revoked outside this process (as ``cxpulse api-key revoke`` does), the key may still
    be in the cache: the transaction refuses it."""
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses"
    with TestClient(app, base_url="https://testserver") as client:
        assert client.post(url, json={"score": 5}, headers=bearer(org.write_key)).status_code == 201
        with db() as session:
            accounts.revoke_api_key(session, org.id, org.key_id)
            session.commit()
        answer = client.post(url, json={"score": 5}, headers=bearer(org.write_key))
        assert answer.status_code == 401
        assert client.post(url, json={"score": 5}, headers=bearer(org.write_key)).status_code == 401
    assert _stored(db, org.survey_id) == 11


def test_revoking_through_the_api_forgets_the_cached_key(
    app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses"
    with TestClient(app, base_url="https://testserver") as client:
        assert client.post(url, json={"score": 5}, headers=bearer(org.write_key)).status_code == 201
        state: AppState = app.state.cxpulse
        assert state.api_keys.get(org.write_key) is not None
        revoked = client.post(
            f"/api/v1/api-keys/{org.key_id}/revoke",
            headers=session_headers(app, org.users["owner"]),
        )
        assert revoked.status_code == 200
        assert state.api_keys.get(org.write_key) is None
        assert client.post(url, json={"score": 5}, headers=bearer(org.write_key)).status_code == 401
    assert _stored(db, org.survey_id) == 11


def test_the_fast_path_and_the_standard_path_answer_alike(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    """A well-formed JSON request takes the direct path; odd ones take FastAPI's handler.
    Both store and answer the same."""
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses"
    body = {"score": 4, "comment": "<b>ok</b>", "properties": {"agent": "Ana"}}
    fast = client.post(url, json=body, headers=bearer(org.write_key))
    # A charset parameter and a header key: still valid, compared field by field.
    slow = client.post(
        url,
        content=b'{"score": 4, "comment": "<b>ok</b>", "properties": {"agent": "Ana"}}',
        headers={
            **bearer(org.write_key),
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": "h-1",
        },
    )
    assert fast.status_code == slow.status_code == 201
    ignore = {"id", "received_at", "submitted_at", "idempotency_key"}
    left = {k: v for k, v in fast.json().items() if k not in ignore}
    right = {k: v for k, v in slow.json().items() if k not in ignore}
    assert left == right
    assert left["comment"] == "<b>ok</b>"
    assert slow.json()["idempotency_key"] == "h-1"
    again = client.post(
        url, json={"score": 1, "idempotency_key": "h-1"}, headers=bearer(org.write_key)
    )
    assert again.status_code == 200
    assert again.json()["id"] == slow.json()["id"]
    assert client.post(url, json={"score": 6}, headers=bearer(org.write_key)).status_code == 422
    assert client.post(url, json={"score": 4}, headers=bearer(org.read_key)).status_code == 403
    assert client.post(url, json={"score": 4}, headers=bearer("cxp_x.y")).status_code == 401
    assert _stored(db, org.survey_id) == 12
