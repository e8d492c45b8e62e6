"""The webhook pages (/app/webhooks and one endpoint's page) with plain forms, on SQLite and
PostgreSQL: only admins and owners; adding an endpoint shows its secret once; refused forms
come back with the message by the field; the log filters and pages; test, replay, switch,
rotate and delete; another organisation's endpoint is not found."""

from __future__ import annotations

import html
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import events
from cxpulse.store import webhooks
from cxpulse.store.models import OutboxItem, WebhookDelivery, WebhookEndpoint
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import World, session_headers

pytestmark = pytest.mark.usefixtures("no_inline_worker")


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    headers = session_headers(app, user, csrf=False)
    token = headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]
    return headers, token


def _endpoint(db: sessionmaker[Session], organisation_id: int, **fields: object) -> int:
    with db.begin() as session:
        fields.setdefault("url", "https://hooks.example.com/a")
        return webhooks.create_endpoint(session, organisation_id, **fields).id  # type: ignore[arg-type]


def test_only_admins_and_owners_see_the_pages(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    endpoint_id = _endpoint(db, world.a.id)
    for role in ("viewer", "agent", "analyst"):
        headers, token = _browser(app, world.a.users[role])
        assert client.get("/app/webhooks", headers=headers).status_code == 403
        assert client.get(f"/app/webhooks/{endpoint_id}", headers=headers).status_code == 403
        form = {"csrf_token": token, "url": "https://x.example"}
        assert client.post("/app/webhooks", data=form, headers=headers).status_code == 403
    headers, _ = _browser(app, world.a.users["admin"])
    page = client.get("/app/webhooks", headers=headers)
    assert page.status_code == 200
    assert '<table id="webhooks-table"' in page.text
    assert "https://hooks.example.com/a" in page.text


def test_adding_an_endpoint_shows_its_secret_once(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    headers, token = _browser(app, world.a.users["owner"])
    form = {
        "csrf_token": token,
        "url": "https://hooks.example.com/new",
        "format": "standard",
        "description": "Warehouse <sync>",
        "events": ["case.created", "alert.fired"],
    }
    answer = client.post("/app/webhooks", data=form, headers=headers, follow_redirects=False)
    assert answer.status_code == 200
    with db() as session:
        endpoint = session.scalars(select(WebhookEndpoint)).one()
    assert endpoint.events == {"types": ["case.created", "alert.fired"]}
    assert endpoint.secret in answer.text
    assert "shown this once" in answer.text
    assert "Warehouse &lt;sync&gt;" in answer.text
    later = client.get(f"/app/webhooks/{endpoint.id}", headers=headers)
    assert endpoint.secret not in later.text
    assert endpoint.secret not in client.get("/app/webhooks", headers=headers).text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "http://intranet.example/hook"}, "must use https://"),
        ({"url": ""}, "is required"),
        ({"url": "https://x.example", "events": ["case.deleted"]}, "is not one of"),
        ({"url": "https://x.example", "format": "discord"}, "must be one of"),
        ({"url": "https://x.example", "description": "d" * 201}, "at most 200"),
    ],
)
def test_a_refused_form_comes_back_with_the_message(
    app: FastAPI,
    client: TestClient,
    world: World,
    db: sessionmaker[Session],
    fields: dict[str, object],
    message: str,
) -> None:
    headers, token = _browser(app, world.a.users["admin"])
    answer = client.post("/app/webhooks", data={"csrf_token": token, **fields}, headers=headers)
    assert answer.status_code == 422
    assert message in html.unescape(answer.text)
    assert 'class="field-error"' in answer.text
    with db() as session:
        assert session.scalars(select(WebhookEndpoint)).all() == []


def test_forms_need_the_csrf_token(app: FastAPI, client: TestClient, world: World) -> None:
    headers, _ = _browser(app, world.a.users["admin"])
    form = {"csrf_token": "wrong", "url": "https://x.example"}
    assert client.post("/app/webhooks", data=form, headers=headers).status_code == 403


def test_the_log_filters_pages_and_replays(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    endpoint_id = _endpoint(db, world.a.id)
    with db.begin() as session:
        for n in range(30):
            events.publish(session, world.a.id, "case.created", {"case_id": n})
        rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        rows[0].state, rows[0].last_error = "dead", "ConnectError: refused <b>"
        rows[1].state, rows[1].last_status, rows[1].last_error = "failed", 503, "HTTP 503"
    headers, token = _browser(app, world.a.users["admin"])
    path = f"/app/webhooks/{endpoint_id}"
    page = client.get(path, headers=headers).text
    assert page.count('action="/app/webhooks/') >= 25
    assert "Older</a>" in page
    cursor = re.search(r"cursor=([^#\"]+)#", page)
    assert cursor is not None
    older = client.get(f"{path}?cursor={html.unescape(cursor.group(1))}", headers=headers).text
    assert rows[0].event_id in older
    assert rows[0].event_id not in page
    dead = client.get(f"{path}?state=dead", headers=headers).text
    assert rows[0].event_id in dead
    assert rows[1].event_id not in dead
    assert "ConnectError: refused &lt;b&gt;" in dead
    assert client.get(f"{path}?cursor=zzz", headers=headers).status_code == 422
    replay = client.post(
        f"{path}/replay-failed",
        data={"csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )
    assert replay.status_code == 303
    assert replay.headers["location"] == f"{path}?replayed=2"
    shown = client.get(replay.headers["location"], headers=headers).text
    assert "2 deliveries queued again" in shown
    one = client.post(
        f"{path}/deliveries/{rows[5].id}/replay",
        data={"csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )
    assert one.status_code == 303
    with db() as session:
        keys = set(session.scalars(select(OutboxItem.dedupe_key)))
    assert {
        f"webhook:{rows[0].id}:r0",
        f"webhook:{rows[1].id}:r0",
        f"webhook:{rows[5].id}:r0",
    } <= keys


def test_test_switch_rotate_and_delete(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    endpoint_id = _endpoint(db, world.a.id)
    headers, token = _browser(app, world.a.users["admin"])
    path = f"/app/webhooks/{endpoint_id}"
    form = {"csrf_token": token}

    def post(action: str, **extra: str) -> str:
        answer = client.post(
            f"{path}{action}", data={**form, **extra}, headers=headers, follow_redirects=False
        )
        assert answer.status_code in (200, 303), answer.text
        return answer.headers.get("location", "") or answer.text

    assert post("/test") == f"{path}?tested=1"
    assert post("/switch", enabled="off") == f"{path}?disabled=1"
    with db() as session:
        stored = session.get(WebhookEndpoint, endpoint_id)
        assert stored is not None
        assert not stored.enabled
        old = stored.secret
        assert session.scalars(select(WebhookDelivery.event_type)).all() == ["webhook.test"]
    assert "switched off" in client.get(path, headers=headers).text
    assert post("/switch", enabled="on") == f"{path}?enabled=1"
    rotated = post("/rotate")
    with db() as session:
        stored = session.get(WebhookEndpoint, endpoint_id)
        assert stored is not None
        assert stored.enabled
        assert stored.secret != old
        assert stored.secret in rotated
        assert stored.previous_secret == old
    saved = post("", url="https://hooks.example.com/b", description="B", events="case.updated")
    assert saved == f"{path}?saved=1"
    refused = client.post(path, data={**form, "url": "ftp://x"}, headers=headers)
    assert refused.status_code == 422
    unconfirmed = client.post(f"{path}/delete", data=form, headers=headers)
    assert unconfirmed.status_code == 422
    assert "tick the box" in unconfirmed.text
    assert post("/delete", confirm="yes") == "/app/webhooks?deleted=1"
    with db() as session:
        assert session.scalars(select(WebhookEndpoint)).all() == []


def test_another_organisations_endpoint_is_not_found(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    theirs = _endpoint(db, world.b.id, url="https://globex.example/their-hook")
    _endpoint(db, world.a.id)
    headers, token = _browser(app, world.a.users["owner"])
    path = f"/app/webhooks/{theirs}"
    assert client.get(path, headers=headers).status_code == 404
    for action in ("", "/test", "/switch", "/rotate", "/replay-failed", "/delete"):
        data = {"csrf_token": token, "url": "https://x.example", "confirm": "yes"}
        answer = client.post(f"{path}{action}", data=data, headers=headers)
        assert answer.status_code == 404, action
    listed = client.get("/app/webhooks", headers=headers).text
    assert "hooks.example.com/a" in listed
    assert "globex.example" not in listed
