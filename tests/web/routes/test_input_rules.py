"""One rule per kind of value, the same answer at every door (docs/input-rules.md), on
SQLite and PostgreSQL through the real app: answer times, text, property names, JSON depth
and body size, sent through the API (fast and standard paths, batches), the widget and
the survey page; and the dashboard's pages over an answer stored before the rules, dated
9999-12-31."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import rollups, surveys
from cxpulse.store.models import Response

from ..helpers import World, bearer, session_headers

SHOP = "https://shop.example"


@pytest.fixture
def open_world(world: World, db: sessionmaker[Session]) -> World:
    """``world`` with organisation a's survey shown by the widget on SHOP."""
    with db() as session:
        survey = surveys.get_survey(session, world.a.id, world.a.survey_id)
        survey.collect_options = {"allowed_origins": [SHOP]}
        session.commit()
    return world


def _count(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(session.scalar(select(func.count()).select_from(Response)) or 0)


def _api(client: TestClient, world: World, body: Any, *, fast: bool = True) -> Any:
    """POST /responses: with an API key it may take the fast path; a JSON text the client
    sends without Content-Length takes FastAPI's own handler."""
    url = f"/api/v1/surveys/{world.a.survey_id}/responses"
    headers = {**bearer(world.a.write_key), "Content-Type": "application/json"}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    if fast:
        return client.post(url, content=content, headers=headers)
    return client.post(url, content=iter([content]), headers=headers)


def _batch(client: TestClient, world: World, items: list[dict[str, Any]]) -> Any:
    return client.post(
        f"/api/v1/surveys/{world.a.survey_id}/responses/batch",
        json={"items": items},
        headers=bearer(world.a.write_key),
    )


def _widget(client: TestClient, body: Any) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        "/w/org-a/support-csat/responses",
        content=content,
        headers={"Origin": SHOP, "Content-Type": "application/json"},
    )


def _page_post(client: TestClient, form: dict[str, str]) -> Any:
    page = client.get("/s/org-a/support-csat")
    assert page.status_code == 200, page.text
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token
    return client.post("/s/org-a/support-csat", data={"form_token": token.group(1), **form})


def _errors(answer: Any) -> list[tuple[list[Any], str]]:
    assert answer.status_code == 422, answer.text
    return [(error["loc"], error["msg"]) for error in answer.json()["detail"]]


# -- answer times --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "message"),
    [
        ("9999-12-31T23:59:59Z", "must not be more than one day in the future"),
        ("2999-06-01T00:00:00Z", "must not be more than one day in the future"),
        ("1969-12-31T23:59:59Z", "must be on or after 1970-01-01"),
        ("0001-01-01T00:00:00Z", "must be on or after 1970-01-01"),
    ],
)
def test_answer_times_outside_1970_to_tomorrow_are_refused_at_every_api_door(
    client: TestClient, world: World, db: sessionmaker[Session], moment: str, message: str
) -> None:
    before = _count(db)
    for fast in (True, False):
        body = {"score": 5, "submitted_at": moment}
        assert _errors(_api(client, world, body, fast=fast)) == [
            (["body", "submitted_at"], message)
        ]
    good = {"score": 4, "submitted_at": "2025-01-01T00:00:00Z"}
    assert _errors(_batch(client, world, [good, {"score": 5, "submitted_at": moment}])) == [
        (["body", "items", 1, "submitted_at"], message)
    ]
    assert _count(db) == before


def test_an_answer_up_to_a_day_ahead_is_taken(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=23)).isoformat()
    answer = _api(client, world, {"score": 5, "submitted_at": soon})
    assert answer.status_code == 201, answer.text


def test_every_problem_of_a_batch_is_listed(client: TestClient, world: World) -> None:
    items: list[dict[str, Any]] = [
        {"score": 9},
        {"score": 5, "submitted_at": "2999-01-01T00:00:00Z"},
        {"score": 4},
        {"score": 3, "submitted_at": "1960-01-01T00:00:00Z"},
    ]
    assert [loc for loc, _ in _errors(_batch(client, world, items))] == [
        ["body", "items", 0, "score"],
        ["body", "items", 1, "submitted_at"],
        ["body", "items", 3, "submitted_at"],
    ]


def _store_unchecked(db: sessionmaker[Session], world: World, moment: datetime) -> None:
    """An answer stored before the rule on answer times (by an older version, say): written
    as the store writes rows, with its rollup, past the checks."""
    with db() as session:
        session.add(
            Response(
                organisation_id=world.a.id,
                survey_id=world.a.survey_id,
                score=5.0,
                channel="email",
                properties={},
                submitted_at=moment,
                received_at=datetime.now(UTC),
                source="api",
            )
        )
        key = rollups.key_of(world.a.id, world.a.survey_id, moment, "email", None, 5.0)
        rollups.apply_deltas(session, [key])
        session.commit()


@pytest.mark.parametrize(
    "moment",
    [datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(2999, 6, 1, tzinfo=UTC)],
)
def test_an_answer_stored_far_ahead_breaks_no_page_and_moves_no_view(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session], moment: datetime
) -> None:
    _store_unchecked(db, world, moment)
    headers = session_headers(app, world.a.users["owner"])
    survey = f"/app/surveys/{world.a.survey_id}"
    for url in (
        "/app",
        survey,
        f"{survey}?grain=week",
        f"{survey}?grain=day&months=1",
        f"{survey}/responses",
        f"{survey}/export/responses.csv",
        f"{survey}/export/tables.csv",
        f"{survey}/report",
        f"{survey}/report?month=2025-01",
    ):
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
    page = client.get(survey, headers=headers).text
    tomorrow = date.today() + timedelta(days=1)
    # The default view ends tomorrow at the latest, never in the empty year of that answer.
    assert f"to {tomorrow.isoformat()}" in page or f"to {date.today().isoformat()}" in page
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert f"{moment.year}-" not in main  # no day, week or month label of that year


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=9999-12-31", "from"),
        ("to=9999-12-31", "to"),
        ("from=0001-01-01", "from"),
        ("to=3000-01-01", "to"),
    ],
)
def test_dates_typed_into_a_view_outside_1900_to_2999_are_refused_with_a_message(
    client: TestClient, app: FastAPI, world: World, query: str, field: str
) -> None:
    headers = session_headers(app, world.a.users["analyst"])
    answer = client.get(f"/app/surveys/{world.a.survey_id}?{query}", headers=headers)
    assert answer.status_code == 422
    assert "must be between 1900-01-01 and 2999-12-31" in answer.text
    for edge in ("from=2999-12-31", "to=2999-12-31", "from=1900-01-01&to=1909-12-31"):
        page = client.get(f"/app/surveys/{world.a.survey_id}?{edge}", headers=headers)
        assert page.status_code == 200, (edge, page.text[:300])


def test_api_filter_dates_follow_the_same_range(client: TestClient, world: World) -> None:
    url = f"/api/v1/surveys/{world.a.survey_id}/responses"
    for name, value in (("start", "9999-12-31"), ("end", "0001-01-01T00:00:00Z")):
        answer = client.get(url, params={name: value}, headers=bearer(world.a.read_key))
        assert _errors(answer) == [(["query", name], "must be between 1900-01-01 and 2999-12-31")]
    fine = client.get(url, params={"end": "2999-12-31"}, headers=bearer(world.a.read_key))
    assert fine.status_code == 200


# -- text ----------------------------------------------------------------------------------

HOSTILE_TEXTS = [
    ("a\x00b", "U+0000", 2),
    ("\x01start", "U+0001", 1),
    ("red\x1b[31m", "U+001B", 4),
    ("del\x7f", "U+007F", 4),
    ("c1\x85", "U+0085", 3),
]


@pytest.mark.parametrize(("text", "character", "position"), HOSTILE_TEXTS)
def test_control_characters_are_refused_alike_by_the_api_the_widget_and_the_page(
    client: TestClient,
    open_world: World,
    db: sessionmaker[Session],
    text: str,
    character: str,
    position: int,
) -> None:
    world = open_world
    before = _count(db)
    message = f"holds the control character {character} at position {position}; remove it"
    for fast in (True, False):
        for body, loc in (
            ({"score": 5, "comment": text}, ["body", "comment"]),
            ({"score": 5, "channel": text}, ["body", "channel"]),
            ({"score": 5, "properties": {"plan": text}}, ["body", "properties", "plan"]),
            ({"score": 5, "properties": {text: "x"}}, ["body", "properties", text, "[key]"]),
        ):
            assert _errors(_api(client, world, body, fast=fast)) == [(loc, message)], body
    for body, loc in (
        ({"score": 5, "comment": text}, ["body", "comment"]),
        ({"score": 5, "properties": {"plan": text}}, ["body", "properties", "plan"]),
        ({"score": 5, "properties": {text: "x"}}, ["body", "properties", text, "[key]"]),
    ):
        assert _errors(_widget(client, body)) == [(loc, message)], body
    page = _page_post(client, {"score": "4", "comment": text})
    assert page.status_code == 400
    assert f"({character} at position {position})" in page.text
    assert _count(db) == before


def test_tabs_line_breaks_quotes_and_any_script_are_kept_intact(
    client: TestClient, open_world: World, db: sessionmaker[Session]
) -> None:
    world = open_world
    comment = "Line 1\r\nLine 2\tend « ' \" » \u202e ناراض 😀 <b>&amp;</b> \\"
    names = ['a"b', "x[0]", "a.b", "back\\slash", "\u202ertl", "😀"]
    properties = {name: f"v {name}" for name in names}
    body = {"score": 5, "comment": comment, "properties": properties}
    api = _api(client, world, body)
    assert api.status_code == 201, api.text
    assert (api.json()["comment"], api.json()["properties"]) == (comment, properties)
    widget = _widget(client, body)
    assert widget.status_code == 201, widget.text
    page = _page_post(client, {"score": "4", "comment": comment})
    assert page.status_code == 200, page.text
    with db() as session:
        stored = list(session.scalars(select(Response).where(Response.comment == comment.strip())))
    assert len(stored) == 3
    assert all(r.properties == properties for r in stored if r.source != "web")


def test_property_names_follow_one_rule_at_the_api_and_the_widget(
    client: TestClient, open_world: World
) -> None:
    for name, message in (
        (" ", "must not be blank"),
        ("n" * 101, "is 101 characters long; at most 100 are allowed"),
        ("two\nlines", "holds the control character U+000A at position 4; remove it"),
        ("tab\there", "holds the control character U+0009 at position 4; remove it"),
    ):
        loc = ["body", "properties", name, "[key]"]
        body = {"score": 5, "properties": {name: "x"}}
        assert _errors(_api(client, open_world, body)) == [(loc, message)]
        assert _errors(_widget(client, body)) == [(loc, message)]


# -- JSON depth and size -------------------------------------------------------------------

TOO_DEEP = "the body nests more than 32 levels of arrays and objects"


def _deep_body(levels: int) -> bytes:
    inner = "[" * (levels - 2) + "]" * (levels - 2)
    return ('{"score": 5, "properties": {"x": ' + inner + "}}").encode()


@pytest.mark.parametrize("levels", [33, 500, 100_000])
def test_deep_json_is_refused_by_the_widget_as_by_the_api(
    client: TestClient, open_world: World, db: sessionmaker[Session], levels: int
) -> None:
    before = _count(db)
    # Was a 500 (RecursionError) at 100,000 levels, and stored NUL on SQLite.
    assert _errors(_widget(client, _deep_body(levels))) == [(["body"], TOO_DEEP)]
    assert _count(db) == before


@pytest.mark.parametrize("levels", [33, 500])
def test_deep_json_the_parser_reads_is_refused_by_the_api_in_the_same_words(
    client: TestClient, open_world: World, levels: int
) -> None:
    for fast in (True, False):
        answer = _api(client, open_world, _deep_body(levels), fast=fast)
        assert _errors(answer) == [(["body"], TOO_DEEP)]


def test_json_deeper_than_the_parser_is_refused_by_the_api_in_the_same_words(
    client: TestClient, open_world: World
) -> None:
    for fast in (True, False):
        answer = _api(client, open_world, _deep_body(100_000), fast=fast)
        assert _errors(answer) == [(["body"], TOO_DEEP)]


def test_json_as_deep_as_the_limit_gets_field_problems_not_a_depth_problem(
    client: TestClient, open_world: World
) -> None:
    body = _deep_body(32)  # the body object, properties, then 30 arrays
    for answer in (_widget(client, body), _api(client, open_world, body)):
        assert {tuple(loc[:3]) for loc, _ in _errors(answer)} == {("body", "properties", "x")}


def test_bodies_over_the_api_limit_are_refused_by_the_widget_too(
    client: TestClient, open_world: World
) -> None:
    padding = "x" * 1_000_001
    body = json.dumps({"score": 5, "comment": padding}).encode()
    assert _widget(client, body).status_code == 413
    assert _api(client, open_world, body).status_code == 413


def test_filter_names_follow_the_rule_of_names(client: TestClient, world: World) -> None:
    url = f"/api/v1/surveys/{world.a.survey_id}/responses"
    for key, message in (
        ("property.a\tb", "the name holds the control character U+0009 at position 2; remove it"),
        ("contact. ", "the name must not be blank"),
        ("property." + "n" * 101, "the name is 101 characters long; at most 100 are allowed"),
    ):
        answer = client.get(url, params={key: "v"}, headers=bearer(world.a.read_key))
        assert _errors(answer) == [(["query", key], message)]
