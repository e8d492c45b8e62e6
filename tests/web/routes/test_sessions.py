"""Server-side sessions through the API and the pages, on SQLite and PostgreSQL: logout ends
the session for good, a login always starts a new one, users list and end their sessions,
owners and admins end those of their organisation's users, a password change ends the
others."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts
from cxpulse.store.models import AuditLog, WebSession
from cxpulse.web.tokens import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE

from ..helpers import BASE_URL, PASSWORD, World, bearer, session_headers

ME = "/api/v1/auth/me"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def _login(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Logs ``client`` in; the headers that replay its session from anywhere."""
    answer = client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        headers={"User-Agent": FIREFOX},
    )
    assert answer.status_code == 200, answer.text
    return {
        "Cookie": f"{SESSION_COOKIE}={client.cookies[SESSION_COOKIE]}; "
        f"{CSRF_COOKIE}={client.cookies[CSRF_COOKIE]}",
        CSRF_HEADER: client.cookies[CSRF_COOKIE],
    }


def _fresh(app: FastAPI) -> TestClient:
    """Another browser: no cookies of its own."""
    return TestClient(app, base_url=BASE_URL)


def test_a_copied_cookie_stops_working_once_its_session_logs_out(
    app: FastAPI, client: TestClient, world: World
) -> None:
    """Defect 7: the cookie kept working until its expiry after a logout."""
    copied = _login(client, world.a.emails["analyst"])
    thief = _fresh(app)
    assert thief.get(ME, headers=copied).status_code == 200
    out = client.post("/api/v1/auth/logout", headers={CSRF_HEADER: copied[CSRF_HEADER]})
    assert out.status_code == 204
    after = thief.get(ME, headers=copied)
    assert after.status_code == 401
    assert "log in again" in after.json()["detail"]
    # Unsafe requests too, with the CSRF token that went with it.
    created = thief.post("/api/v1/contacts", json={"name": "x"}, headers=copied)
    assert created.status_code == 401


def test_the_logout_form_ends_the_session_for_good(
    app: FastAPI, client: TestClient, world: World
) -> None:
    answer = client.post(
        "/login",
        data={"email": world.a.emails["viewer"], "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    copied = {"Cookie": f"{SESSION_COOKIE}={client.cookies[SESSION_COOKIE]}"}
    assert _fresh(app).get("/app", headers=copied, follow_redirects=False).status_code == 200
    out = client.post(
        "/logout", data={"csrf_token": client.cookies[CSRF_COOKIE]}, follow_redirects=False
    )
    assert out.status_code == 303
    dead = _fresh(app).get("/app", headers=copied, follow_redirects=False)
    assert dead.status_code == 303
    assert dead.headers["location"].startswith("/login")


def test_every_login_starts_a_new_session_and_ends_the_one_it_replaces(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    email = world.a.emails["viewer"]
    first = _login(client, email)
    second = _login(client, email)  # the browser presents the first cookie while logging in
    assert first["Cookie"] != second["Cookie"]
    assert _fresh(app).get(ME, headers=first).status_code == 401
    assert _fresh(app).get(ME, headers=second).status_code == 200
    elsewhere = _fresh(app)
    third = _login(elsewhere, email)  # another browser: both stay valid
    assert _fresh(app).get(ME, headers=second).status_code == 200
    assert _fresh(app).get(ME, headers=third).status_code == 200
    with db() as session:
        rows = session.scalars(
            select(WebSession).where(WebSession.user_id == world.a.users["viewer"])
        ).all()
        assert len(rows) == 3
        assert len({row.secret_hash for row in rows}) == 3
        assert [row.user_agent for row in rows] == ["Firefox on Linux"] * 3
        assert {row.source for row in rows} == {"testclient"}


def test_users_list_their_sessions_and_end_one_or_all(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    email = world.a.emails["agent"]
    here = _login(client, email)
    laptop, phone = _login(_fresh(app), email), _login(_fresh(app), email)
    listed = client.get("/api/v1/sessions").json()["items"]
    assert len(listed) == 3
    assert [item["current"] for item in listed].count(True) == 1
    current = next(item for item in listed if item["current"])
    assert current["user_agent"] == "Firefox on Linux"
    assert current["source"] == "testclient"
    others = [item["id"] for item in listed if not item["current"]]
    ended = client.post(f"/api/v1/sessions/{others[0]}/revoke", headers=here)
    assert ended.status_code == 204
    assert SESSION_COOKIE in client.cookies  # not this browser's session
    alive = [_fresh(app).get(ME, headers=h).status_code for h in (laptop, phone)]
    assert sorted(alive) == [200, 401]
    assert client.post(f"/api/v1/sessions/{others[0]}/revoke", headers=here).status_code == 204
    # Another user's session is not found, as one that does not exist.
    someone = session_headers(app, world.a.users["viewer"])
    theirs = _fresh(app).get("/api/v1/sessions", headers=someone).json()["items"][0]["id"]
    assert client.post(f"/api/v1/sessions/{theirs}/revoke", headers=here).status_code == 404
    assert client.post("/api/v1/sessions/987654321/revoke", headers=here).status_code == 404
    assert _fresh(app).get(ME, headers=someone).status_code == 200
    everywhere = client.post("/api/v1/sessions/revoke-all", headers=here)
    assert everywhere.status_code == 200
    assert everywhere.json() == {"ended": 2}
    assert SESSION_COOKIE not in client.cookies
    for headers in (here, laptop, phone):
        assert _fresh(app).get(ME, headers=headers).status_code == 401
    with db() as session:
        actions = session.scalars(
            select(AuditLog.action).where(AuditLog.entity == "session").order_by(AuditLog.id)
        ).all()
        assert actions == ["revoke", "revoke", "revoke_all"]


def test_session_routes_need_csrf_and_a_user(
    app: FastAPI, client: TestClient, world: World
) -> None:
    headers = _login(client, world.a.emails["agent"])
    no_csrf = {"Cookie": headers["Cookie"]}
    assert _fresh(app).post("/api/v1/sessions/revoke-all", headers=no_csrf).status_code == 403
    key = bearer(world.a.write_key)
    assert _fresh(app).get("/api/v1/sessions", headers=key).status_code == 403
    assert _fresh(app).post("/api/v1/sessions/revoke-all", headers=key).status_code == 403
    assert _fresh(app).get("/api/v1/sessions").status_code == 401
    assert _fresh(app).get(ME, headers=headers).status_code == 200


def test_owners_and_admins_end_the_sessions_of_their_organisations_users(
    app: FastAPI, client: TestClient, world: World
) -> None:
    a, b = world.a, world.b
    viewer = _login(_fresh(app), a.emails["viewer"])
    owner_session = _login(_fresh(app), a.emails["owner"])
    admin = session_headers(app, a.users["admin"])
    analyst = session_headers(app, a.users["analyst"])
    url = f"/api/v1/users/{a.users['viewer']}/sessions"
    assert client.get(url, headers=analyst).status_code == 403
    listed = client.get(url, headers=admin)
    assert listed.status_code == 200
    assert [item["current"] for item in listed.json()["items"]] == [False]
    one = listed.json()["items"][0]["id"]
    # Another organisation's user, or their session, is a 404 like a user that does not exist.
    b_admin = session_headers(app, b.users["admin"])
    assert client.get(url, headers=b_admin).status_code == 404
    assert client.post(f"{url}/revoke-all", headers=b_admin).status_code == 404
    assert client.post(f"{url}/{one}/revoke", headers=b_admin).status_code == 404
    assert client.get("/api/v1/users/987654321/sessions", headers=admin).status_code == 404
    assert _fresh(app).get(ME, headers=viewer).status_code == 200
    assert client.post(f"{url}/{one}/revoke", headers=admin).status_code == 204
    assert _fresh(app).get(ME, headers=viewer).status_code == 401
    # Only an owner ends an owner's sessions.
    owners = f"/api/v1/users/{a.users['owner']}/sessions"
    assert client.post(f"{owners}/revoke-all", headers=admin).status_code == 403
    assert _fresh(app).get(ME, headers=owner_session).status_code == 200
    other_owner = session_headers(app, a.users["owner"])
    ended = client.post(f"{owners}/revoke-all", headers=other_owner)
    assert ended.status_code == 200
    assert ended.json()["ended"] == 2  # the owner's own request session too
    assert _fresh(app).get(ME, headers=owner_session).status_code == 401


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    email = world.a.emails["analyst"]
    here = _login(client, email)
    other = _login(_fresh(app), email)
    url = "/api/v1/auth/password"
    wrong = client.post(
        url, json={"current_password": "not it", "new_password": "x" * 12}, headers=here
    )
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"] == ["body", "current_password"]
    short = client.post(
        url, json={"current_password": PASSWORD, "new_password": "short"}, headers=here
    )
    assert short.status_code == 422
    assert _fresh(app).get(ME, headers=other).status_code == 200
    key = bearer(world.a.write_key)
    refused = _fresh(app).post(
        url, json={"current_password": PASSWORD, "new_password": "x" * 12}, headers=key
    )
    assert refused.status_code == 403
    changed = client.post(
        url, json={"current_password": PASSWORD, "new_password": "a new passphrase"}, headers=here
    )
    assert changed.status_code == 204, changed.text
    assert client.get(ME).status_code == 200
    assert _fresh(app).get(ME, headers=other).status_code == 401
    assert (
        _fresh(app)
        .post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        .status_code
        == 401
    )
    _login(_fresh(app), email, "a new passphrase")
    with db() as session:
        entry = session.scalars(select(AuditLog).where(AuditLog.action == "change_password")).one()
        assert entry.details == {"sessions_ended": 1}


def test_a_password_changed_elsewhere_ends_every_session(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    here = _login(client, org.emails["viewer"])
    with db() as session:
        accounts.set_password(session, org.id, org.users["viewer"], "set by an operator")
        session.commit()
    assert _fresh(app).get(ME, headers=here).status_code == 401


def test_the_sessions_page_lists_marks_and_ends_sessions(
    app: FastAPI, client: TestClient, world: World
) -> None:
    email = world.a.emails["viewer"]
    signed_in = client.post(
        "/login", data={"email": email, "password": PASSWORD}, headers={"User-Agent": FIREFOX}
    )
    assert signed_in.status_code == 200
    laptop = _login(_fresh(app), email)
    page = client.get("/app/sessions")
    assert page.status_code == 200
    assert page.text.count("this session") == 1
    assert "Firefox on Linux" in page.text
    assert "Sign out everywhere" in page.text
    csrf = client.cookies[CSRF_COOKIE]
    # Forms need the page's token, and come from this site.
    stale = client.post("/app/sessions/revoke-all", data={"csrf_token": "x"})
    assert stale.status_code == 403
    foreign = client.post(
        "/app/sessions/revoke-all",
        data={"csrf_token": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    listed = client.get("/api/v1/sessions").json()["items"]
    other = next(item["id"] for item in listed if not item["current"])
    ended = client.post(
        f"/app/sessions/{other}/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert ended.status_code == 303
    assert ended.headers["location"] == "/app/sessions?done=ended"
    assert _fresh(app).get(ME, headers=laptop).status_code == 401
    assert "The session has ended." in client.get("/app/sessions?done=ended").text
    missing = client.post("/app/sessions/987654321/revoke", data={"csrf_token": csrf})
    assert missing.status_code == 404
    copied = {"Cookie": f"{SESSION_COOKIE}={client.cookies[SESSION_COOKIE]}"}
    out = client.post("/app/sessions/revoke-all", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert _fresh(app).get(ME, headers=copied).status_code == 401
    assert client.get("/app/sessions", follow_redirects=False).status_code == 303


def test_the_password_form_of_the_sessions_page(
    app: FastAPI, client: TestClient, world: World
) -> None:
    email = world.a.emails["analyst"]
    client.post("/login", data={"email": email, "password": PASSWORD})
    laptop = _login(_fresh(app), email)
    csrf = client.cookies[CSRF_COOKIE]
    form = {"csrf_token": csrf, "current_password": PASSWORD}
    differ = client.post(
        "/app/password", data={**form, "new_password": "one new", "new_password_again": "other"}
    )
    assert differ.status_code == 422
    assert "differ" in differ.text
    short = client.post(
        "/app/password", data={**form, "new_password": "short", "new_password_again": "short"}
    )
    assert short.status_code == 422
    assert "at least 8 characters" in short.text
    wrong = client.post(
        "/app/password",
        data={
            **form,
            "current_password": "nope",
            "new_password": "x" * 9,
            "new_password_again": "x" * 9,
        },
    )
    assert wrong.status_code == 422
    assert "is not your current password" in wrong.text
    done = client.post(
        "/app/password",
        data={**form, "new_password": "passphrase two", "new_password_again": "passphrase two"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/app/sessions?done=password"
    assert "your other sessions have ended" in client.get("/app/sessions?done=password").text
    assert _fresh(app).get(ME, headers=laptop).status_code == 401
