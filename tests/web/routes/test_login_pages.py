"""Signing in and out with the HTML forms on SQLite and PostgreSQL: redirects to the login
page, the session and CSRF cookies, rate limits, login CSRF and open redirects.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.act.worker import OutboxWorker
from cxpulse.store.models import AuditLog
from cxpulse.web.tokens import CSRF_COOKIE, SESSION_COOKIE

from ..helpers import BASE_URL, PASSWORD, World, make_app, session_headers
from .mail_support import PUBLIC_URL, email_parts

NEW_PASSWORD = "a brand new password"


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


@pytest.mark.usefixtures("no_inline_worker")
def test_a_forgotten_password_is_reset_by_email(
    app: FastAPI,
    client: TestClient,
    world: World,
    db: sessionmaker[Session],
    worker: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    login = client.get("/login")
    assert 'href="/password/forgot"' in login.text
    assert client.get("/password/forgot").status_code == 200
    # The same answer for an address with an account and for one without.
    answers = [
        client.post("/password/forgot", data={"email": email}, follow_redirects=False)
        for email in ("nobody@nowhere.example", world.a.emails["analyst"].upper())
    ]
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["location"] == answers[1].headers["location"] == "/login?done=reset"
    assert "an email with a link" in client.get("/login?done=reset").text
    other_browser = session_headers(app, world.a.users["analyst"])
    worker.drain()
    (received,) = server.wait_for(1)
    assert received.recipients == [world.a.emails["analyst"]]
    text, html = email_parts(received.parsed())
    (url,) = re.findall(rf"{re.escape(PUBLIC_URL)}/password/reset/\S+", text)
    link = url.removeprefix(PUBLIC_URL)
    assert f'href="{url}"' in html
    # Not an invitation's link.
    assert client.get(link.replace("/password/reset/", "/invite/")).status_code == 410
    page = client.get(link)
    assert page.status_code == 200
    assert world.a.emails["analyst"] in page.text
    differs = client.post(link, data={"password": NEW_PASSWORD, "password_again": "other one"})
    assert differs.status_code == 422
    assert 'id="chosen-password-again-error"' in differs.text
    chosen = client.post(
        link,
        data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert SESSION_COOKIE in client.cookies
    assert client.get("/api/v1/auth/me").json()["user"]["id"] == world.a.users["analyst"]
    # The user's other sessions ended; the old password no longer works; the link is used.
    assert client.get("/api/v1/auth/me", headers=other_browser).status_code == 401
    client.cookies.clear()
    old = {"email": world.a.emails["analyst"], "password": PASSWORD}
    assert client.post("/login", data=old).status_code == 401
    assert client.get(link).status_code == 410
    with db() as session:
        actions = list(session.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert "request_password_reset" in actions
    assert "reset_password" in actions


def test_forgot_password_is_rate_limited_and_checks_the_address(
    engine: Engine, world: World
) -> None:
    app = make_app(engine, login_burst=2, login_per_minute=1.0)
    with TestClient(app, base_url=BASE_URL) as client:
        bad = client.post("/password/forgot", data={"email": "not an address"})
        assert bad.status_code == 422
        assert 'id="forgot-email-error"' in bad.text
        for _ in range(2):
            data = {"email": world.a.emails["viewer"]}
            assert (
                client.post("/password/forgot", data=data, follow_redirects=False).status_code
                == 303
            )
        limited = client.post("/password/forgot", data={"email": world.a.emails["viewer"]})
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        cross = client.post(
            "/password/forgot",
            data={"email": "x@y.example"},
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        assert client.get("/password/reset/damaged-token").status_code == 410
