"""Browser sessions as ``web/access.py`` checks them: CSRF on unsafe requests, and damaged,
expired or outdated session cookies refused."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts
from cxpulse.web.state import AppState
from cxpulse.web.tokens import CSRF_HEADER, SESSION_COOKIE

from .helpers import World, bearer, session_headers


def test_cookie_requests_need_the_csrf_token(
    app: FastAPI, client: TestClient, world: World
) -> None:
    org = world.a
    full = session_headers(app, org.users["analyst"])
    no_header = session_headers(app, org.users["analyst"], csrf=False)
    url = "/api/v1/contacts"
    assert client.post(url, json={"name": "a"}, headers=no_header).status_code == 403
    wrong = {**full, CSRF_HEADER: "guessed"}
    assert client.post(url, json={"name": "a"}, headers=wrong).status_code == 403
    cookie_only_session = full["Cookie"].split(";")[0]
    header_only = {"Cookie": cookie_only_session, CSRF_HEADER: full[CSRF_HEADER]}
    assert client.post(url, json={"name": "a"}, headers=header_only).status_code == 403
    other = session_headers(app, org.users["analyst"])
    mixed = {**full, CSRF_HEADER: other[CSRF_HEADER]}
    assert client.post(url, json={"name": "a"}, headers=mixed).status_code == 403
    assert client.post(url, json={"name": "a"}, headers=full).status_code == 201
    # Reading needs no token; API keys need none at all.
    assert client.get(url, headers=no_header).status_code == 200
    assert client.post(url, json={"name": "b"}, headers=bearer(org.write_key)).status_code == 201
    # Logging out with a live session is an unsafe request too.
    assert client.post("/api/v1/auth/logout", headers=no_header).status_code == 403


def test_damaged_expired_or_outdated_sessions_are_refused(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    state: AppState = app.state.cxpulse
    good = session_headers(app, org.users["viewer"])
    assert client.get("/api/v1/surveys", headers=good).status_code == 200
    token = good["Cookie"].split(";")[0].split("=", 1)[1]
    payload, signature = token.split(".")
    forged = {"Cookie": f"{SESSION_COOKIE}={payload}.{signature[:-2]}xx"}
    assert client.get("/api/v1/surveys", headers=forged).status_code == 401
    old = state.signer.issue("whatever", expires_at=int(time.time()) - 10 * 86400)
    expired = {"Cookie": f"{SESSION_COOKIE}={state.signer.dumps(old)}"}
    unknown = state.signer.issue("a secret no session has")
    assert (
        client.get(
            "/api/v1/surveys", headers={"Cookie": f"{SESSION_COOKIE}={state.signer.dumps(unknown)}"}
        ).status_code
        == 401
    )
    assert client.get("/api/v1/surveys", headers=expired).status_code == 401
    with db() as session:
        accounts.set_password(session, org.id, org.users["viewer"], "a brand new password")
        session.commit()
    assert client.get("/api/v1/surveys", headers=good).status_code == 401
    nothing = client.get("/api/v1/surveys")
    assert nothing.status_code == 401
    assert nothing.headers["www-authenticate"] == "Bearer"
