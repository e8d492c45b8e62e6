"""Logging in, cookies, CSRF, the login rate limit, and API key life."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts
from cxpulse.store.models import ApiKey
from cxpulse.web.state import AppState
from cxpulse.web.tokens import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE

from .helpers import BASE_URL, PASSWORD, World, bearer, make_app, session_headers


def _login(client: TestClient, email: str, password: str = PASSWORD) -> int:
    return client.post(
        "/api/v1/auth/login", json={"email": email, "password": password}
    ).status_code


def test_login_sets_safe_cookies_and_the_session_works(client: TestClient, world: World) -> None:
    org = world.a
    answer = client.post(
        "/api/v1/auth/login", json={"email": org.emails["analyst"].upper(), "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["user"]["role"] == "analyst"
    assert body["organisation"]["id"] == org.id
    cookies = {c.split("=", 1)[0]: c for c in answer.headers.get_list("set-cookie")}
    session_cookie = cookies[SESSION_COOKIE].lower()
    for attribute in ("httponly", "samesite=lax", "secure", "path=/", "max-age="):
        assert attribute in session_cookie
    csrf_cookie = cookies[CSRF_COOKIE].lower()
    assert "httponly" not in csrf_cookie
    assert "samesite=lax" in csrf_cookie
    assert client.cookies[CSRF_COOKIE] == body["csrf_token"]

    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["user"]["email"] == org.emails["analyst"]
    assert "exports" in me.json()["permissions"]
    created = client.post(
        "/api/v1/contacts", json={"name": "Via session"}, headers={CSRF_HEADER: body["csrf_token"]}
    )
    assert created.status_code == 201

    out = client.post("/api/v1/auth/logout", headers={CSRF_HEADER: body["csrf_token"]})
    assert out.status_code == 204
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/api/v1/auth/me").status_code == 401


def test_wrong_credentials_are_refused_alike(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    wrong = client.post(
        "/api/v1/auth/login", json={"email": org.emails["viewer"], "password": "not it at all"}
    )
    unknown = client.post(
        "/api/v1/auth/login", json={"email": "nobody@nowhere.example", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    with db() as session:
        accounts.update_user(session, org.id, org.users["viewer"], is_active=False)
        session.commit()
    assert _login(client, org.emails["viewer"]) == 401
    assert client.get("/api/v1/auth/me").status_code == 401


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
    old = state.signer.issue(org.users["viewer"], "", now=time.time() - 10 * 86400)
    expired = {"Cookie": f"{SESSION_COOKIE}={state.signer.dumps(old)}"}
    assert client.get("/api/v1/surveys", headers=expired).status_code == 401
    with db() as session:
        accounts.set_password(session, org.id, org.users["viewer"], "a brand new password")
        session.commit()
    assert client.get("/api/v1/surveys", headers=good).status_code == 401
    nothing = client.get("/api/v1/surveys")
    assert nothing.status_code == 401
    assert nothing.headers["www-authenticate"] == "Bearer"


def test_login_attempts_are_rate_limited_per_address(engine: Engine, world: World) -> None:
    app = make_app(engine, login_burst=3, login_per_minute=1.0)
    with TestClient(app, base_url=BASE_URL) as client:
        email = world.a.emails["viewer"]
        assert [_login(client, email, "wrong password") for _ in range(3)] == [401] * 3
        limited = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "detail" in limited.json()


def test_cookies_without_secure_when_configured(engine: Engine, world: World) -> None:
    app = make_app(engine, cookie_secure=False)
    with TestClient(app, base_url="http://testserver") as client:
        answer = client.post(
            "/api/v1/auth/login", json={"email": world.a.emails["owner"], "password": PASSWORD}
        )
        assert answer.status_code == 200
        for cookie in answer.headers.get_list("set-cookie"):
            assert "secure" not in cookie.lower()
        assert client.get("/api/v1/auth/me").status_code == 200


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
