"""Rules through API v1, on SQLite and PostgreSQL: made, read, changed and deleted within
the organisation, every problem of a document answered 422 on its own field, permissions
(viewers read, analysts and write keys change), and "test this rule" on the last answers of
its scope, with comments redacted and nothing recorded."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import AuditLog, RuleMatch
from cxpulse.store.responses import NewResponse, add_responses

from ..helpers import World, bearer, session_headers

URL = "/api/v1/rules"
DETRACTORS = {
    "name": "Unhappy email answers",
    "conditions": {"band": "dissatisfied", "segments": {"channel": "EMAIL"}},
    "actions": {"tag": ["unhappy"]},
}


def test_rule_lifecycle(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    analyst = session_headers(app, world.a.users["analyst"])
    created = client.post(URL, json=DETRACTORS, headers=analyst)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["conditions"] == {"band": ["dissatisfied"], "segments": {"channel": ["EMAIL"]}}
    assert rule["actions"] == {"tag": ["unhappy"]}
    assert rule["enabled"] is True
    assert rule["survey_id"] is None
    second = client.post(
        URL,
        json={**DETRACTORS, "name": "Survey only", "survey_id": world.a.survey_id},
        headers=bearer(world.a.write_key),
    )
    assert second.status_code == 201, second.text
    assert second.json()["position"] == rule["position"] + 1

    viewer = session_headers(app, world.a.users["viewer"])
    listed = client.get(URL, headers=viewer)
    assert listed.status_code == 200
    assert [r["name"] for r in listed.json()["items"]] == ["Unhappy email answers", "Survey only"]
    assert client.get(f"{URL}/{rule['id']}", headers=viewer).json()["name"] == rule["name"]

    changed = client.patch(
        f"{URL}/{rule['id']}", json={"enabled": False, "position": 9}, headers=analyst
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["enabled"], changed.json()["position"]) == (False, 9)
    assert changed.json()["conditions"] == rule["conditions"]
    assert client.delete(f"{URL}/{rule['id']}", headers=analyst).status_code == 204
    assert client.get(f"{URL}/{rule['id']}", headers=viewer).status_code == 404
    with db() as session:
        actions = session.scalars(
            select(AuditLog.action).where(AuditLog.entity == "rule").order_by(AuditLog.id)
        ).all()
    assert actions == ["create", "create", "update", "delete"]


def test_every_problem_is_answered_on_its_field(
    app: FastAPI, client: TestClient, world: World
) -> None:
    analyst = session_headers(app, world.a.users["analyst"])
    answer = client.post(
        URL,
        json={
            "name": "Broken",
            "survey_id": 987654,
            "conditions": {"band": ["angry"], "theme": "no-such-theme", "comment": "maybe"},
            "actions": {"case": {"priority": "asap"}, "email": {"addresses": ["not an address"]}},
        },
        headers=analyst,
    )
    assert answer.status_code == 422
    locs = {tuple(e["loc"]): e["msg"] for e in answer.json()["detail"]}
    assert set(locs) == {
        ("body", "survey_id"),
        ("body", "conditions", "band", 0),
        ("body", "conditions", "comment"),
        ("body", "actions", "case", "priority"),
        ("body", "actions", "email", "addresses", 0),
    }
    assert locs[("body", "survey_id")] == "no such survey"
    theme = client.post(
        URL, json={**DETRACTORS, "conditions": {"theme": ["no-such-theme"]}}, headers=analyst
    )
    assert theme.status_code == 422
    assert theme.json()["detail"] == [
        {
            "loc": ["body", "conditions", "theme", 0],
            "msg": "'no-such-theme' is not a theme of the taxonomy",
            "type": "value_error",
        }
    ]
    nothing = client.post(URL, json={"name": "Idle", "actions": {}}, headers=analyst)
    assert nothing.status_code == 422
    assert nothing.json()["detail"][0]["loc"] == ["body", "actions"]
    unknown = client.post(URL, json={**DETRACTORS, "colour": "red"}, headers=analyst)
    assert unknown.status_code == 422


def test_another_organisations_rule_survey_and_users_are_not_found(
    app: FastAPI, client: TestClient, world: World
) -> None:
    theirs = client.post(URL, json=DETRACTORS, headers=bearer(world.b.write_key))
    assert theirs.status_code == 201
    rule_id = theirs.json()["id"]
    mine = bearer(world.a.write_key)
    assert client.get(f"{URL}/{rule_id}", headers=mine).status_code == 404
    assert (
        client.patch(f"{URL}/{rule_id}", json={"enabled": False}, headers=mine).status_code == 404
    )
    assert client.delete(f"{URL}/{rule_id}", headers=mine).status_code == 404
    assert client.post(f"{URL}/{rule_id}/test", headers=mine).status_code == 404
    assert client.get(URL, headers=mine).json()["items"] == []
    other_survey = client.post(
        URL, json={**DETRACTORS, "survey_id": world.b.survey_id}, headers=mine
    )
    assert other_survey.status_code == 422
    other_user = client.post(
        URL,
        json={**DETRACTORS, "actions": {"email": {"user_ids": [world.b.users["owner"]]}}},
        headers=mine,
    )
    assert other_user.status_code == 422
    assert other_user.json()["detail"][0]["loc"] == ["body", "actions", "email", "user_ids", 0]


def test_permissions(app: FastAPI, client: TestClient, world: World) -> None:
    for role in ("viewer", "agent"):
        headers = session_headers(app, world.a.users[role])
        assert client.post(URL, json=DETRACTORS, headers=headers).status_code == 403
        assert client.post(f"{URL}/test", json={}, headers=headers).status_code == 403
        assert client.get(URL, headers=headers).status_code == 200
    assert client.post(URL, json=DETRACTORS, headers=bearer(world.a.read_key)).status_code == 403
    assert client.get(URL).status_code == 401


def test_testing_a_rule_evaluates_the_last_answers_and_records_nothing(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    with db() as session:
        add_responses(
            session,
            world.a.id,
            [
                NewResponse(
                    survey_id=world.a.survey_id,
                    score=1,
                    channel="Email",
                    comment="Call me on +46 70 123 45 67",
                )
            ],
        )
        session.commit()
    analyst = session_headers(app, world.a.users["analyst"])
    draft = client.post(
        f"{URL}/test", json={"conditions": DETRACTORS["conditions"]}, headers=analyst
    )
    assert draft.status_code == 200, draft.text
    found = draft.json()
    # The world's ten answers (scores 1..5, email on odd days) and the new one.
    assert found["evaluated"] == 11
    assert found["matched"] == 3  # scores 2 and 1 by email (days 1 and 5), and the new one
    newest = found["sample"][0]
    assert newest["score"] == 1
    assert "+46" not in newest["comment"]
    assert "[phone]" in newest["comment"]
    saved = client.post(URL, json=DETRACTORS, headers=analyst).json()
    again = client.post(f"{URL}/{saved['id']}/test", headers=analyst)
    assert again.status_code == 200
    assert again.json()["response_ids"] == found["response_ids"]
    bad = client.post(f"{URL}/test", json={"conditions": {"band": 3}}, headers=analyst)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "conditions", "band"]
    with db() as session:
        assert session.scalar(select(func.count()).select_from(RuleMatch)) == 0
