"""Signing in and out with the HTML forms on SQLite and PostgreSQL: redirects to the login
page, the session and CSRF cookies, rate limits, login CSRF and open redirects.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cxpulse.web.tokens import CSRF_COOKIE, SESSION_COOKIE

from ..helpers import BASE_URL, PASSWORD, World, make_app


def test_pages_redirect_to_login_when_signed_out(client: TestClient, world: World) -> None:
    for url in (
        "/app",
        f"/app/surveys/{world.a.survey_id}?channel=email",
        f"/app/surveys/{world.a.survey_id}/report?month=2025-01",
    ):
        answer = client.get(url, follow_redirects=False)
        assert answer.status_code == 303
        location = answer.headers["location"]
        assert location.startswith("/login?next=")
        assert parse_qs(urlsplit(location).query)["next"] == [url]
    front = client.get("/", follow_redirects=False)
    assert front.status_code == 303
    assert front.headers["location"] == "/app"


def test_login_form_sets_the_session_and_logout_ends_it(client: TestClient, world: World) -> None:
    form = client.get("/login?next=/app/surveys/1")
    assert form.status_code == 200
    assert 'name="password"' in form.text
    assert 'for="email"' in form.text
    wrong = client.post("/login", data={"email": world.a.emails["viewer"], "password": "nope"})
    assert wrong.status_code == 401
    assert "Wrong email or password" in wrong.text
    assert SESSION_COOKIE not in client.cookies
    answer = client.post(
        "/login",
        data={"email": world.a.emails["viewer"], "password": PASSWORD, "next": "/app"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app"
    assert SESSION_COOKIE in client.cookies
    assert CSRF_COOKIE in client.cookies
    surveys = client.get("/app")
    assert surveys.status_code == 200
    assert "Support CSAT" in surveys.text
    # The same session works for the JSON API.
    assert client.get("/api/v1/auth/me").status_code == 200
    refused = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    out = client.post(
        "/logout", data={"csrf_token": client.cookies[CSRF_COOKIE]}, follow_redirects=False
    )
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert client.get("/app", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site(client: TestClient, world: World) -> None:
    for target in ("//evil.example/app", "https://evil.example", "/api/v1/auth/me"):
        answer = client.post(
            "/login",
            data={"email": world.a.emails["owner"], "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert answer.headers["location"] == "/app"


def test_login_form_is_rate_limited(engine: Engine, world: World) -> None:
    app = make_app(engine, login_burst=2, login_per_minute=1.0)
    with TestClient(app, base_url=BASE_URL) as client:
        for _ in range(2):
            data = {"email": world.a.emails["owner"], "password": "wrong"}
            assert client.post("/login", data=data).status_code == 401
        limited = client.post(
            "/login", data={"email": world.a.emails["owner"], "password": PASSWORD}
        )
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        again = client.post("/login", data={"email": world.a.emails["owner"], "password": PASSWORD})
        assert again.status_code == 429


def test_login_form_needs_both_fields(client: TestClient) -> None:
    answer = client.post("/login", data={"email": "", "password": ""})
    assert answer.status_code == 422
    assert "Enter your email" in answer.text


def test_login_from_another_site_is_refused(client: TestClient, world: World) -> None:
    """Login CSRF: a page elsewhere must not sign a visitor in to an account it chose."""
    credentials = {"email": world.a.emails["viewer"], "password": PASSWORD}
    for headers in (
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    ):
        answer = client.post("/login", data=credentials, headers=headers, follow_redirects=False)
        assert answer.status_code == 403, headers
        assert SESSION_COOKIE not in client.cookies
    same = client.post(
        "/login",
        data=credentials,
        headers={"Origin": "https://testserver", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert same.status_code == 303
