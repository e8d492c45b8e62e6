"""The themes API on SQLite and PostgreSQL: the taxonomy (list, create, change, merge,
delete), discovered themes and their promotion, a response's analysis; who may do what, and
validation errors as 422 naming their field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import ResponseTheme, TextTheme
from cxpulse.text.taxonomy import starter_taxonomy

from ..helpers import World, bearer, session_headers
from .theme_support import GIFT_COMMENTS, OTHER_COMMENTS, PARKING_COMMENTS, analysed_comments

pytestmark = pytest.mark.usefixtures("no_inline_worker")

GIFT = {"name": "Gift wrapping", "phrases": {"en": ["gift wrap"], "sv": ["presentinslagning"]}}


def _create(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/api/v1/themes", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _locs(answer: Any) -> list[list[Any]]:
    return [error["loc"] for error in answer.json()["detail"]]


def test_the_first_edit_seeds_the_starter_taxonomy_then_adds_the_theme(
    client: TestClient, world: World
) -> None:
    key = bearer(world.a.write_key)
    before = client.get("/api/v1/themes", headers=key).json()
    assert before == {"items": [], "taxonomy_version": 0}
    created = _create(client, key, GIFT)
    assert created["key"] == "gift-wrapping"
    assert created["origin"] == "custom"
    assert created["active"] is True
    assert created["phrases"] == {"en": ["gift wrap"], "sv": ["presentinslagning"]}
    assert created["mentions_30_days"] == 0
    listed = client.get("/api/v1/themes", headers=key).json()
    keys = {item["key"] for item in listed["items"]}
    assert keys == {"gift-wrapping", *(theme.key for theme in starter_taxonomy().themes)}
    assert listed["taxonomy_version"] >= 2
    names = [item["name"] for item in listed["items"]]
    assert names == sorted(names)
    # Another organisation's taxonomy is untouched and invisible.
    other = client.get("/api/v1/themes", headers=bearer(world.b.read_key)).json()
    assert other["items"] == []


def test_validation_errors_name_their_field(client: TestClient, world: World) -> None:
    key = bearer(world.a.write_key)
    cases: list[tuple[dict[str, Any], list[Any]]] = [
        ({"name": "X", "phrases": {"xx": ["a"]}}, ["body", "phrases", "xx", "[key]"]),
        ({"name": "X", "phrases": {}}, ["body", "phrases"]),
        ({"name": "X", "phrases": {"en": ["  "]}}, ["body", "phrases"]),
        ({"name": "", "phrases": {"en": ["a"]}}, ["body", "name"]),
        ({"name": "X" * 201, "phrases": {"en": ["a"]}}, ["body", "name"]),
        ({"name": "X", "phrases": {"en": ["a" * 201]}}, ["body", "phrases", "en", 0]),
        ({"name": "X", "phrases": {"en": "late"}}, ["body", "phrases", "en"]),
        ({"name": "X", "key": "Not a key", "phrases": {"en": ["a"]}}, ["body", "key"]),
        ({"name": "X", "phrases": {"en": ["a"]}, "colour": "red"}, ["body", "colour"]),
    ]
    for body, loc in cases:
        answer = client.post("/api/v1/themes", json=body, headers=key)
        assert answer.status_code == 422, (body, answer.text)
        assert loc in _locs(answer), (body, answer.json())
    _create(client, key, GIFT)
    taken = client.post("/api/v1/themes", json=GIFT, headers=key)
    assert taken.status_code == 409
    assert _locs(taken) == [["body", "key"]]


def test_patch_renames_and_replaces_only_the_languages_sent(
    client: TestClient, world: World
) -> None:
    key = bearer(world.a.write_key)
    theme = _create(client, key, GIFT)
    url = f"/api/v1/themes/{theme['id']}"
    changed = client.patch(
        url, json={"name": "Gift wrap", "phrases": {"sv": ["paketinslagning"]}}, headers=key
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Gift wrap"
    assert changed.json()["key"] == "gift-wrapping"
    assert changed.json()["phrases"] == {"en": ["gift wrap"], "sv": ["paketinslagning"]}
    cleared = client.patch(url, json={"phrases": {"sv": []}}, headers=key).json()
    assert cleared["phrases"] == {"en": ["gift wrap"]}
    emptied = client.patch(url, json={"phrases": {"en": []}}, headers=key)
    assert emptied.status_code == 422
    assert _locs(emptied) == [["body", "phrases"]]
    assert client.get(url, headers=key).json()["phrases"] == {"en": ["gift wrap"]}
    off = client.patch(url, json={"active": False}, headers=key).json()
    assert off["active"] is False
    listed = client.get("/api/v1/themes", headers=key).json()["items"]
    assert theme["id"] not in [item["id"] for item in listed]
    everything = client.get("/api/v1/themes?include_inactive=true", headers=key).json()["items"]
    assert theme["id"] in [item["id"] for item in everything]
    assert client.patch(url, json={"name": ""}, headers=key).status_code == 422


def test_merge_moves_the_mentions_and_delete_removes_them(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    key = bearer(org.write_key)
    source = _create(client, key, {"name": "Wrapping", "phrases": {"en": ["wrapping"]}})
    target = _create(client, key, GIFT)
    both = analysed_comments(
        db,
        org.id,
        org.survey_id,
        GIFT_COMMENTS[:2],
        mentions=[(source["id"], "negative"), (target["id"], "positive")],
    )
    only = analysed_comments(
        db, org.id, org.survey_id, GIFT_COMMENTS[2:5], mentions=[(source["id"], "negative")]
    )
    counted = {
        item["id"]: item["mentions_30_days"]
        for item in client.get("/api/v1/themes", headers=key).json()["items"]
    }
    assert (counted[source["id"]], counted[target["id"]]) == (5, 2)

    merged = client.post(
        f"/api/v1/themes/{source['id']}/merge", json={"into": target["id"]}, headers=key
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["id"] == target["id"]
    assert merged.json()["mentions_30_days"] == 5
    assert merged.json()["phrases"]["en"] == ["gift wrap", "wrapping"]
    with db() as session:
        mentions = session.execute(
            select(ResponseTheme.response_id, ResponseTheme.theme_id, ResponseTheme.sentiment)
        ).all()
    assert {(r, t) for r, t, _ in mentions} == {(r, target["id"]) for r in both + only}
    # An answer that mentioned both keeps the target's own mention and its sentiment.
    assert {r: s for r, _, s in mentions}[both[0]] == "positive"
    gone = client.get(f"/api/v1/themes/{source['id']}", headers=key).json()
    assert (gone["active"], gone["merged_into"]) == (False, target["id"])
    read = client.get(f"/api/v1/responses/{only[0]}/themes", headers=key).json()
    assert [theme["key"] for theme in read["themes"]] == ["gift-wrapping"]

    assert client.delete(f"/api/v1/themes/{target['id']}", headers=key).status_code == 204
    assert client.get(f"/api/v1/themes/{target['id']}", headers=key).status_code == 404
    assert client.delete(f"/api/v1/themes/{target['id']}", headers=key).status_code == 404
    with db() as session:
        assert session.scalars(select(ResponseTheme.response_id)).all() == []


def test_merge_refusals(client: TestClient, world: World) -> None:
    key = bearer(world.a.write_key)
    theme = _create(client, key, GIFT)
    url = f"/api/v1/themes/{theme['id']}/merge"
    itself = client.post(url, json={"into": theme["id"]}, headers=key)
    assert itself.status_code == 422
    assert _locs(itself) == [["body", "into"]]
    missing = client.post(url, json={"into": 2_000_000}, headers=key)
    assert (missing.status_code, _locs(missing)) == (422, [["body", "into"]])
    assert client.post(url, json={"into": "3"}, headers=key).status_code == 422
    # B's theme as a target is "no such theme" for A; A's theme as a source is a 404 for B.
    b_theme = _create(client, bearer(world.b.write_key), GIFT)
    assert client.post(url, json={"into": b_theme["id"]}, headers=key).status_code == 422
    stolen = client.post(
        f"/api/v1/themes/{theme['id']}/merge",
        json={"into": b_theme["id"]},
        headers=bearer(world.b.write_key),
    )
    assert stolen.status_code == 404
    assert stolen.json() == {"detail": "theme not found"}


def test_roles_and_scopes(app: FastAPI, client: TestClient, world: World) -> None:
    org = world.a
    viewer = session_headers(app, org.users["viewer"])
    analyst = session_headers(app, org.users["analyst"])
    assert client.get("/api/v1/themes", headers=viewer).status_code == 200
    assert client.post("/api/v1/themes", json=GIFT, headers=viewer).status_code == 403
    assert client.post("/api/v1/themes", json=GIFT, headers=bearer(org.read_key)).status_code == 403
    theme = _create(client, analyst, GIFT)
    for headers in (viewer, bearer(org.read_key)):
        url = f"/api/v1/themes/{theme['id']}"
        assert client.patch(url, json={"name": "X"}, headers=headers).status_code == 403
        assert client.delete(url, headers=headers).status_code == 403
    # Discovered themes and a response's analysis show comments: not for viewers.
    survey = org.survey_id
    assert (
        client.get(f"/api/v1/surveys/{survey}/themes/discovered", headers=viewer).status_code == 403
    )
    response = f"/api/v1/responses/{org.response_id}/themes"
    assert client.get(response, headers=viewer).status_code == 403
    assert client.get(response, headers=bearer(org.read_key)).status_code == 200
    # Browser sessions need the CSRF header to change anything.
    no_csrf = session_headers(app, org.users["analyst"], csrf=False)
    assert client.post("/api/v1/themes", json=GIFT, headers=no_csrf).status_code == 403


def test_a_response_analysis_is_redacted_before_and_after_the_worker(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    key = bearer(org.write_key)
    text = "Late parcel, call me on +46 70 123 45 67 or mail anna@example.com"
    submitted = client.post(
        f"/api/v1/surveys/{org.survey_id}/responses",
        json={"score": 2, "comment": text},
        headers=key,
    )
    assert submitted.status_code == 201
    response_id = submitted.json()["id"]
    waiting = client.get(f"/api/v1/responses/{response_id}/themes", headers=key).json()
    assert waiting["analysed"] is False
    assert waiting["themes"] == []
    assert waiting["language"] is None
    assert "anna@example.com" not in waiting["comment"]
    assert "[email]" in waiting["comment"]
    assert "[phone]" in waiting["comment"]

    theme = _create(client, key, GIFT)
    [done] = analysed_comments(
        db, org.id, org.survey_id, [text], mentions=[(theme["id"], "negative")]
    )
    read = client.get(f"/api/v1/responses/{done}/themes", headers=key).json()
    assert read["analysed"] is True
    assert (read["language"], read["sentiment"], read["sentiment_source"]) == (
        "en",
        "negative",
        "score",
    )
    assert read["themes"] == [
        {
            "id": theme["id"],
            "key": "gift-wrapping",
            "name": "Gift wrapping",
            "sentiment": "negative",
        }
    ]
    assert "[email]" in read["comment"]
    assert "anna@" not in read["comment"]
    none = client.get(
        f"/api/v1/responses/{world.b.response_id}/themes", headers=bearer(org.read_key)
    )
    assert none.status_code == 404


def test_discovered_themes_and_their_promotion(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    key = bearer(org.write_key)
    analysed_comments(db, org.id, org.survey_id, GIFT_COMMENTS + PARKING_COMMENTS + OTHER_COMMENTS)
    url = f"/api/v1/surveys/{org.survey_id}/themes/discovered"
    found = client.get(url, headers=bearer(org.read_key))
    assert found.status_code == 200, found.text
    body = found.json()
    assert (body["analysed"], body["read"], body["waiting"]) == (50, 50, 0)
    assert body["languages"] == {"en": 50}
    labels = [item["label"] for item in body["items"]]
    gift = next(item for item in body["items"] if "wrap" in item["label"])
    assert any("park" in label for label in labels), labels
    assert gift["language"] == "en"
    assert gift["size"] == 20
    assert gift["share"] == pytest.approx(40.0)
    assert gift["mean_score"] == 2.0
    assert body["mean_score"] == 2.0
    assert all(example["comment"] for example in gift["examples"])

    promote = f"/api/v1/surveys/{org.survey_id}/themes/discovered/promote"
    sent = {"language": "en", "label": gift["label"], "phrases": gift["top_phrases"][:3]}
    promoted = client.post(promote, json=sent, headers=key)
    assert promoted.status_code == 201, promoted.text
    theme = promoted.json()
    assert theme["origin"] == "discovered"
    assert theme["phrases"] == {"en": gift["top_phrases"][:3]}
    assert theme["name"][0].isupper()
    assert client.post(promote, json=sent, headers=key).status_code == 409
    # Its phrases now belong to the taxonomy: discovery no longer finds that group.
    again = client.get(url, headers=key).json()
    assert gift["label"] not in [item["label"] for item in again["items"]]

    bad = client.post(promote, json={**sent, "language": "xx"}, headers=key)
    assert (bad.status_code, _locs(bad)) == (422, [["body", "language"]])
    assert _locs(client.post(promote, json={**sent, "phrases": []}, headers=key)) == [
        ["body", "phrases"]
    ]
    other = f"/api/v1/surveys/{world.b.survey_id}/themes/discovered"
    assert client.get(other, headers=key).status_code == 404
    assert client.post(other + "/promote", json=sent, headers=key).status_code == 404


def test_period_parameters(client: TestClient, world: World) -> None:
    key = bearer(world.a.read_key)
    url = f"/api/v1/surveys/{world.a.survey_id}/themes/discovered"
    answer = client.get(url + "?from=2025-01-01&to=2025-01-31", headers=key).json()
    assert (answer["start"], answer["to"]) == ("2025-01-01", "2025-01-31")
    assert answer["items"] == []
    assert answer["analysed"] == 0
    # The world's ten answers carry comments nobody analysed: they wait, and are said to.
    assert answer["waiting"] == 10
    reversed_ = client.get(url + "?from=2025-02-01&to=2025-01-01", headers=key)
    assert (reversed_.status_code, _locs(reversed_)) == (422, [["query", "to"]])
    assert _locs(client.get(url + "?from=yesterday", headers=key)) == [["query", "from"]]
    assert client.get(url + "?to=0001-01-01", headers=key).status_code == 422


def test_a_theme_of_another_organisation_is_not_found(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    theme = _create(client, bearer(world.a.write_key), GIFT)
    b = bearer(world.b.write_key)
    url = f"/api/v1/themes/{theme['id']}"
    assert client.get(url, headers=b).status_code == 404
    assert client.patch(url, json={"name": "Taken over"}, headers=b).status_code == 404
    assert client.delete(url, headers=b).status_code == 404
    with db() as session:
        stored = session.get(TextTheme, theme["id"])
        assert stored is not None
        assert stored.name == "Gift wrapping"


def test_the_themes_of_a_survey_with_their_impact(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    key = bearer(org.write_key)
    gift = _create(client, key, GIFT)
    parking = _create(client, key, {"name": "Parking", "phrases": {"en": ["car park"]}})
    # 40 answers about gift wrapping (30 unhappy), 40 happy ones about parking, 40 others.
    mention_gift = [(gift["id"], "negative")]
    analysed_comments(db, org.id, org.survey_id, GIFT_COMMENTS * 2, score=1, mentions=mention_gift)
    analysed_comments(db, org.id, org.survey_id, GIFT_COMMENTS[:10], score=4, mentions=mention_gift)
    analysed_comments(
        db,
        org.id,
        org.survey_id,
        PARKING_COMMENTS * 2,
        score=5,
        mentions=[(parking["id"], "positive")],
    )
    analysed_comments(db, org.id, org.survey_id, OTHER_COMMENTS * 3 + GIFT_COMMENTS[:2], score=4)
    analysed_comments(db, org.id, org.survey_id, OTHER_COMMENTS[:8], score=2)
    viewer = session_headers(app, org.users["viewer"])
    answer = client.get(f"/api/v1/surveys/{org.survey_id}/themes", headers=viewer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["metric"], body["answers"], body["analysed"]) == ("csat", 130, 130)
    assert body["waiting"] == 0
    rows = {row["key"]: row for row in body["items"]}
    assert set(rows) == {"gift-wrapping", "parking"}
    unhappy = rows["gift-wrapping"]
    assert unhappy["mentions"] == 50
    assert unhappy["share"] == pytest.approx(50 / 130 * 100)
    assert unhappy["share_ci_low"] < unhappy["share"] < unhappy["share_ci_high"]
    assert unhappy["score_with"]["value"] == pytest.approx(20.0)  # 10 satisfied of 50
    assert unhappy["score_with"]["n"] == 50
    assert unhappy["score_with"]["ci_low"] < 20 < unhappy["score_with"]["ci_high"]
    assert unhappy["score_without"]["value"] == pytest.approx(72 / 80 * 100)
    # CSAT 63.1% overall; if these answers scored like the rest it would be 90%.
    assert body["overall"]["value"] == pytest.approx(82 / 130 * 100)
    assert unhappy["impact"] == pytest.approx(82 / 130 * 100 - 90)
    assert unhappy["impact_ci_low"] < unhappy["impact"] < unhappy["impact_ci_high"] < 0
    assert (unhappy["direction"], unhappy["significant"]) == ("costs", True)
    assert rows["parking"]["direction"] == "wins"
    assert body["items"][0]["key"] == "gift-wrapping"
    other = client.get(f"/api/v1/surveys/{world.b.survey_id}/themes", headers=viewer)
    assert other.status_code == 404
    early = client.get(
        f"/api/v1/surveys/{org.survey_id}/themes?from=2025-01-01&to=2025-01-31", headers=viewer
    ).json()
    assert (early["items"], early["answers"], early["start"]) == ([], 10, "2025-01-01")
