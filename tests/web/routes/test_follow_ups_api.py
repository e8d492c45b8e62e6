"""The follow-up questions API on the real app and both databases: make, list, change,
order and delete questions; 422s naming each field; permissions as surveys'; results with
intervals and n; what drives the score (key_drivers' figures, reasons, 4xx); a response's
answers; nothing across organisations."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect import follow_up_changes
from cxpulse.report import follow_up_drivers
from cxpulse.store import responses
from cxpulse.text.key_drivers import key_drivers

from ..helpers import World, bearer

DELIVERY: dict[str, Any] = {
    "kind": "rating",
    "key": "delivery",
    "labels": {"en": "How was the delivery?", "sv": "Hur var leveransen?"},
}
FOUND_US: dict[str, Any] = {
    "kind": "choice",
    "key": "found_us",
    "labels": {"en": "How did you find us?"},
    "choices": [
        {"key": "friend", "labels": {"en": "A friend"}},
        {"key": "search", "labels": {"en": "Search"}},
    ],
}


def test_questions_are_made_listed_changed_ordered_and_deleted(
    client: TestClient, world: World
) -> None:
    a = world.a
    key = bearer(a.write_key)
    base = f"/api/v1/surveys/{a.survey_id}/questions"
    made = client.post(base, json=DELIVERY, headers=key)
    assert made.status_code == 201, made.text
    delivery = made.json()
    assert (delivery["scale_low"], delivery["scale_high"], delivery["position"]) == (1, 5, 0)
    found_us = client.post(base, json=FOUND_US, headers=key).json()
    assert found_us["choices"][1] == {"key": "search", "labels": {"en": "Search"}}

    listed = client.get(base, headers=bearer(a.read_key)).json()["items"]
    assert [q["key"] for q in listed] == ["delivery", "found_us"]
    assert client.get(f"{base}/{delivery['id']}", headers=key).json()["key"] == "delivery"

    changed = client.patch(
        f"{base}/{delivery['id']}", json={"scale_low": 0, "scale_high": 10}, headers=key
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["scale_high"], changed.json()["labels"]["sv"]) == (
        10,
        "Hur var leveransen?",
    )

    order = client.put(f"{base}/order", json={"ids": [found_us["id"], delivery["id"]]}, headers=key)
    assert order.status_code == 200, order.text
    assert [q["key"] for q in order.json()["items"]] == ["found_us", "delivery"]
    wrong_order = client.put(f"{base}/order", json={"ids": [delivery["id"]]}, headers=key)
    assert wrong_order.status_code == 422
    assert wrong_order.json()["detail"][0]["loc"] == ["body", "ids"]

    assert client.delete(f"{base}/{delivery['id']}", headers=key).status_code == 204
    assert [q["key"] for q in client.get(base, headers=key).json()["items"]] == ["found_us"]
    assert client.get(f"{base}/{delivery['id']}", headers=key).status_code == 404


def test_bad_questions_are_422s_naming_each_field(client: TestClient, world: World) -> None:
    a = world.a
    key = bearer(a.write_key)
    base = f"/api/v1/surveys/{a.survey_id}/questions"
    bad = client.post(
        base,
        json={
            "kind": "choice",
            "key": "Found us",
            "labels": {"sv": "Hur?", "xx": "?"},
            "choices": [{"key": "a", "labels": {"en": "A"}}, {"key": "a", "labels": {"en": "B"}}],
        },
        headers=key,
    )
    assert bad.status_code == 422
    locs = {tuple(e["loc"]) for e in bad.json()["detail"]}
    assert locs == {
        ("body", "key"),
        ("body", "labels", "xx"),
        ("body", "labels", "en"),
        ("body", "choices", 1, "key"),
    }
    assert client.post(base, json={**DELIVERY, "scale_high": "5"}, headers=key).status_code == 422
    assert client.post(base, json={**DELIVERY, "extra": 1}, headers=key).status_code == 422
    for n in range(5):
        assert client.post(base, json={**DELIVERY, "key": f"q{n}"}, headers=key).status_code == 201
    full = client.post(base, json={**DELIVERY, "key": "q9"}, headers=key)
    assert full.status_code == 422
    assert full.json()["detail"][0]["loc"] == ["body", "survey"]


def test_permissions_as_surveys_and_organisations_apart(
    app: Any, client: TestClient, world: World
) -> None:
    a, b = world.a, world.b
    base = f"/api/v1/surveys/{a.survey_id}/questions"
    made = client.post(base, json=DELIVERY, headers=bearer(a.write_key)).json()
    assert client.post(base, json=FOUND_US, headers=bearer(a.read_key)).status_code == 403
    assert client.delete(f"{base}/{made['id']}", headers=bearer(a.read_key)).status_code == 403
    assert client.get(base, headers=bearer(a.read_key)).status_code == 200
    assert client.get(f"{base}/scores", headers=bearer(a.read_key)).status_code == 200
    # Another organisation: its own key sees nothing of A's, under A's ids or its own.
    other = bearer(b.write_key)
    assert client.get(base, headers=other).status_code == 404
    assert client.get(f"{base}/{made['id']}", headers=other).status_code == 404
    assert client.patch(f"{base}/{made['id']}", json={"key": "x"}, headers=other).status_code == 404
    assert client.delete(f"{base}/{made['id']}", headers=other).status_code == 404
    foreign = f"/api/v1/surveys/{b.survey_id}/questions/{made['id']}"
    assert client.get(foreign, headers=other).status_code == 404
    assert (
        client.get(f"/api/v1/responses/{a.response_id}/answers", headers=other).status_code == 404
    )


def test_scores_and_a_responses_answers(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    key = bearer(a.write_key)
    base = f"/api/v1/surveys/{a.survey_id}/questions"
    client.post(base, json=DELIVERY, headers=key)
    client.post(base, json=FOUND_US, headers=key)
    with db() as session:
        follow_up_changes.record_answers(
            session, a.id, a.response_id, {"delivery": "5", "found_us": "friend"}
        )
        session.commit()
    answers = client.get(f"/api/v1/responses/{a.response_id}/answers", headers=key)
    assert answers.status_code == 200, answers.text
    assert [(x["key"], x["score"], x["choice"]) for x in answers.json()["items"]] == [
        ("delivery", 5.0, None),
        ("found_us", None, "friend"),
    ]
    # The world's answers are of January 2025: outside the default 90 days.
    recent = client.get(f"{base}/scores", headers=key).json()
    assert [item["n"] for item in recent["items"]] == [0, 0]
    assert recent["items"][0]["top_box"]["value"] is None
    scores = client.get(f"{base}/scores", params={"since": "2025-01-01"}, headers=key)
    assert scores.status_code == 200, scores.text
    rating, choice = scores.json()["items"]
    assert rating["n"] == 1
    assert rating["top_box"]["value"] == 100.0
    assert rating["top_box"]["ci_low"] < 100
    assert rating["top_box"]["too_small"] is True
    assert rating["mean"]["value"] == 5.0
    assert [(c["key"], c["count"], c["share"]) for c in choice["choices"]] == [
        ("friend", 1, 100.0),
        ("search", 0, 0.0),
    ]
    assert 0 < choice["choices"][0]["ci_low"] < 100
    bad = client.get(
        f"{base}/scores", params={"since": "2026-01-01", "until": "2025-01-01"}, headers=key
    )
    assert bad.status_code == 422


def _rated_responses(
    db: sessionmaker[Session], org: int, survey_id: int, count: int
) -> list[tuple[float, float, float]]:
    """``count`` responses of the last hours, each rating delivery and support (the score
    follows delivery more); returned latest first, as the analysis reads them."""
    rng = random.Random(11)
    rows = []
    for _ in range(count):
        delivery, support = rng.randint(1, 5), rng.randint(1, 5)
        score = min(5, max(1, round(0.7 * delivery + 0.3 * support + rng.gauss(0, 0.7))))
        rows.append((float(score), float(delivery), float(support)))
    now = datetime.now(UTC)
    with db() as session:
        stored = responses.add_responses(
            session,
            org,
            [
                responses.NewResponse(
                    survey_id=survey_id, score=row[0], submitted_at=now - timedelta(hours=n + 1)
                )
                for n, row in enumerate(rows)
            ],
        )
        for held, row in zip(stored, rows, strict=True):
            follow_up_changes.record_answers(
                session, org, held[0].id, {"delivery": f"{row[1]:g}", "support": f"{row[2]:g}"}
            )
        session.commit()
    return rows


def test_what_drives_the_score_is_key_drivers_on_the_complete_answers(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    key = bearer(a.write_key)
    base = f"/api/v1/surveys/{a.survey_id}/questions"
    none_yet = client.get(f"{base}/drivers", headers=bearer(a.read_key))
    assert none_yet.status_code == 200, none_yet.text
    assert (none_yet.json()["reason"], none_yet.json()["rows"]) == ("few_questions", [])
    for raw in (DELIVERY, {**DELIVERY, "key": "support", "labels": {"en": "Support?"}}):
        assert client.post(base, json=raw, headers=key).status_code == 201
    rows = _rated_responses(db, a.id, a.survey_id, 36)

    found = client.get(f"{base}/drivers", params={"level": 0.9}, headers=bearer(a.read_key))
    assert found.status_code == 200, found.text
    body = found.json()
    data = np.array(rows)
    expected = key_drivers(
        data[:, 0],
        {"delivery": data[:, 1], "support": data[:, 2]},
        level=0.9,
        bootstrap=follow_up_drivers.BOOTSTRAP,
        seed=follow_up_drivers.SEED,
    )
    assert (body["n"], body["left_out"], body["reason"], body["level"]) == (36, 0, None, 0.9)
    assert (body["r_squared"], body["ci_low"], body["ci_high"]) == pytest.approx(
        (expected.r_squared, expected.r_squared_ci_low, expected.r_squared_ci_high)
    )
    assert [row["key"] for row in body["rows"]] == [row.name for row in expected.rows]
    for row in body["rows"]:
        want = expected.row(row["key"])
        assert (row["weight"], row["weight_low"], row["weight_high"]) == pytest.approx(
            (want.weight, want.weight_ci_low, want.weight_ci_high)
        )
        assert (row["shapley"], row["share"], row["correlation"], row["mean"]) == pytest.approx(
            (want.shapley, want.share, want.correlation, want.mean)
        )
    # Before the answers' hours: none complete, a reason and no rows.
    early = client.get(f"{base}/drivers", params={"until": "2025-06-01"}, headers=key).json()
    assert (early["n"], early["reason"], early["rows"]) == (0, "few_answers", [])


def test_drivers_refuse_bad_windows_and_other_organisations(
    client: TestClient, world: World
) -> None:
    a, b = world.a, world.b
    key = bearer(a.read_key)
    url = f"/api/v1/surveys/{a.survey_id}/questions/drivers"
    backwards = client.get(url, params={"since": "2026-01-01", "until": "2025-01-01"}, headers=key)
    assert backwards.status_code == 422
    assert backwards.json()["detail"][0]["loc"] == ["query", "since"]
    for params in ({"since": "soon"}, {"level": "2"}, {"level": "0.1"}):
        wrong = client.get(url, params=params, headers=key)
        assert wrong.status_code == 422, params
        assert wrong.json()["detail"][0]["loc"][0] == "query"
    assert client.get(url, headers=bearer(b.read_key)).status_code == 404
    assert client.get(url).status_code == 401
