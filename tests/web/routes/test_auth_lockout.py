"""Login lockouts through the API and the login form, on SQLite and PostgreSQL: wrong passwords
lock one account from one address (growing), a softer delay per account spares familiar
addresses, the account hears of it by email, and every server process sees the same locks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.act.worker import OutboxWorker
from cxpulse.store import login_attempts
from cxpulse.store.login_attempts import LockoutPolicy
from cxpulse.store.models import LoginAttempt
from cxpulse.store.types import utc_now
from cxpulse.web.state import AppState

from ..helpers import BASE_URL, PASSWORD, World, make_app
from .mail_support import email_parts

pytestmark = pytest.mark.usefixtures("no_inline_worker")

ATTACKER = "198.51.100.66"
OWNER = "203.0.113.10"
LOGIN = "/api/v1/auth/login"


def _from(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, base_url=BASE_URL, client=(address, 40000))


def _policy(app: FastAPI, policy: LockoutPolicy) -> None:
    """Lower limits, so that a test needs fewer slow (argon2) attempts."""
    state: AppState = app.state.cxpulse
    state.lockout = policy


def _try(client: TestClient, email: str, password: str = "wrong password") -> int:
    return client.post(LOGIN, json={"email": email, "password": password}).status_code


def test_wrong_passwords_lock_the_account_from_that_address_only(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    email = world.a.emails["owner"]
    attacker = _from(app, ATTACKER)
    assert [_try(attacker, email) for _ in range(5)] == [401] * 5
    # The right password from the locked address is refused without being checked.
    locked = attacker.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert locked.status_code == 429
    assert 50 <= int(locked.headers["retry-after"]) <= 60
    detail = locked.json()["detail"]
    assert "from your address" in detail
    assert "try again in 1 minute" in detail
    # The owner, from their own address, logs in as ever.
    assert _try(_from(app, OWNER), email, PASSWORD) == 200
    # The lock grows: once it has passed, one more wrong password locks for 2 minutes.
    with db() as session:
        session.execute(
            update(LoginAttempt)
            .where(LoginAttempt.source == ATTACKER)
            .values(locked_until=utc_now() - timedelta(seconds=1))
        )
        session.commit()
    assert _try(attacker, email) == 401
    again = attacker.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert again.status_code == 429
    assert 110 <= int(again.headers["retry-after"]) <= 120


def test_addresses_without_an_account_lock_alike(app: FastAPI, world: World) -> None:
    """A lock must not tell which addresses have accounts."""
    _policy(app, LockoutPolicy(source_limit=2))
    attacker = _from(app, ATTACKER)
    known = [_try(attacker, world.a.emails["viewer"]) for _ in range(3)]
    unknown = [_try(attacker, "nobody@nowhere.example") for _ in range(3)]
    assert known == unknown == [401, 401, 429]
    spelled = [_try(attacker, " NOBODY@nowhere.EXAMPLE ") for _ in range(1)]
    assert spelled == [429]


def test_failures_from_many_addresses_slow_strangers_not_the_owner(
    app: FastAPI, world: World
) -> None:
    _policy(app, LockoutPolicy(account_limit=4))
    email = world.a.emails["admin"]
    assert _try(_from(app, OWNER), email, PASSWORD) == 200  # the owner's usual address
    for n in range(4):
        assert _try(_from(app, f"192.0.2.{n}"), email) == 401
    stranger = _from(app, "192.0.2.200").post(LOGIN, json={"email": email, "password": PASSWORD})
    assert stranger.status_code == 429
    assert "several addresses" in stranger.json()["detail"]
    assert 1 <= int(stranger.headers["retry-after"]) <= 5
    assert _try(_from(app, OWNER), email, PASSWORD) == 200


def test_the_login_form_says_why_and_for_how_long(app: FastAPI, world: World) -> None:
    _policy(app, LockoutPolicy(source_limit=2))
    browser = _from(app, ATTACKER)
    form = {"email": world.a.emails["viewer"], "password": "wrong"}
    assert [browser.post("/login", data=form).status_code for _ in range(2)] == [401] * 2
    page = browser.post("/login", data={**form, "password": PASSWORD})
    assert page.status_code == 429
    assert "Too many wrong passwords for this account from your address" in page.text
    assert "try again in 1 minute" in page.text
    assert 1 <= int(page.headers["retry-after"]) <= 60


def test_every_server_process_sees_the_same_locks(engine: Engine, world: World) -> None:
    """The tallies are in the database: two apps stand for two processes."""
    first, second = make_app(engine), make_app(engine)
    email = world.a.emails["analyst"]
    with _from(first, ATTACKER) as one, _from(second, ATTACKER) as two:
        assert [_try(one, email) for _ in range(3)] == [401] * 3
        assert [_try(two, email) for _ in range(2)] == [401] * 2  # the 5th: locked
        assert _try(one, email, PASSWORD) == 429
        assert _try(two, email, PASSWORD) == 429


def test_the_account_gets_one_email_an_hour_when_a_lock_starts(
    app: FastAPI,
    world: World,
    worker: OutboxWorker,
    server: SmtpTestServer,
    db: sessionmaker[Session],
) -> None:
    _policy(app, LockoutPolicy(source_limit=2))
    email = world.a.emails["owner"]
    attacker = _from(app, ATTACKER)
    _try(attacker, email)
    assert worker.drain().sent == 0  # no lock yet, no email
    _try(attacker, email)
    assert worker.drain().sent == 1
    (received,) = server.wait_for(1)
    assert received.recipients == [email]
    message = received.parsed()
    assert message["Subject"] == "cxpulse: logins to your account were paused"
    text, html = email_parts(message)
    for body in (text, html):
        assert ATTACKER in body
        assert "2 times" in body
        assert "1 minute" in body
        assert "https://cx.example/app/sessions" in body
    # More locks within the hour (the same address again, another address) send no more.
    with db() as session:
        session.execute(update(LoginAttempt).values(locked_until=None))
        session.commit()
    _try(attacker, email)
    other = _from(app, "198.51.100.99")
    for _ in range(2):
        _try(other, email)
    assert worker.drain().sent == 0
    assert len(server.received) == 1
    # Nobody's address: locks, but no email to anyone.
    for _ in range(2):
        _try(attacker, "nobody@nowhere.example")
    assert worker.drain().sent == 0


def test_a_wrong_current_password_counts_towards_the_lock(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    """A stolen session cannot guess its user's password through the password change."""
    _policy(app, LockoutPolicy(source_limit=3))
    email = world.a.emails["agent"]
    assert _try(client, email, PASSWORD) == 200
    csrf = {"X-CSRF-Token": client.cookies["cxpulse_csrf"]}
    body = {"current_password": "guess", "new_password": "x" * 10}
    answers = [
        client.post("/api/v1/auth/password", json=body, headers=csrf).status_code for _ in range(4)
    ]
    assert answers == [422] * 3 + [429]
    with db() as session:
        refused = login_attempts.refusal(
            session, login_attempts.user_account(world.a.users["agent"]), "testclient"
        )
        assert refused is not None
        assert refused.reason == "source"
