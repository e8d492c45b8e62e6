"""The account pages (``key_pages`` and ``audit_pages``, registered by ``account_pages``), on
SQLite and PostgreSQL: API keys listed, created (shown once) and revoked after a
confirmation, each change in the audit log; the audit log filtered and paged."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import audit
from cxpulse.store.models import ApiKey, AuditLog
from cxpulse.web.routes.audit_pages import PAGE_SIZE
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import World, bearer, session_headers


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    headers = session_headers(app, user, csrf=False)
    token = headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]
    return headers, token


def test_the_keys_page_lists_the_keys_for_admins_only(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    admin, _ = _browser(app, a.users["admin"])
    page = client.get("/app/keys", headers=admin)
    assert page.status_code == 200
    text = page.text
    assert "write" in text
    assert "read" in text
    assert "by Owner of org-a" in text
    assert "never" in text  # not used yet
    assert f'href="/app/keys/{a.key_id}/revoke"' in text
    with db() as session:
        theirs = session.scalars(select(ApiKey).where(ApiKey.organisation_id == world.b.id)).first()
        assert theirs is not None
    assert f"/app/keys/{theirs.id}/revoke" not in text
    analyst, _ = _browser(app, a.users["analyst"])
    refused = client.get("/app/keys", headers=analyst)
    assert refused.status_code == 403
    assert "keys:manage" in refused.text
    assert client.get(f"/app/keys/{theirs.id}/revoke", headers=admin).status_code == 404


def test_a_new_key_is_shown_once_and_works(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    admin, token = _browser(app, a.users["admin"])
    made = client.post(
        "/app/keys",
        headers=admin,
        data={"csrf_token": token, "name": "Helpdesk <sync>", "scope": "read"},
    )
    assert made.status_code == 201
    found = re.search(r'<textarea id="new-key"[^>]*readonly[^>]*>([^<]+)</textarea>', made.text)
    assert found
    key = html.unescape(found.group(1))
    assert "Helpdesk &lt;sync&gt;" in made.text
    assert "shown this once" in made.text
    assert made.headers["cache-control"] == "no-store"
    assert client.get("/api/v1/surveys", headers=bearer(key)).status_code == 200
    assert key not in client.get("/app/keys", headers=admin).text
    with db() as session:
        entry = session.scalars(
            select(AuditLog).where(AuditLog.action == "create", AuditLog.entity == "api_key")
        ).one()
    assert entry.actor == f"user:{a.users['admin']}"
    assert entry.details == {"name": "Helpdesk <sync>", "scope": "read"}


def test_a_bad_key_form_is_shown_again_with_the_message_by_its_field(
    app: FastAPI, client: TestClient, world: World
) -> None:
    admin, token = _browser(app, world.a.users["admin"])
    blank = client.post(
        "/app/keys", headers=admin, data={"csrf_token": token, "name": "  ", "scope": "write"}
    )
    assert blank.status_code == 422
    assert 'id="key-name-error"' in blank.text
    assert re.search(r'id="key-scope-write"[^>]*checked', blank.text)
    scope = client.post(
        "/app/keys", headers=admin, data={"csrf_token": token, "name": "CRM", "scope": "admin"}
    )
    assert scope.status_code == 422
    assert 'id="key-scope-error"' in scope.text
    assert 'value="CRM"' in scope.text
    assert (
        client.post(
            "/app/keys",
            headers=admin,
            data={"csrf_token": "forged", "name": "CRM", "scope": "read"},
        ).status_code
        == 403
    )
    analyst, analyst_token = _browser(app, world.a.users["analyst"])
    refused = client.post(
        "/app/keys",
        headers=analyst,
        data={"csrf_token": analyst_token, "name": "CRM", "scope": "read"},
    )
    assert refused.status_code == 403


def test_revoking_asks_first_then_stops_the_key(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    admin, token = _browser(app, a.users["admin"])
    assert client.get("/api/v1/surveys", headers=bearer(a.write_key)).status_code == 200
    confirm = client.get(f"/app/keys/{a.key_id}/revoke", headers=admin)
    assert confirm.status_code == 200
    assert "stops working at once" in confirm.text
    assert f'action="/app/keys/{a.key_id}/revoke"' in confirm.text
    done = client.post(
        f"/app/keys/{a.key_id}/revoke",
        headers=admin,
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/app/keys?revoked=1"
    listed = client.get(done.headers["location"], headers=admin).text
    assert "stopped working at once" in listed
    assert "revoked 20" in listed
    assert client.get("/api/v1/surveys", headers=bearer(a.write_key)).status_code == 401
    with db() as session:
        assert session.scalars(
            select(AuditLog).where(AuditLog.action == "revoke", AuditLog.entity_id == str(a.key_id))
        ).one()
    again = client.get(f"/app/keys/{a.key_id}/revoke", headers=admin)
    assert "nothing more to do" in again.text


def _entries(db: sessionmaker[Session], world: World) -> None:
    """A's log: 60 survey updates by the admin, then a user's creation by the owner
    yesterday; B's log: one entry."""
    a = world.a
    with db() as session:
        for n in range(PAGE_SIZE + 10):
            audit.record(
                session,
                a.id,
                actor=f"user:{a.users['admin']}",
                action="update",
                entity="survey",
                entity_id=a.survey_id,
                details={"n": n, "name": "<b>x</b>"},
            )
        created = audit.record(
            session,
            a.id,
            actor=f"user:{a.users['owner']}",
            action="create",
            entity="user",
            entity_id=7,
        )
        created.at = datetime.now(UTC) - timedelta(days=1)
        audit.record(session, world.b.id, actor="system", action="secret", entity="survey")
        session.commit()


def test_the_audit_log_is_filtered_and_paged(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    _entries(db, world)
    owner, _ = _browser(app, a.users["owner"])
    first = client.get("/app/audit", headers=owner)
    assert first.status_code == 200
    text = first.text
    assert text.count("<tr>") == PAGE_SIZE + 1  # the header row and a page
    assert "secret" not in text  # B's entry
    assert "&lt;b&gt;x&lt;/b&gt;" in text
    assert "Admin of org-a" in text
    older = re.search(r'<a href="([^"]+)">Older entries</a>', text)
    assert older
    second = client.get(html.unescape(older.group(1)), headers=owner).text
    assert "Owner of org-a" in second
    assert "Older entries" not in second
    assert "Newest entries" in second
    by_owner = client.get(
        "/app/audit", params={"actor": f"user:{a.users['owner']}"}, headers=owner
    ).text
    assert by_owner.count('<td data-label="Action">create</td>') == 1
    assert '<td data-label="Action">update</td>' not in by_owner
    action = client.get("/app/audit", params={"action": "create", "entity": "user"}, headers=owner)
    assert action.text.count("<tr>") == 2
    today = datetime.now(UTC).date().isoformat()
    only_today = client.get("/app/audit", params={"from": today, "to": today}, headers=owner)
    assert 'data-label="Action">create<' not in only_today.text
    bad = client.get("/app/audit", params={"from": "yesterday", "to": today}, headers=owner)
    assert bad.status_code == 422
    assert 'id="audit-from-error"' in bad.text
    assert 'value="yesterday"' in bad.text
    # The last day there is has no day after it: refused by its field, not a 500.
    far = client.get("/app/audit", params={"to": "9999-12-31"}, headers=owner)
    assert far.status_code == 422
    assert 'id="audit-to-error"' in far.text


def test_the_audit_log_needs_audit_read(app: FastAPI, client: TestClient, world: World) -> None:
    analyst, _ = _browser(app, world.a.users["analyst"])
    refused = client.get("/app/audit", headers=analyst)
    assert refused.status_code == 403
    assert "audit:read" in refused.text
    away = client.get("/app/audit", follow_redirects=False)
    assert away.status_code == 303
