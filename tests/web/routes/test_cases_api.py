"""The follow-up case API on SQLite and PostgreSQL: opening, the inbox's views and paging,
changes, notes, replies, bulk changes, teams and settings, permissions, and the inbound
email door that accepts only an answer to a case's own email."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import AuditLog, CaseEvent, FollowUpCase, OutboxItem

from ..helpers import BASE_URL, World, bearer, make_app, session_headers


def _open(client: TestClient, key: str, response_id: int, **fields: object) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/cases", headers=bearer(key), json={"response_id": response_id, **fields}
    )
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_open_work_and_close_a_case(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    agent = session_headers(app, org.users["agent"])
    case = _open(
        client, org.write_key, org.response_id, priority="high", title="Late <b>parcel</b>"
    )
    assert case["state"] == "new"
    assert case["priority"] == "high"
    assert case["due_at"] is not None
    assert case["answer"]["comment"] == "comment 0"
    assert [event["kind"] for event in case["events"]] == ["created"]
    assert any(entry["kind"] == "answer" for entry in case["timeline"])
    again = client.post(
        "/api/v1/cases", headers=bearer(org.write_key), json={"response_id": org.response_id}
    )
    assert again.status_code == 409
    url = f"/api/v1/cases/{case['id']}"
    patched = client.patch(
        url, headers=agent, json={"state": "contacted", "assignee_user_id": org.users["agent"]}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["first_contact_at"] is not None
    refused = client.patch(url, headers=agent, json={"state": "resolved"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "resolution_reason"]
    note = client.post(f"{url}/notes", headers=agent, json={"body": "Called, left a message"})
    assert note.status_code == 201
    closed = client.patch(
        url, headers=agent, json={"state": "resolved", "resolution_reason": "Refunded"}
    )
    assert closed.json()["closed_at"] is not None
    assert [event["kind"] for event in closed.json()["events"]] == [
        "created",
        "assigned",
        "state",
        "note",
        "state",
    ]
    with db() as session:
        actions = session.scalars(select(AuditLog.action).where(AuditLog.entity == "case")).all()
        assert sorted(actions) == ["create", "note", "update", "update"]


def test_the_inbox_views_and_paging(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    ids = [org.response_id + n for n in range(6)]
    for response_id in ids:
        _open(client, org.write_key, response_id)
    agent = session_headers(app, org.users["agent"])
    first = client.get("/api/v1/cases?view=all&limit=4&sort=priority", headers=agent).json()
    assert len(first["items"]) == 4
    second = client.get(
        f"/api/v1/cases?view=all&limit=4&sort=priority&cursor={first['next_cursor']}", headers=agent
    ).json()
    assert second["next_cursor"] is None
    seen = [item["id"] for item in first["items"] + second["items"]]
    assert len(set(seen)) == 6
    bad = client.get("/api/v1/cases?sort=due&cursor=" + first["next_cursor"], headers=agent)
    assert bad.status_code == 422
    assert client.get("/api/v1/cases?cursor=bm9wZQ", headers=agent).status_code == 422
    client.patch(
        f"/api/v1/cases/{seen[0]}", headers=agent, json={"assignee_user_id": org.users["agent"]}
    )
    mine = client.get("/api/v1/cases?view=mine", headers=agent).json()["items"]
    assert [item["id"] for item in mine] == [seen[0]]
    keyed = client.get("/api/v1/cases?view=mine", headers=bearer(org.read_key))
    assert keyed.status_code == 422
    assert client.get("/api/v1/cases?view=overdue", headers=agent).json()["items"] == []
    assert client.get("/api/v1/cases?state=resolved", headers=agent).json()["items"] == []
    other = client.get("/api/v1/cases", headers=bearer(world.b.read_key)).json()
    assert other["items"] == []
    assert (
        client.get(f"/api/v1/cases/{seen[0]}", headers=bearer(world.b.read_key)).status_code == 404
    )


def test_bulk_changes(app: FastAPI, client: TestClient, world: World) -> None:
    org = world.a
    ids = [_open(client, org.write_key, org.response_id + n)["id"] for n in range(3)]
    agent = session_headers(app, org.users["agent"])
    done = client.post(
        "/api/v1/cases/bulk",
        headers=agent,
        json={
            "case_ids": [*ids, 10**9],
            "priority": "urgent",
            "assignee_user_id": org.users["agent"],
        },
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"updated": ids, "unchanged": [], "missing": [10**9]}
    refused = client.post(
        "/api/v1/cases/bulk", headers=agent, json={"case_ids": ids, "state": "wont_fix"}
    )
    assert refused.status_code == 422
    too_many = client.post(
        "/api/v1/cases/bulk",
        headers=agent,
        json={"case_ids": list(range(1, 502)), "priority": "low"},
    )
    assert too_many.status_code == 422


def test_permissions(app: FastAPI, client: TestClient, world: World) -> None:
    org = world.a
    case = _open(client, org.write_key, org.response_id)
    viewer = session_headers(app, org.users["viewer"])
    assert client.get("/api/v1/cases", headers=viewer).status_code == 403
    assert (
        client.get(f"/api/v1/cases/{case['id']}", headers=bearer(org.read_key)).status_code == 200
    )
    assert (
        client.patch(
            f"/api/v1/cases/{case['id']}", headers=bearer(org.read_key), json={"priority": "low"}
        ).status_code
        == 403
    )
    agent = session_headers(app, org.users["agent"])
    assert client.post("/api/v1/teams", headers=agent, json={"name": "Billing"}).status_code == 403
    assert (
        client.patch("/api/v1/case-settings", headers=agent, json={"timezone": "UTC"}).status_code
        == 403
    )


def test_teams_and_settings(app: FastAPI, client: TestClient, world: World) -> None:
    org = world.a
    admin = session_headers(app, org.users["admin"])
    team = client.post("/api/v1/teams", headers=admin, json={"name": "Billing"}).json()
    assert client.post("/api/v1/teams", headers=admin, json={"name": "billing"}).status_code == 409
    url = f"/api/v1/teams/{team['id']}/members"
    for role in ("agent", "analyst"):
        assert client.put(f"{url}/{org.users[role]}", headers=admin).status_code == 200
    assert client.put(f"{url}/{world.b.users['agent']}", headers=admin).status_code == 404
    listed = client.get("/api/v1/teams", headers=session_headers(app, org.users["agent"])).json()
    assert listed["items"][0]["member_ids"] == sorted([org.users["agent"], org.users["analyst"]])
    first = _open(client, org.write_key, org.response_id, team_id=team["id"])
    second = _open(client, org.write_key, org.response_id + 1, team_id=team["id"])
    assert {first["assignee_user_id"], second["assignee_user_id"]} == {
        org.users["agent"],
        org.users["analyst"],
    }
    assert client.delete(f"{url}/{org.users['agent']}", headers=admin).json()["member_ids"] == [
        org.users["analyst"]
    ]
    assert client.get("/api/v1/teams", headers=bearer(world.b.read_key)).json()["items"] == []
    settings = client.patch(
        "/api/v1/case-settings",
        headers=admin,
        json={
            "timezone": "Europe/Amsterdam",
            "business_hours": {"days": [0, 1, 2, 3, 4, 5], "start": "08:30", "end": "18:00"},
            "sla_hours": {"urgent": 2},
        },
    )
    assert settings.status_code == 200, settings.text
    assert settings.json()["sla_hours"] == {"urgent": 2.0, "high": 8.0, "normal": 24.0, "low": 72.0}
    assert settings.json()["business_hours"]["start"] == "08:30"
    for body, loc in (
        ({"timezone": "Mars/Base"}, ["body", "timezone"]),
        ({"sla_hours": {"urgent": 0}}, ["body", "sla_hours", "urgent"]),
        (
            {"business_hours": {"days": [1], "start": "18:00", "end": "08:00"}},
            ["body", "business_hours", "end"],
        ),
    ):
        refused = client.patch("/api/v1/case-settings", headers=admin, json=body)
        assert refused.status_code == 422, body
        assert refused.json()["detail"][0]["loc"] == loc
    assert (
        client.get("/api/v1/case-settings", headers=bearer(world.b.read_key)).json()["timezone"]
        == "UTC"
    )
    assert client.delete(f"/api/v1/teams/{team['id']}", headers=admin).status_code == 204


def test_a_reply_and_the_customers_answer_through_the_inbound_door(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    agent = session_headers(app, org.users["agent"])
    case = _open(client, org.write_key, org.response_id)
    sent = client.post(
        f"/api/v1/cases/{case['id']}/replies", headers=agent, json={"body": "Sorry about that."}
    )
    assert sent.status_code == 202, sent.text
    assert sent.json()["state"] == "contacted"
    with db() as session:
        out = session.scalars(select(CaseEvent).where(CaseEvent.kind == "email_out")).one()
        token = session.scalars(
            select(OutboxItem.payload).where(OutboxItem.kind == "case-reply")
        ).one()
        assert token == {"case_id": case["id"], "event_id": out.id}
        row = session.get(FollowUpCase, case["id"])
        assert row is not None
        reply_token = row.reply_token
    address = f"reply+{reply_token}@cxpulse.invalid"
    answer = client.post(
        "/api/v1/cases/inbound-email",
        json={
            "from": "c1@example.com",
            "to": address,
            "subject": "Re",
            "text": "Thanks!",
            "message-id": "<m1@x>",
            "in-reply-to": out.message_id,
        },
    )
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": True, "duplicate": False}
    form = client.post(
        "/api/v1/cases/inbound-email",
        data={
            "sender": "c1@example.com",
            "recipient": address,
            "body-plain": "Thanks!",
            "headers": f"Message-ID: <m1@x>\nIn-Reply-To: {out.message_id}\n",
        },
    )
    assert form.json() == {"accepted": True, "duplicate": True}
    wrong = client.post(
        "/api/v1/cases/inbound-email", json={"to": address, "in-reply-to": "<guess@x>", "text": "x"}
    )
    assert wrong.status_code == 403
    unknown = client.post(
        "/api/v1/cases/inbound-email",
        json={"to": "reply+" + "a" * 32 + "@x", "in-reply-to": out.message_id},
    )
    assert unknown.status_code == 404
    assert client.post("/api/v1/cases/inbound-email", json={"to": address}).status_code == 422
    assert (
        client.post(
            "/api/v1/cases/inbound-email",
            content=b"[1]",
            headers={"content-type": "application/json"},
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/api/v1/cases/inbound-email",
            content=b"\xff",
            headers={"content-type": "application/json"},
        ).status_code
        == 422
    )
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=agent).json()
    assert [event["kind"] for event in detail["events"]][-1] == "email_in"
    assert "case_email_in" in [entry["kind"] for entry in detail["timeline"]]


@pytest.mark.parametrize(
    "body",
    [
        {"response_id": 0},
        {"response_id": 1, "priority": "critical"},
        {"response_id": 1, "extra": 1},
    ],
)
def test_bad_bodies_are_422(client: TestClient, world: World, body: dict[str, object]) -> None:
    assert (
        client.post("/api/v1/cases", headers=bearer(world.a.write_key), json=body).status_code
        == 422
    )


def test_the_inbound_email_door_is_rate_limited_per_address(engine: Engine) -> None:
    app = make_app(engine, public_burst=2, public_per_minute=1.0)
    with TestClient(app, base_url=BASE_URL) as client:
        body = {"to": "reply+nothing@cx.example", "in-reply-to": "<x@cx.example>", "text": "hi"}
        answers = [client.post("/api/v1/cases/inbound-email", json=body) for _ in range(3)]
    # The first two reach the check of the reply address (no such case); the third is
    # refused before any work.
    assert [a.status_code for a in answers[:2]] == [404, 404]
    assert answers[2].status_code == 429
    assert int(answers[2].headers["Retry-After"]) >= 1
