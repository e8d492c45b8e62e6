"""Inbound webhooks through the app, on SQLite and PostgreSQL: the management API and the
public address that Zendesk, Freshdesk, Shopify or any JSON source posts to."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import AuditLog, Invitation

from ..helpers import BASE_URL, World, make_app, session_headers

LIST = "/api/v1/inbound-endpoints"


def _create(
    client: TestClient, headers: dict[str, str], survey_id: int, **fields: Any
) -> dict[str, Any]:
    body = {"survey_id": survey_id, "name": "Solved tickets", **fields}
    made = client.post(LIST, json=body, headers=headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


def _path(endpoint: dict[str, Any]) -> str:
    url = str(endpoint["url"])
    assert url.startswith("http")
    return "/api/v1/inbound/" + url.rsplit("/", 1)[1]


def _sign(key: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), message, hashlib.sha256).digest()).decode()


def test_management_lifecycle(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    admin = session_headers(app, world.a.users["admin"])
    made = _create(
        client,
        admin,
        world.a.survey_id,
        preset="generic",
        mapping={"email": "customer.email", "properties": {"agent": "agent"}},
        delay_minutes=15,
    )
    assert made["secret"]
    assert len(made["secret"]) >= 32
    one = client.get(f"{LIST}/{made['id']}", headers=admin)
    assert one.status_code == 200
    assert one.json()["secret"] is None
    assert one.json()["url"] == made["url"]
    listed = client.get(LIST, headers=admin).json()["items"]
    assert [e["id"] for e in listed] == [made["id"]]
    rotated = client.patch(f"{LIST}/{made['id']}", json={"new_secret": True}, headers=admin)
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (None, made["secret"])
    renamed = client.patch(f"{LIST}/{made['id']}", json={"name": "Deliveries"}, headers=admin)
    assert renamed.json()["name"] == "Deliveries"
    assert renamed.json()["secret"] is None
    assert client.delete(f"{LIST}/{made['id']}", headers=admin).status_code == 204
    assert client.get(f"{LIST}/{made['id']}", headers=admin).status_code == 404
    with db() as session:
        actions = session.scalars(
            select(AuditLog.action).where(AuditLog.entity == "inbound_endpoint")
        ).all()
        assert sorted(actions) == ["create", "delete", "update", "update"]


def test_permissions_and_organisations(app: FastAPI, client: TestClient, world: World) -> None:
    admin_a = session_headers(app, world.a.users["admin"])
    made = _create(client, admin_a, world.a.survey_id, preset="freshdesk")
    analyst = session_headers(app, world.a.users["analyst"])
    assert client.get(LIST, headers=analyst).status_code == 403
    assert client.post(LIST, json={}, headers=analyst).status_code == 403
    admin_b = session_headers(app, world.b.users["admin"])
    assert client.get(f"{LIST}/{made['id']}", headers=admin_b).status_code == 404
    assert client.get(LIST, headers=admin_b).json()["items"] == []
    assert client.get(f"{LIST}/{made['id']}/events", headers=admin_b).status_code == 404
    # Another organisation's survey is no survey.
    refused = client.post(LIST, json={"survey_id": world.a.survey_id, "name": "x"}, headers=admin_b)
    assert refused.status_code == 422
    assert "no such survey" in refused.text


def test_bad_settings_are_refused_with_field_messages(
    app: FastAPI, client: TestClient, world: World
) -> None:
    admin = session_headers(app, world.a.users["admin"])
    for body, words in (
        ({"preset": "hubspot"}, "preset"),
        ({"preset": "generic", "mapping": {"name": "n"}}, "name the customer"),
        ({"preset": "generic", "mapping": {"email": "a..b"}}, "not a JSON path"),
        ({"delay_minutes": -5}, "delay_minutes"),
        ({"secret": "short"}, "secret"),
        ({"mapping": {"channel": "pigeon"}}, "must be one of email, sms"),
    ):
        answer = client.post(
            LIST, json={"survey_id": world.a.survey_id, "name": "x", **body}, headers=admin
        )
        assert answer.status_code == 422, (body, answer.text)
        assert words in answer.text


def test_zendesk_signed_event_invites_and_a_repeat_answers_the_first_outcome(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    admin = session_headers(app, world.a.users["admin"])
    key = "zendesk-signing-secret-abc"
    made = _create(client, admin, world.a.survey_id, preset="zendesk", secret=key)
    body = json.dumps(
        {
            "ticket": {
                "id": "4521",
                "status": "solved",
                "requester": {"email": "ana@example.com", "name": "Ana"},
                "assignee": {"name": "Bo"},
                "group": {"name": "Billing"},
            }
        }
    ).encode()
    stamp = "2026-12-06T14:05:00Z"
    headers = {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": _sign(key, stamp.encode() + body),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }
    first = client.post(_path(made), content=body, headers=headers)
    assert first.status_code == 202, first.text
    assert first.json()["outcome"] == "scheduled"
    assert first.json()["repeat"] is False
    again = client.post(_path(made), content=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["repeat"] is True
    assert again.json()["invitation_id"] == first.json()["invitation_id"]
    with db() as session:
        invitation = session.get(Invitation, first.json()["invitation_id"])
        assert invitation is not None
        assert invitation.organisation_id == world.a.id
        assert invitation.properties["agent"] == "Bo"
        assert invitation.properties["group"] == "Billing"
        assert session.scalar(select(func.count()).select_from(Invitation)) == 1
    events = client.get(f"{LIST}/{made['id']}/events", headers=admin).json()["items"]
    assert [(e["source_event_id"], e["outcome"]) for e in events] == [("ticket-4521", "scheduled")]
    forged = {**headers, "X-Zendesk-Webhook-Signature": _sign("guess", stamp.encode() + body)}
    refused = client.post(_path(made), content=body, headers=forged)
    assert refused.status_code == 401
    assert "X-Zendesk-Webhook-Signature" in refused.text


def test_shopify_fulfilled_order(app: FastAPI, client: TestClient, world: World) -> None:
    admin = session_headers(app, world.a.users["admin"])
    key = "shpss_0123456789abcdef"
    made = _create(client, admin, world.a.survey_id, preset="shopify", secret=key)
    order = {
        "id": 820982911946154508,
        "name": "#1001",
        "customer": {"email": "jon@example.com", "first_name": "Jon"},
        "line_items": [{"title": "Wool socks"}],
    }
    body = json.dumps(order).encode()
    headers = {
        "X-Shopify-Hmac-Sha256": _sign(key, body),
        "X-Shopify-Topic": "orders/fulfilled",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    }
    answer = client.post(_path(made), content=body, headers=headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["event_id"] == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    other_topic = client.post(
        _path(made),
        content=body,
        headers={**headers, "X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "2"},
    )
    assert other_topic.status_code == 200
    assert other_topic.json()["outcome"].startswith("ignored")


def test_public_errors_are_clear(app: FastAPI, client: TestClient, world: World) -> None:
    admin = session_headers(app, world.a.users["admin"])
    made = _create(
        client,
        admin,
        world.a.survey_id,
        preset="generic",
        mapping={"email": "customer.email", "event_id": "id"},
    )
    secret = {"Authorization": f"Bearer {made['secret']}"}
    unknown = client.post("/api/v1/inbound/no-such-token", json={}, headers=secret)
    assert unknown.status_code == 404
    assert client.post(_path(made), json={"id": "1"}).status_code == 401
    not_json = client.post(_path(made), content=b"{nope", headers=secret)
    assert not_json.status_code == 422
    assert "not JSON" in not_json.text
    missing = client.post(_path(made), json={"id": "1", "customer": {}}, headers=secret)
    assert missing.status_code == 422
    problem = missing.json()["detail"][0]
    assert problem["missing"] == ["the customer: customer.email"]
    bad_address = client.post(
        _path(made), json={"id": "2", "customer": {"email": "nobody"}}, headers=secret
    )
    assert bad_address.status_code == 422
    assert "email" in bad_address.text
    fine = client.post(
        _path(made), json={"id": "2", "customer": {"email": "kim@example.com"}}, headers=secret
    )
    assert fine.status_code == 202, fine.text
    client.patch(f"{LIST}/{made['id']}", json={"enabled": False}, headers=admin)
    disabled = client.post(_path(made), json={"id": "3"}, headers=secret)
    assert disabled.status_code == 403


def test_the_public_rate_limit_applies(engine: Engine, world: World) -> None:
    app = make_app(engine, public_burst=2, public_per_minute=1.0)
    with TestClient(app, base_url=BASE_URL) as client:
        codes = [client.post("/api/v1/inbound/whatever", json={}).status_code for _ in range(4)]
    assert codes[:2] == [404, 404]
    assert codes[2:] == [429, 429]
