"""Logging in through the JSON API: the cookies it sets, refusals that look alike, the
rate limit per address, and cookies without Secure when so configured."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts
from cxpulse.web.tokens import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE

from ..helpers import BASE_URL, PASSWORD, World, make_app


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
