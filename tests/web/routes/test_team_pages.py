"""The team page and one's profile on SQLite and PostgreSQL: only owners and admins manage
the team, only owners touch owners, the last owner stays; an invitation's email arrives
through the real SMTP server (sent by the worker) and its link signs the colleague in once;
sending again kills the earlier link; everyone edits their own name."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.act.worker import OutboxWorker
from cxpulse.store.models import AuditLog, User
from cxpulse.web.tokens import CSRF_COOKIE, SESSION_COOKIE

from ..helpers import PASSWORD, World, session_headers
from .mail_support import PUBLIC_URL, email_parts

pytestmark = pytest.mark.usefixtures("no_inline_worker")

NEW_PASSWORD = "a new colleague's password"


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    headers = session_headers(app, user, csrf=False)
    token = headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]
    return headers, token


def _post(client: TestClient, url: str, data: dict[str, str], headers: dict[str, str]) -> Any:
    """Post a form as a browser does, following its redirect to the page that shows it
    (by hand: the redirects carry a fragment, which the test client does not follow)."""
    answer = client.post(url, data=data, headers=headers, follow_redirects=False)
    if answer.status_code != 303:
        return answer
    return client.get(answer.headers["location"].split("#")[0], headers=headers)


def _user(db: sessionmaker[Session], email: str) -> User:
    with db() as session:
        found = session.scalars(select(User).where(User.email == email)).one()
        session.expunge(found)
        return found


def _invitation_link(server: SmtpTestServer, worker: OutboxWorker, count: int = 1) -> str:
    worker.drain()
    message = server.wait_for(count)[-1].parsed()
    text, _ = email_parts(message)
    (url,) = re.findall(rf"{re.escape(PUBLIC_URL)}/invite/\S+", text)
    return str(url).removeprefix(PUBLIC_URL)


def test_only_owners_and_admins_manage_the_team(
    app: FastAPI, client: TestClient, world: World
) -> None:
    for role in ("viewer", "agent", "analyst"):
        headers, token = _browser(app, world.a.users[role])
        assert client.get("/app/team", headers=headers).status_code == 403
        form = {"csrf_token": token, "email": "x@a.example", "role": "viewer"}
        assert client.post("/app/team/invite", data=form, headers=headers).status_code == 403
    headers, _ = _browser(app, world.a.users["admin"])
    page = client.get("/app/team", headers=headers)
    assert page.status_code == 200
    assert '<table id="team-table"' in page.text
    assert "viewer@org-a.example" in page.text
    assert "org-b.example" not in page.text
    # An admin is not offered the owner role, and cannot change an owner.
    assert 'value="owner"' not in page.text
    assert "Only an owner changes an owner." in page.text
    signed_out = client.get("/app/team", follow_redirects=False)
    assert signed_out.status_code == 303


def test_an_invitation_arrives_and_its_link_works_once(
    app: FastAPI,
    client: TestClient,
    world: World,
    db: sessionmaker[Session],
    worker: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    headers, token = _browser(app, world.a.users["admin"])
    form = {"csrf_token": token, "email": "Bo@Colleague.Example", "name": "Bo", "role": "analyst"}
    answer = client.post("/app/team/invite", data=form, headers=headers, follow_redirects=False)
    assert answer.status_code == 303
    page = client.get("/app/team?done=invited", headers=headers)
    assert "Invitation sent" in page.text
    assert "no password yet" in page.text
    invited = _user(db, "bo@colleague.example")
    assert invited.invited_at is not None
    assert invited.role == "analyst"
    link = _invitation_link(server, worker)
    message = server.messages[0]
    assert message["To"] == "Bo <bo@colleague.example>"
    assert "Admin of org-a invited you to join Org-A" in email_parts(message)[0]
    # The link's page, then a refused password, then the real one: signed in.
    client.cookies.clear()
    shown = client.get(link)
    assert shown.status_code == 200
    assert "bo@colleague.example" in shown.text
    short = client.post(link, data={"password": "short", "password_again": "short"})
    assert short.status_code == 422
    assert "needs at least 8 characters" in short.text
    chosen = client.post(
        link,
        data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/app"
    assert SESSION_COOKIE in client.cookies
    me = client.get("/api/v1/auth/me").json()
    assert me["user"]["email"] == "bo@colleague.example"
    assert _user(db, "bo@colleague.example").invited_at is None
    # Used: the link is dead, for a page and for a replayed form.
    client.cookies.clear()
    assert client.get(link).status_code == 410
    again = {"password": "another password!", "password_again": "another password!"}
    assert client.post(link, data=again).status_code == 410
    login = {"email": "bo@colleague.example", "password": NEW_PASSWORD}
    assert client.post("/login", data=login, follow_redirects=False).status_code == 303
    with db() as session:
        actions = set(session.scalars(select(AuditLog.action)))
    assert {"invite", "accept_invitation"} <= actions


def test_refused_invitations_keep_what_was_typed(
    app: FastAPI, client: TestClient, world: World
) -> None:
    headers, token = _browser(app, world.a.users["admin"])
    taken = {"csrf_token": token, "email": "viewer@org-a.example", "name": "Vi", "role": "viewer"}
    answer = client.post("/app/team/invite", data=taken, headers=headers)
    assert answer.status_code == 409
    assert 'id="invite-email-error"' in answer.text
    assert 'value="Vi"' in answer.text
    bad = {**taken, "email": "not an address <script>"}
    answer = client.post("/app/team/invite", data=bad, headers=headers)
    assert answer.status_code == 422
    assert "<script>" not in answer.text
    owner = {**taken, "email": "new-owner@org-a.example", "role": "owner"}
    assert client.post("/app/team/invite", data=owner, headers=headers).status_code == 403
    stale = {**taken, "csrf_token": "forged", "email": "z@org-a.example"}
    assert client.post("/app/team/invite", data=stale, headers=headers).status_code == 403


def test_roles_and_deactivation_keep_an_owner(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    headers, token = _browser(app, org.users["owner"])
    viewer = org.users["viewer"]
    url = f"/app/team/{viewer}/role"
    answer = _post(client, url, {"csrf_token": token, "role": "analyst"}, headers)
    assert answer.status_code == 200  # followed the redirect
    assert "Role changed." in answer.text
    assert _user(db, org.emails["viewer"]).role == "analyst"
    bad = _post(client, url, {"csrf_token": token, "role": "boss"}, headers)
    assert bad.status_code == 422
    assert f'id="role-{viewer}-error"' in bad.text
    # The only owner can be neither demoted nor deactivated.
    owner = org.users["owner"]
    demote = _post(
        client, f"/app/team/{owner}/role", {"csrf_token": token, "role": "admin"}, headers
    )
    assert demote.status_code == 409
    assert "without an owner" in demote.text
    leave = _post(
        client, f"/app/team/{owner}/active", {"csrf_token": token, "active": "no"}, headers
    )
    assert leave.status_code == 409
    # An admin cannot touch the owner; deactivating ends the user's sessions.
    admin_headers, admin_token = _browser(app, org.users["admin"])
    refused = _post(
        client,
        f"/app/team/{owner}/active",
        {"csrf_token": admin_token, "active": "no"},
        admin_headers,
    )
    assert refused.status_code == 403
    agent_headers = session_headers(app, org.users["agent"])
    assert client.get("/api/v1/auth/me", headers=agent_headers).status_code == 200
    off = _post(
        client,
        f"/app/team/{org.users['agent']}/active",
        {"csrf_token": admin_token, "active": "no"},
        admin_headers,
    )
    assert "Deactivated" in off.text
    assert client.get("/api/v1/auth/me", headers=agent_headers).status_code == 401
    on = _post(
        client,
        f"/app/team/{org.users['agent']}/active",
        {"csrf_token": admin_token, "active": "yes"},
        admin_headers,
    )
    assert "Reactivated" in on.text
    # Another organisation's user is not found.
    other = _post(
        client,
        f"/app/team/{world.b.users['viewer']}/role",
        {"csrf_token": admin_token, "role": "agent"},
        admin_headers,
    )
    assert other.status_code == 404


def test_sending_again_kills_the_earlier_link(
    app: FastAPI,
    client: TestClient,
    world: World,
    db: sessionmaker[Session],
    worker: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    headers, token = _browser(app, world.a.users["owner"])
    form = {"csrf_token": token, "email": "cy@colleague.example", "role": "viewer"}
    _post(client, "/app/team/invite", form, headers)
    first = _invitation_link(server, worker, 1)
    user_id = _user(db, "cy@colleague.example").id
    resent = _post(client, f"/app/team/{user_id}/resend", {"csrf_token": token}, headers)
    assert "Invitation sent again" in resent.text
    second = _invitation_link(server, worker, 2)
    assert first != second
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200
    # Accepted: it cannot be sent again.
    password = {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    assert client.post(second, data=password, follow_redirects=False).status_code == 303
    client.cookies.clear()
    headers, token = _browser(app, world.a.users["owner"])
    late = _post(client, f"/app/team/{user_id}/resend", {"csrf_token": token}, headers)
    assert late.status_code == 422
    assert "accepted the invitation already" in late.text


def test_everyone_edits_their_own_name(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    headers, token = _browser(app, world.a.users["viewer"])
    page = client.get("/app/account", headers=headers)
    assert page.status_code == 200
    assert 'action="/app/password"' in page.text
    assert 'href="/app/sessions"' in page.text
    assert "viewer@org-a.example" in page.text
    saved = _post(client, "/app/account", {"csrf_token": token, "name": "Vi <Viewer>"}, headers)
    assert saved.status_code == 200
    assert "Your name is saved." in saved.text
    assert "Vi &lt;Viewer&gt;" in saved.text
    assert _user(db, "viewer@org-a.example").name == "Vi <Viewer>"
    long = _post(client, "/app/account", {"csrf_token": token, "name": "x" * 201}, headers)
    assert long.status_code == 422
    assert 'id="account-name-error"' in long.text
    # The password form of the profile is the sessions page's.
    change = {
        "csrf_token": token,
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD,
    }
    changed = client.post("/app/password", data=change, headers=headers, follow_redirects=False)
    assert changed.headers["location"] == "/app/sessions?done=password"


def _actions_of(html: str, user_id: int) -> str:
    """The actions cell of one user's row."""
    row = html.split(f'<tr id="user-{user_id}">', 1)[1].split("</tr>", 1)[0]
    return row.split('<td class="actions">', 1)[1]


def test_nobody_is_offered_or_allowed_to_deactivate_themselves(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    admin = org.users["admin"]
    headers, token = _browser(app, admin)
    page = client.get("/app/team", headers=headers).text
    mine = _actions_of(page, admin)
    assert f'action="/app/team/{admin}/active"' not in mine
    assert "Another owner or admin can deactivate you." in mine
    assert f'action="/app/team/{admin}/role"' in mine  # lowering one's role is allowed
    assert f'action="/app/team/{org.users["agent"]}/active"' in page  # others' are offered
    refused = _post(
        client, f"/app/team/{admin}/active", {"csrf_token": token, "active": "no"}, headers
    )
    assert refused.status_code == 409
    assert f'id="active-{admin}-error"' in refused.text
    assert "you cannot deactivate yourself" in refused.text
    assert _user(db, org.emails["admin"]).is_active
    assert client.get("/app/team", headers=headers).status_code == 200  # still signed in
    with db() as session:
        changes = select(AuditLog).where(
            AuditLog.entity == "user", AuditLog.entity_id == str(admin)
        )
        assert not session.scalars(changes).all()


def test_the_only_owner_is_offered_no_demotion_and_another_owner_allows_it(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    owner = org.users["owner"]
    headers, token = _browser(app, owner)
    mine = _actions_of(client.get("/app/team", headers=headers).text, owner)
    assert f'action="/app/team/{owner}/role"' not in mine
    assert f'action="/app/team/{owner}/active"' not in mine
    assert "Your role stays: you are the only owner." in mine
    demote = _post(
        client, f"/app/team/{owner}/role", {"csrf_token": token, "role": "admin"}, headers
    )
    assert demote.status_code == 409
    assert f'id="role-{owner}-error"' in demote.text  # shown by the row, without the form
    # With a second owner, the first may step down, but still not deactivate themselves.
    promoted = _post(
        client,
        f"/app/team/{org.users['admin']}/role",
        {"csrf_token": token, "role": "owner"},
        headers,
    )
    assert "Role changed." in promoted.text
    mine = _actions_of(promoted.text, owner)
    assert f'action="/app/team/{owner}/role"' in mine
    assert f'action="/app/team/{owner}/active"' not in mine
    leave = _post(
        client, f"/app/team/{owner}/active", {"csrf_token": token, "active": "no"}, headers
    )
    assert leave.status_code == 409
    assert _user(db, org.emails["owner"]).is_active
    down = client.post(
        f"/app/team/{owner}/role",
        data={"csrf_token": token, "role": "admin"},
        headers=headers,
        follow_redirects=False,
    )
    assert down.status_code == 303
    assert _user(db, org.emails["owner"]).role == "admin"


def test_the_only_admin_of_an_organisation_without_owner_keeps_the_role(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    """As in the demo: one admin and no active owner; lowering one's role would leave
    nobody to manage the team."""
    org = world.a
    with db.begin() as session:
        owner = session.get(User, org.users["owner"])
        assert owner is not None
        owner.is_active = False
    admin = org.users["admin"]
    headers, token = _browser(app, admin)
    mine = _actions_of(client.get("/app/team", headers=headers).text, admin)
    assert f'action="/app/team/{admin}/role"' not in mine
    assert "Your role stays: you are the only owner or admin." in mine
    refused = _post(
        client, f"/app/team/{admin}/role", {"csrf_token": token, "role": "analyst"}, headers
    )
    assert refused.status_code == 409
    assert "you are the only active owner or admin" in refused.text
    assert _user(db, org.emails["admin"]).role == "admin"
