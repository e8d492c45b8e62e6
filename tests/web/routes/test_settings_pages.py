"""The settings hub (/app/settings) on SQLite and PostgreSQL: links to every settings page;
the organisation's form for owners and admins, read-only values for the others; refused
fields come back by their field with what was typed; a hard-to-read colour is saved with a
warning; the logo upload; the test email through a real SMTP server, and in words when no
server listens."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer, free_port
from tests.store.logo_samples import SVG, png

from cxpulse.store import backups
from cxpulse.store.models import AuditLog, Organisation
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import BASE_URL, World, make_app, session_headers

pytestmark = pytest.mark.usefixtures("no_inline_worker")

PAGE = "/app/settings"


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    headers = session_headers(app, user, csrf=False)
    token = headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]
    return headers, token


def _form(token: str, **fields: str) -> dict[str, str]:
    values = {
        "csrf_token": token,
        "name": "Org-A",
        "default_language": "en",
        "industry": "",
        "throttle_days": "30",
        "sender_name": "",
        "reply_to": "",
        "accent_colour": "",
    }
    values.update(fields)
    return values


def _organisation(db: sessionmaker[Session], organisation_id: int) -> Organisation:
    with db() as session:
        found = session.get(Organisation, organisation_id)
        assert found is not None
        session.expunge(found)
        return found


def test_everyone_sees_the_links_and_only_owners_and_admins_the_form(
    app: FastAPI, client: TestClient, world: World
) -> None:
    for role in ("viewer", "agent", "analyst", "admin", "owner"):
        headers, token = _browser(app, world.a.users[role])
        page = client.get(PAGE, headers=headers)
        assert page.status_code == 200, role
        for href in ("/app/team", "/app/account", "/app/sessions", "/app/keys", "/app/audit"):
            assert f'href="{href}"' in page.text
        assert 'href="/app/webhooks"' in page.text
        assert 'href="/app/imports"' in page.text
        editable = role in ("admin", "owner")
        assert ('enctype="multipart/form-data"' in page.text) is editable, role
        assert ("Owners and admins change these settings" in page.text) is not editable
        if not editable:
            answer = client.post(PAGE, data=_form(token, name="Taken over"), headers=headers)
            assert answer.status_code == 403
            mail = client.post(f"{PAGE}/test-email", data={"csrf_token": token}, headers=headers)
            assert mail.status_code == 403
    assert client.get(PAGE, follow_redirects=False).status_code == 303  # to the login


def test_saving_the_form_changes_the_settings_and_audits_them(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    headers, token = _browser(app, world.a.users["admin"])
    logo = png(200, 80)
    form = _form(
        token,
        name="Org A <Ltd>",
        default_language="fr",
        industry="hotels",
        throttle_days="7",
        redact_comments="on",
        sender_name="Org A Support",
        reply_to="help@org-a.example",
        accent_colour="#0055AA",
    )
    answer = client.post(
        PAGE,
        data=form,
        files={"logo": ("logo.png", logo, "image/png")},
        headers=headers,
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/settings?saved=1"
    saved = _organisation(db, world.a.id)
    assert (saved.name, saved.default_language, saved.industry, saved.throttle_days) == (
        "Org A <Ltd>",
        "fr",
        "hotels",
        7,
    )
    assert saved.redact_comments is True
    assert (saved.sender_name, saved.reply_to, saved.accent_colour) == (
        "Org A Support",
        "help@org-a.example",
        "#0055aa",
    )
    assert (saved.logo, saved.logo_type) == (logo, "image/png")
    page = client.get("/app/settings?saved=1", headers=headers)
    assert "Saved." in page.text
    assert "Org A &lt;Ltd&gt;" in page.text
    assert 'src="/brand/org-a/logo?v=' in page.text
    assert "200 x 80 pixels" in page.text
    assert 'id="contrast-ok"' in page.text
    with db() as session:
        [entry] = session.scalars(select(AuditLog).where(AuditLog.entity == "organisation")).all()
    assert entry.action == "update"
    assert set(entry.details) == {
        "name",
        "default_language",
        "industry",
        "throttle_days",
        "redact_comments",
        "sender_name",
        "reply_to",
        "accent_colour",
        "logo",
    }
    # Saving with no file keeps the logo; "remove" removes it.
    kept = client.post(PAGE, data=form, headers=headers, follow_redirects=False)
    assert kept.status_code == 303
    assert _organisation(db, world.a.id).logo == logo
    client.post(PAGE, data={**form, "remove_logo": "on"}, headers=headers, follow_redirects=False)
    assert _organisation(db, world.a.id).logo is None


def test_refused_fields_come_back_by_their_field_with_what_was_typed(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    headers, token = _browser(app, world.a.users["owner"])
    form = _form(
        token,
        name="New name",
        throttle_days="lots",
        reply_to="nobody at all",
        accent_colour="blue",
    )
    answer = client.post(
        PAGE, data=form, files={"logo": ("logo.svg", SVG, "image/svg+xml")}, headers=headers
    )
    assert answer.status_code == 422
    text = html.unescape(answer.text)
    assert "Nothing was saved: 4 fields need a change." in text
    for field in ("throttle_days", "reply_to", "accent_colour", "logo"):
        assert f'id="{field}-error" class="field-error"' in answer.text
    assert "must be a whole number of days from 0 to 3650" in text
    assert "must be a colour written #rrggbb" in text
    assert "is an SVG drawing, which is not accepted" in text
    assert 'value="New name"' in answer.text  # what was typed is kept
    assert 'value="nobody at all"' in answer.text
    assert _organisation(db, world.a.id).name == "Org-A"


def test_a_hard_to_read_colour_is_saved_with_a_warning(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    headers, token = _browser(app, world.a.users["owner"])
    saved = client.post(
        PAGE, data=_form(token, accent_colour="#ffdd55"), headers=headers, follow_redirects=False
    )
    assert saved.status_code == 303
    answer = client.get(saved.headers["location"], headers=headers)
    assert _organisation(db, world.a.id).accent_colour == "#ffdd55"
    assert 'class="contrast-warning"' in answer.text
    assert "below the 4.5:1 that WCAG asks for" in answer.text
    assert 'fill="#ffdd55"' in answer.text  # the preview


def test_a_logo_too_large_is_refused_by_its_field(
    app: FastAPI, client: TestClient, world: World
) -> None:
    headers, token = _browser(app, world.a.users["owner"])
    big = png(10, 10) + b"\0" * 300_000
    answer = client.post(
        PAGE, data=_form(token), files={"logo": ("big.png", big, "image/png")}, headers=headers
    )
    assert answer.status_code == 422
    assert "at most 200 kB are allowed" in answer.text
    huge = client.post(
        PAGE,
        data=_form(token),
        files={"logo": ("huge.png", b"\0" * 6_000_000, "image/png")},
        headers=headers,
    )
    assert huge.status_code == 413


def test_a_form_from_another_site_or_without_the_token_is_refused(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    headers, _ = _browser(app, world.a.users["owner"])
    answer = client.post(PAGE, data=_form("wrong", name="Hijacked"), headers=headers)
    assert answer.status_code == 403
    assert _organisation(db, world.a.id).name == "Org-A"


def test_the_test_email_reaches_the_signed_in_user_with_the_servers_answer(
    engine: Engine, world: World, server: SmtpTestServer, db: sessionmaker[Session]
) -> None:
    app = make_app(engine, smtp_host="127.0.0.1", smtp_port=server.port)
    with TestClient(app, base_url=BASE_URL) as client:
        headers, token = _browser(app, world.a.users["admin"])
        answer = client.post(f"{PAGE}/test-email", data={"csrf_token": token}, headers=headers)
    assert answer.status_code == 200
    assert "Test email sent." in answer.text
    assert "<code>250 Message accepted</code>" in answer.text
    [received] = server.wait_for(1)
    with db() as session:
        user_email = session.scalars(
            select(AuditLog.details).where(AuditLog.action == "test_email")
        ).one()["to"]
    assert received.recipients == [user_email]
    assert "Test email from Org-A" in str(received.parsed()["Subject"])


def test_no_smtp_server_is_told_in_words_not_a_500(engine: Engine, world: World) -> None:
    port = free_port()
    app = make_app(engine, smtp_host="127.0.0.1", smtp_port=port)
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client:
        headers, token = _browser(app, world.a.users["owner"])
        answer = client.post(f"{PAGE}/test-email", data={"csrf_token": token}, headers=headers)
    assert answer.status_code == 200
    text = html.unescape(answer.text)
    assert "The test email was not sent." in text
    assert f"Could not reach the SMTP server 127.0.0.1:{port}: the connection was refused" in text


def test_owners_and_admins_see_how_old_the_newest_backup_is(
    tmp_path: Path, engine: Engine, world: World
) -> None:
    app = make_app(engine, backup_dir=str(tmp_path), backup_every_hours=24)
    with TestClient(app, base_url=BASE_URL) as client:
        headers, _ = _browser(app, world.a.users["admin"])
        page = client.get(PAGE, headers=headers)
        assert "Backups: No backup yet. The worker takes one every 24 hours." in page.text
        taken = datetime.now(UTC) - timedelta(hours=5, minutes=10)
        (tmp_path / backups.backup_name("sqlite", taken)).write_bytes(b"")
        page = client.get(PAGE, headers=headers)
        assert "Backups: The newest backup is 5 hours old." in html.unescape(page.text)
        viewer, _ = _browser(app, world.a.users["viewer"])
        assert 'id="backup-age"' not in client.get(PAGE, headers=viewer).text
