"""Scores through API v1: the CLI's row shape, equal to a direct count."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import Response

from ..helpers import World, bearer

ROW_KEYS = {"group", "value", "ci_low", "ci_high", "n", "counts", "too_small", "level", "method"}


def _scores(db: sessionmaker[Session], survey_id: int) -> list[tuple[float, str | None, str]]:
    with db() as session:
        rows = session.execute(
            select(Response.score, Response.channel, Response.submitted_at).where(
                Response.survey_id == survey_id
            )
        ).all()
        return [(score, channel, at.strftime("%Y-%m")) for score, channel, at in rows]


def _csat(scores: list[float]) -> float:
    return 100 * sum(1 for s in scores if s >= 4) / len(scores)


def test_metrics_equal_a_direct_count(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/metrics"
    answer = client.get(
        url, params=[("group_by", "channel"), ("period", "month")], headers=bearer(org.read_key)
    )
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["metric"] == "csat"
    assert document["level"] == 0.95
    rows = document["rows"]
    assert all(set(row) >= ROW_KEYS for row in rows)
    stored = _scores(db, org.survey_id)
    overall = rows[0]
    assert overall["group"] == {}
    assert overall["n"] == len(stored)
    assert overall["value"] == _csat([s for s, _, _ in stored])
    assert overall["too_small"] is True
    groups = Counter((month, channel) for _, channel, month in stored)
    by_group = {(r["group"]["month"], r["group"]["channel"]): r for r in rows[1:]}
    assert set(by_group) == set(groups)
    for (month, channel), n in groups.items():
        row = by_group[(month, channel)]
        assert row["n"] == n
        chosen = [s for s, c, m in stored if (m, c) == (month, channel)]
        assert row["value"] == _csat(chosen)
        assert row["counts"]["satisfied"] == sum(1 for s in chosen if s >= 4)
        assert row["ci_low"] <= row["value"] <= row["ci_high"]


def test_metrics_filters_and_segments(client: TestClient, world: World) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/metrics"
    headers = bearer(org.read_key)

    def n(**params: Any) -> int:
        answer = client.get(url, params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        count: int = answer.json()["rows"][0]["n"]
        return count

    assert n() == 10
    assert n(channel="email") == 5
    assert n(start="2025-01-03", end="2025-01-05") == 2
    assert n(**{"property.team": "tech"}) == 4
    assert n(**{"contact.plan": "pro"}) == 3
    assert n(language="xx") == 0

    grouped = client.get(
        url, params=[("group_by", "property:team"), ("group_by", "contact:plan")], headers=headers
    ).json()
    groups = {
        (r["group"]["property:team"], r["group"]["contact:plan"]): r["n"]
        for r in grouped["rows"][1:]
    }
    assert sum(groups.values()) == 10
    assert groups[("tech", "pro")] == 1  # n = 0
    assert groups[("billing", "pro")] == 2  # n = 4, 8
    assert groups[("tech", None)] == 3  # n = 3, 6, 9

    wider = client.get(url, params={"level": 0.99, "min_n": 5}, headers=headers).json()
    assert wider["level"] == 0.99
    assert wider["min_n"] == 5
    assert wider["rows"][0]["too_small"] is False


def test_metrics_input_errors(client: TestClient, world: World) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/metrics"
    headers = bearer(org.read_key)
    cases: list[tuple[dict[str, str | float], list[str]]] = [
        ({"group_by": "colour"}, ["query", "group_by"]),
        ({"period": "fortnight"}, ["query", "period"]),
        ({"level": 1.5}, ["query", "level"]),
        ({"start": "someday"}, ["query", "start"]),
        ({"group_by": "property:"}, ["query", "group_by"]),
    ]
    for params, loc in cases:
        answer = client.get(url, params=params, headers=headers)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["detail"][0]["loc"] == loc
    assert client.get("/api/v1/surveys/424242/metrics", headers=headers).status_code == 404
