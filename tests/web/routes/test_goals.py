"""Goals and report schedules through API v1, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act.goals import add_months
from cxpulse.store.models import OutboxItem
from cxpulse.store.responses import NewResponse, add_responses

from ..helpers import World, bearer, session_headers


def _goals(survey_id: int) -> str:
    return f"/api/v1/surveys/{survey_id}/goals"


def _schedule(survey_id: int) -> str:
    return f"/api/v1/surveys/{survey_id}/report-schedule"


def _recent_answers(db: sessionmaker[Session], world: World, scores: list[int]) -> None:
    """Answers from the last days, so that "today's value" exists."""
    now = datetime.now(UTC)
    with db() as session:
        add_responses(
            session,
            world.a.id,
            [
                NewResponse(
                    survey_id=world.a.survey_id,
                    score=s,
                    submitted_at=now - timedelta(days=1 + i % 3, hours=1),
                    channel="email",
                )
                for i, s in enumerate(scores)
            ],
        )
        session.commit()


def test_goal_lifecycle_with_todays_baseline(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    _recent_answers(db, world, [5, 5, 5, 4, 2, 1, 5, 4])  # CSAT 6/8 = 75%
    analyst = session_headers(app, world.a.users["analyst"])
    url = _goals(world.a.survey_id)
    created = client.post(
        url, json={"name": "CSAT to 85", "target": 85, "months": 3}, headers=analyst
    )
    assert created.status_code == 201, created.text
    goal = created.json()
    today = datetime.now(UTC).date()
    assert goal["baseline"] == pytest.approx(75.0)
    assert goal["baseline_date"] == today.isoformat()
    assert goal["due_date"] == add_months(today, 3).isoformat()
    assert goal["current"] == pytest.approx(75.0)
    assert goal["current_n"] == 8
    assert goal["progress"] == pytest.approx(0.0)
    assert goal["metric"] == "csat"
    assert goal["forecast"]["status"] in {"not enough data", "on track", "at risk", "off track"}

    six = client.post(
        url,
        json={"name": "Email CSAT", "target": 90, "months": 6, "segment": {"channel": "email"}},
        headers=bearer(world.a.write_key),
    )
    assert six.status_code == 201, six.text
    assert six.json()["due_date"] == add_months(today, 6).isoformat()

    viewer = session_headers(app, world.a.users["viewer"])
    listed = client.get(url, headers=viewer)
    assert listed.status_code == 200
    assert [g["name"] for g in listed.json()["items"]] == ["CSAT to 85", "Email CSAT"]
    one = client.get(f"{url}/{goal['id']}", headers=bearer(world.a.read_key))
    assert one.json()["name"] == "CSAT to 85"

    changed = client.patch(f"{url}/{goal['id']}", json={"target": 80}, headers=analyst)
    assert changed.status_code == 200, changed.text
    assert changed.json()["target"] == 80
    assert changed.json()["progress"] == pytest.approx(0.0)
    assert changed.json()["name"] == "CSAT to 85"

    admin = session_headers(app, world.a.users["admin"])
    assert client.delete(f"{url}/{goal['id']}", headers=admin).status_code == 204
    assert client.get(f"{url}/{goal['id']}", headers=admin).status_code == 404


def test_goal_permissions_and_isolation(app: FastAPI, client: TestClient, world: World) -> None:
    url = _goals(world.a.survey_id)
    body = {"name": "x", "target": 90, "baseline": 70, "months": 3}
    viewer = session_headers(app, world.a.users["viewer"])
    agent = session_headers(app, world.a.users["agent"])
    assert client.post(url, json=body, headers=viewer).status_code == 403
    assert client.post(url, json=body, headers=agent).status_code == 403
    assert client.post(url, json=body, headers=bearer(world.a.read_key)).status_code == 403
    assert client.get(url).status_code == 401
    created = client.post(url, json=body, headers=bearer(world.a.write_key))
    assert created.status_code == 201
    goal_id = created.json()["id"]
    assert client.delete(f"{url}/{goal_id}", headers=viewer).status_code == 403

    # Organisation B sees neither A's survey nor A's goal, whichever way it asks.
    other = bearer(world.b.write_key)
    assert client.get(url, headers=other).status_code == 404
    assert client.get(f"{url}/{goal_id}", headers=other).status_code == 404
    assert client.post(url, json=body, headers=other).status_code == 404
    assert client.patch(f"{url}/{goal_id}", json={"target": 1}, headers=other).status_code == 404
    assert client.delete(f"{url}/{goal_id}", headers=other).status_code == 404
    # ... nor through its own survey's path.
    own = _goals(world.b.survey_id)
    assert client.get(f"{own}/{goal_id}", headers=other).status_code == 404
    assert client.get(own, headers=other).json() == {"items": []}
    assert client.get(f"{url}/{goal_id}", headers=bearer(world.a.read_key)).status_code == 200


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"target": 80, "months": 3, "baseline": 70}, ["body", "name"]),
        ({"name": "x", "target": "high", "months": 3, "baseline": 70}, ["body", "target"]),
        ({"name": "x", "target": 180, "months": 3, "baseline": 70}, ["body", "target"]),
        ({"name": "x", "target": 80, "months": 99, "baseline": 70}, ["body", "months"]),
        ({"name": "x", "target": 80, "baseline": 70}, ["body", "due_date"]),
        (
            {"name": "x", "target": 80, "due_date": "2020-01-01", "baseline": 70},
            ["body", "due_date"],
        ),
        ({"name": "x", "target": 80, "due_date": "soon", "baseline": 70}, ["body", "due_date"]),
        ({"name": "x", "target": 70, "months": 3, "baseline": 70}, ["body", "target"]),
        ({"name": "x", "target": 80, "months": 3}, ["body", "baseline"]),
        (
            {"name": "x", "target": 80, "months": 3, "baseline": 7, "segment": {"x": "y"}},
            ["body", "segment"],
        ),
        (
            {"name": "x", "target": 80, "months": 3, "baseline": 7, "colour": "red"},
            ["body", "colour"],
        ),
    ],
)
def test_goal_input_errors_name_the_field(
    client: TestClient, world: World, body: dict[str, Any], loc: list[str]
) -> None:
    answer = client.post(_goals(world.a.survey_id), json=body, headers=bearer(world.a.write_key))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == loc
    assert answer.json()["detail"][0]["msg"]


def test_goal_update_errors(client: TestClient, world: World) -> None:
    url = _goals(world.a.survey_id)
    headers = bearer(world.a.write_key)
    goal = client.post(
        url, json={"name": "x", "target": 80, "baseline": 70, "months": 3}, headers=headers
    ).json()
    same = client.patch(f"{url}/{goal['id']}", json={"target": 70}, headers=headers)
    assert same.status_code == 422
    assert same.json()["detail"][0]["loc"] == ["body", "target"]
    blank = client.patch(f"{url}/{goal['id']}", json={"name": None}, headers=headers)
    assert blank.status_code == 422
    assert blank.json()["detail"][0]["loc"] == ["body", "name"]
    assert client.get(f"{url}/{goal['id']}", headers=headers).json()["target"] == 80
    assert client.get(f"{url}/0", headers=headers).status_code == 422


def test_a_survey_with_goals_keeps_its_metric(client: TestClient, world: World) -> None:
    survey_url = f"/api/v1/surveys/{world.a.survey_id}"
    headers = bearer(world.a.write_key)
    made = client.post(
        _goals(world.a.survey_id),
        json={"name": "x", "metric": "dsat", "target": 10, "baseline": 20, "months": 3},
        headers=headers,
    )
    assert made.status_code == 201
    assert made.json()["metric"] == "dsat"
    refused = client.patch(survey_url, json={"metric": "mean"}, headers=headers)
    assert refused.status_code == 409
    assert "goal" in refused.text
    assert client.get(survey_url, headers=headers).json()["metric"] == "csat"
    # The same metric again is no change.
    assert client.patch(survey_url, json={"metric": "csat"}, headers=headers).status_code == 200
    client.delete(f"{_goals(world.a.survey_id)}/{made.json()['id']}", headers=headers)
    assert client.patch(survey_url, json={"metric": "mean"}, headers=headers).status_code == 200


def test_report_schedule(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    url = _schedule(world.a.survey_id)
    analyst = session_headers(app, world.a.users["analyst"])
    assert client.get(url, headers=analyst).status_code == 404
    body = {"emails": ["cx@example.com", "Boss@Example.com", "cx@example.com"]}
    put = client.put(url, json=body, headers=analyst)
    assert put.status_code == 200, put.text
    schedule = put.json()
    assert schedule["emails"] == ["cx@example.com", "boss@example.com"]  # one canonical form
    assert schedule["active"] is True
    this_month = datetime.now(UTC).date().replace(day=1)
    last_month = (this_month - timedelta(days=1)).strftime("%Y-%m")
    assert schedule["last_month_sent"] == last_month
    again = client.put(url, json={"emails": ["new@example.com"], "active": False}, headers=analyst)
    assert again.json()["id"] == schedule["id"]
    assert again.json()["emails"] == ["new@example.com"]
    viewer = session_headers(app, world.a.users["viewer"])
    assert client.get(url, headers=viewer).json()["active"] is False
    assert client.put(url, json=body, headers=viewer).status_code == 403

    bad = client.put(url, json={"emails": ["ok@example.com", "not an address"]}, headers=analyst)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][:2] == ["body", "emails"]
    empty = client.put(url, json={"emails": []}, headers=analyst)
    assert empty.status_code == 422
    language = client.put(url, json={"emails": ["a@b.se"], "language": "xx"}, headers=analyst)
    assert language.json()["detail"][0]["loc"] == ["body", "language"]

    other = bearer(world.b.write_key)
    assert client.get(url, headers=other).status_code == 404
    assert client.put(url, json=body, headers=other).status_code == 404
    assert client.delete(url, headers=other).status_code == 404

    assert client.delete(url, headers=analyst).status_code == 204
    assert client.get(url, headers=analyst).status_code == 404
    with db() as session:
        # No report email queued (the answers' own events are other kinds).
        assert session.scalars(select(OutboxItem).where(OutboxItem.kind == "report")).all() == []


def test_goals_appear_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    operations = {
        operation["operationId"]
        for path in paths.values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    assert {"createGoal", "listGoals", "getGoal", "updateGoal", "deleteGoal"} <= operations


def test_a_goal_beyond_the_history_says_why_it_has_no_forecast(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    _recent_answers(db, world, [5, 5, 5, 4, 2, 1, 5, 4])  # a few days of answers only
    analyst = session_headers(app, world.a.users["analyst"])
    made = client.post(
        _goals(world.a.survey_id),
        json={"name": "CSAT to 85", "target": 85, "months": 12},
        headers=analyst,
    )
    assert made.status_code == 201, made.text
    forecast = made.json()["forecast"]
    assert forecast["status"] == "not enough data"
    assert forecast["value"] is None
    # One or two ISO weeks, depending on the weekday the test runs.
    assert forecast["reason"].startswith("not enough data to forecast: ")
    assert forecast["reason"].endswith("with answers, a forecast needs at least 4")
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ForecastOut"]
    assert "reason" in schema["properties"]
