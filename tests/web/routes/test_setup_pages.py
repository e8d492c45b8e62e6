"""The first run's set-up page on SQLite and PostgreSQL: an empty database leads to /setup,
which creates the organisation and its owner and signs the owner in; afterwards the page is
gone, a replayed form creates nothing, and two forms posted at once make one owner."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import AuditLog, Organisation, User
from cxpulse.web.tokens import SESSION_COOKIE

from ..helpers import PASSWORD

FORM = {
    "organisation_name": "Demo Shop",
    "name": "Ana Owner",
    "email": "ana@shop.example",
    "password": PASSWORD,
    "password_again": PASSWORD,
}


def _users(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_an_empty_database_leads_to_the_set_up(client: TestClient) -> None:
    front = client.get("/", follow_redirects=False)
    assert front.status_code == 303
    assert front.headers["location"] == "/setup"
    login = client.get("/login", follow_redirects=False)
    assert login.headers["location"] == "/setup"
    page = client.get("/setup")
    assert page.status_code == 200
    for field in ("organisation_name", "name", "email", "password", "password_again"):
        assert f'name="{field}"' in page.text
    assert 'for="organisation-name"' in page.text


def test_the_set_up_signs_the_owner_in_once(client: TestClient, db: sessionmaker[Session]) -> None:
    answer = client.post("/setup", data=FORM, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app"
    assert SESSION_COOKIE in client.cookies
    assert client.get("/app").status_code == 200
    me = client.get("/api/v1/auth/me").json()
    assert me["user"]["role"] == "owner"
    assert me["user"]["name"] == "Ana Owner"
    assert me["organisation"]["slug"] == "demo-shop"
    with db() as session:
        (entry,) = session.scalars(select(AuditLog).where(AuditLog.action == "set_up")).all()
        assert entry.actor == f"user:{me['user']['id']}"
    # The first run is over: the page is gone, and a replayed form creates nothing.
    assert client.get("/setup").status_code == 404
    other = {**FORM, "email": "eve@evil.example", "organisation_name": "Evil"}
    client.cookies.clear()
    replay = client.post("/setup", data=other, follow_redirects=False)
    assert replay.status_code == 404
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/", follow_redirects=False).headers["location"] == "/app"
    assert _users(db) == 1
    # The owner logs in with the chosen password.
    login = client.post(
        "/login", data={"email": "ana@shop.example", "password": PASSWORD}, follow_redirects=False
    )
    assert login.status_code == 303


def test_refused_fields_come_back_with_their_message(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    cases = [
        ({"password": "short", "password_again": "short"}, "needs at least 8 characters"),
        ({"password_again": "something else"}, "differs from the password"),
        ({"email": "not an address"}, 'id="owner-email-error"'),
        ({"organisation_name": ""}, 'id="organisation-name-error"'),
        ({"name": ""}, 'id="owner-name-error"'),
    ]
    for change, expected in cases:
        answer = client.post("/setup", data={**FORM, **change})
        assert answer.status_code == 422, change
        assert expected in answer.text
        assert 'value="ana@shop.example"' in answer.text or "email" in change
        assert PASSWORD not in answer.text
    assert _users(db) == 0
    cross = client.post("/setup", data=FORM, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert _users(db) == 0


def test_two_set_ups_at_once_make_one_owner(client: TestClient, db: sessionmaker[Session]) -> None:
    forms = [
        {**FORM, "email": f"owner{n}@shop.example", "organisation_name": f"Shop {n}"}
        for n in range(4)
    ]

    def post(form: dict[str, str]) -> int:
        # One app, requests from several threads at once (the client is thread-safe).
        return client.post("/setup", data=form, follow_redirects=False).status_code

    with ThreadPoolExecutor(len(forms)) as pool:
        codes = sorted(pool.map(post, forms))
    assert codes == [303, 404, 404, 404]
    assert _users(db) == 1
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == 1
