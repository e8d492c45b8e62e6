"""Alerts through API v1 (list, read, close), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import alerts
from cxpulse.store.models import AuditLog

from ..helpers import World, bearer, session_headers

DROP = {
    "kind": "score-drop",
    "segment": "channel=email",
    "day": "2026-11-20",
    "baseline_start": "2026-10-23",
    "recent_start": "2026-11-20",
    "change": -31.5,
    "ci_low": -44.2,
    "ci_high": -18.9,
    "level": 0.99,
    "p_value": 1.2e-7,
    "n_before": 1680,
    "n_after": 60,
    "explanation": "CSAT in channel=email went from 84.0 to 52.5",
}


def _raise(db: sessionmaker[Session], org_id: int, survey_id: int, key: str, **extra: Any) -> int:
    with db() as session:
        recorded = alerts.record_detection(
            session,
            org_id,
            survey_id=survey_id,
            kind=str(extra.pop("kind", "score-drop")),
            key=key,
            title=f"CSAT dropped ({key})",
            details={**DROP, **extra},
            quiet_days=3,
        )
        assert recorded is not None
        session.commit()
        return recorded.alert.id


def test_list_read_and_close_alerts(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a, b = world.a, world.b
    first = _raise(db, a.id, a.survey_id, "score-drop:1")
    second = _raise(
        db, a.id, a.survey_id, "theme-spike:1:delivery", kind="theme-spike", theme_key="delivery"
    )
    theirs = _raise(db, b.id, b.survey_id, "score-drop:2")
    reader = bearer(a.read_key)
    listed = client.get("/api/v1/alerts", headers=reader)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [item["id"] for item in body["items"]] == [second, first]
    assert body["next_before"] is None
    item = body["items"][1]
    assert item["segment"] == "channel=email"
    assert item["change"] == -31.5
    assert (item["ci_low"], item["ci_high"], item["n_before"], item["n_after"]) == (
        -44.2,
        -18.9,
        1680,
        60,
    )
    assert item["explanation"].startswith("CSAT in channel=email")
    url = item["dashboard_url"]
    assert url.startswith(f"/app/surveys/{a.survey_id}?")
    for part in ("from=2026-10-23", "to=2026-11-20", "grain=day", "channel=email"):
        assert part in url
    spike = body["items"][0]["dashboard_url"]
    assert spike.startswith(f"/app/surveys/{a.survey_id}/responses?")
    assert "theme=delivery" in spike
    # Filters and pages.
    page = client.get("/api/v1/alerts?limit=1", headers=reader).json()
    assert [i["id"] for i in page["items"]] == [second]
    assert page["next_before"] == second
    rest = client.get(f"/api/v1/alerts?limit=1&before={second}", headers=reader).json()
    assert [i["id"] for i in rest["items"]] == [first]
    kinds = client.get("/api/v1/alerts?kind=theme-spike", headers=reader).json()
    assert [i["id"] for i in kinds["items"]] == [second]
    assert client.get("/api/v1/alerts?state=closed", headers=reader).json()["items"] == []
    # Another organisation's alert does not exist here.
    assert client.get(f"/api/v1/alerts/{theirs}", headers=reader).status_code == 404
    assert client.get(f"/api/v1/alerts/{first}", headers=reader).json()["id"] == first
    # Closing needs the right to change surveys.
    viewer = session_headers(app, a.users["viewer"])
    assert client.post(f"/api/v1/alerts/{first}/close", headers=viewer).status_code == 403
    assert (
        client.post(f"/api/v1/alerts/{theirs}/close", headers=bearer(a.write_key)).status_code
        == 404
    )
    analyst = session_headers(app, a.users["analyst"])
    closed = client.post(f"/api/v1/alerts/{first}/close", headers=analyst)
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "closed"
    assert closed.json()["closed_at"] is not None
    again = client.post(f"/api/v1/alerts/{first}/close", headers=analyst)
    assert again.status_code == 200
    listed_closed = client.get("/api/v1/alerts?state=closed", headers=reader).json()
    assert [i["id"] for i in listed_closed["items"]] == [first]
    with db() as session:
        entries = session.scalars(
            select(AuditLog.entity_id).where(AuditLog.entity == "alert", AuditLog.action == "close")
        ).all()
    assert entries == [str(first)]


def test_bad_filters_are_field_errors(client: TestClient, world: World) -> None:
    reader = bearer(world.a.read_key)
    for query in ("state=maybe", "kind=storm", "limit=0", "limit=201", "before=0", "survey_id=x"):
        answer = client.get(f"/api/v1/alerts?{query}", headers=reader)
        assert answer.status_code == 422, query
    assert client.get("/api/v1/alerts/0", headers=reader).status_code == 422
    assert client.get("/api/v1/alerts").status_code == 401
