"""The webhooks API on SQLite and PostgreSQL: only admins and owners, never API keys; the
secret shown on creation and rotation only; a test event reaches a real receiver signed with
that secret; the delivery log pages and filters; replays keep the event id; refused input
gets field messages; another organisation's endpoints are not found."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer
from tests.webhook_receiver import WebhookReceiver, webhook_receiver

from cxpulse.act import events, webhook_delivery
from cxpulse.act.jobs import JobRegistry
from cxpulse.act.outbox_worker import OutboxWorker
from cxpulse.act.tasks import TaskRegistry
from cxpulse.collect.links import LinkSigner
from cxpulse.store.models import AuditLog, WebhookDelivery

from ..helpers import World, bearer, session_headers

pytestmark = pytest.mark.usefixtures("no_inline_worker")
BASE = "/api/v1/webhook-endpoints"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def hooks(engine: Engine, server: SmtpTestServer) -> Iterator[OutboxWorker]:
    tasks, jobs = TaskRegistry(), JobRegistry()
    webhook_delivery.register(tasks, jobs)
    made = OutboxWorker(
        engine, server.settings(), LinkSigner("k"), tasks=tasks, jobs=jobs, analyse_comments=False
    )
    yield made
    made.connection.close()
    webhook_delivery.close_shared_poster()


def _admin(app: FastAPI, world: World) -> dict[str, str]:
    return session_headers(app, world.a.users["admin"])


def test_only_admins_and_owners_manage_webhooks(
    app: FastAPI, client: TestClient, world: World
) -> None:
    body = {"url": "https://hooks.example.com/a"}
    for role in ("viewer", "agent", "analyst"):
        headers = session_headers(app, world.a.users[role])
        assert client.get(BASE, headers=headers).status_code == 403
        assert client.post(BASE, json=body, headers=headers).status_code == 403
    for key in (world.a.write_key, world.a.read_key):
        assert client.get(BASE, headers=bearer(key)).status_code == 403
    for role in ("admin", "owner"):
        headers = session_headers(app, world.a.users[role])
        assert client.post(BASE, json=body, headers=headers).status_code == 201


def test_the_secret_is_shown_on_creation_and_rotation_only(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    headers = _admin(app, world)
    created = client.post(
        BASE,
        json={
            "url": "https://hooks.example.com/a",
            "events": ["case.created"],
            "description": "CRM",
        },
        headers=headers,
    )
    assert created.status_code == 201
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["events"] == ["case.created"]
    assert endpoint["format"] == "standard"
    path = f"{BASE}/{endpoint['id']}"
    read = client.get(path, headers=headers).json()
    assert "secret" not in read
    assert read["health"]["deliveries"] == {"pending": 0, "delivered": 0, "failed": 0, "dead": 0}
    listed = client.get(BASE, headers=headers).json()["items"]
    assert [item["id"] for item in listed] == [endpoint["id"]]
    assert all("secret" not in item for item in listed)
    rotated = client.post(f"{path}/rotate-secret", headers=headers).json()
    assert rotated["secret"] != endpoint["secret"]
    assert rotated["previous_secret_until"] is not None
    with db() as session:
        actions = session.scalars(
            select(AuditLog.action).where(AuditLog.entity == "webhook_endpoint")
        ).all()
    assert sorted(actions) == ["create", "rotate_secret"]


def test_a_test_event_reaches_the_receiver_signed_and_can_be_replayed(
    app: FastAPI,
    client: TestClient,
    world: World,
    hooks: OutboxWorker,
    receiver: WebhookReceiver,
) -> None:
    headers = _admin(app, world)
    endpoint = client.post(BASE, json={"url": receiver.url}, headers=headers).json()
    receiver.secrets = [endpoint["secret"]]
    path = f"{BASE}/{endpoint['id']}"
    queued = client.post(f"{path}/test", headers=headers)
    assert queued.status_code == 202
    (delivery_id,) = queued.json()["delivery_ids"]
    hooks.run_tasks()
    (first,) = receiver.wait_for(1)
    assert first.json()["type"] == "webhook.test"
    log = client.get(f"{path}/deliveries", headers=headers).json()
    (row,) = log["items"]
    assert (row["id"], row["state"], row["last_status"]) == (delivery_id, "delivered", 204)
    assert row["event_id"] == first.event_id
    replayed = client.post(f"{path}/deliveries/{delivery_id}/replay", headers=headers)
    assert replayed.status_code == 202
    assert replayed.json()["state"] == "pending"
    hooks.run_tasks()
    assert [item.event_id for item in receiver.wait_for(2)] == [first.event_id] * 2
    assert receiver.rejected == []


def test_the_log_pages_filters_and_replays_the_failed(
    app: FastAPI,
    client: TestClient,
    world: World,
    db: sessionmaker[Session],
    hooks: OutboxWorker,
    receiver: WebhookReceiver,
) -> None:
    headers = _admin(app, world)
    endpoint = client.post(BASE, json={"url": receiver.url}, headers=headers).json()
    receiver.secrets = [endpoint["secret"]]
    path = f"{BASE}/{endpoint['id']}"
    with db.begin() as session:
        for n in range(5):
            events.publish(session, world.a.id, "case.created", {"case_id": n})
    receiver.answer_next(3, 503)
    hooks.run_tasks()
    failed = client.get(f"{path}/deliveries", params={"state": "failed"}, headers=headers)
    assert len(failed.json()["items"]) == 3
    assert failed.json()["items"][0]["last_error"] == "HTTP 503"
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"{path}/deliveries", params=params, headers=headers).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(seen, reverse=True)
    again = client.post(f"{path}/replay-failed", headers=headers)
    assert again.json()["queued"] == 3
    hooks.run_tasks()
    receiver.wait_for(5)
    with db() as session:
        states = set(session.scalars(select(WebhookDelivery.state)))
    assert states == {"delivered"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://hooks.example.com/a"}, "url"),
        ({"url": "https://u:p@hooks.example.com/a"}, "url"),
        ({"url": "https://hooks.example.com/a", "events": ["case.deleted"]}, "events"),
        ({"url": "https://hooks.example.com/a", "format": "discord"}, "format"),
        ({"url": "https://hooks.example.com/a", "secret": "whsec_mine"}, "secret"),
        ({"url": "https://hooks.example.com/" + "a" * 2000}, "url"),
    ],
)
def test_refused_bodies_name_their_field(
    app: FastAPI, client: TestClient, world: World, body: dict[str, object], field: str
) -> None:
    answer = client.post(BASE, json=body, headers=_admin(app, world))
    assert answer.status_code == 422
    assert field in answer.text


def test_updates_and_bad_updates(app: FastAPI, client: TestClient, world: World) -> None:
    headers = _admin(app, world)
    endpoint = client.post(BASE, json={"url": "https://a.example/h"}, headers=headers).json()
    path = f"{BASE}/{endpoint['id']}"
    off = client.patch(path, json={"enabled": False}, headers=headers).json()
    assert (off["enabled"], off["disabled_reason"]) == (False, "switched off by a person")
    on = client.patch(path, json={"enabled": True, "events": ["alert.fired"]}, headers=headers)
    assert on.json()["enabled"]
    assert on.json()["events"] == ["alert.fired"]
    for bad in ({"url": None}, {"enabled": None}, {"enabled": "yes"}, {"url": "ftp://x"}):
        assert client.patch(path, json=bad, headers=headers).status_code == 422, bad
    assert client.get(f"{path}/deliveries?state=lost", headers=headers).status_code == 422
    assert client.get(f"{path}/deliveries?cursor=zzz", headers=headers).status_code == 422
    assert client.delete(path, headers=headers).status_code == 204
    assert client.get(path, headers=headers).status_code == 404


def test_another_organisations_endpoints_are_not_found(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    theirs = client.post(
        BASE,
        json={"url": "https://b.example/h"},
        headers=session_headers(app, world.b.users["owner"]),
    ).json()
    with db.begin() as session:
        events.send_test(session, world.b.id, theirs["id"])
        delivery_id = session.scalars(select(WebhookDelivery.id)).one()
    headers = _admin(app, world)
    path = f"{BASE}/{theirs['id']}"
    calls = [
        client.get(path, headers=headers),
        client.patch(path, json={"enabled": False}, headers=headers),
        client.delete(path, headers=headers),
        client.post(f"{path}/rotate-secret", headers=headers),
        client.post(f"{path}/test", headers=headers),
        client.get(f"{path}/deliveries", headers=headers),
        client.post(f"{path}/deliveries/{delivery_id}/replay", headers=headers),
        client.post(f"{path}/replay-failed", headers=headers),
    ]
    assert [answer.status_code for answer in calls] == [404] * len(calls)
    assert client.get(BASE, headers=headers).json()["items"] == []
