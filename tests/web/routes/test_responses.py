"""Submitting, listing, reading and deleting responses through API v1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import rollups
from cxpulse.store.models import MAX_COMMENT_LENGTH, Response
from cxpulse.web.schemas import MAX_BATCH_SIZE, MAX_BODY_BYTES

from ..helpers import World, bearer, session_headers


def _count(db: sessionmaker[Session], survey_id: int) -> int:
    with db() as session:
        return int(session.scalar(select(func.count()).where(Response.survey_id == survey_id)) or 0)


def _rollups_match(db: sessionmaker[Session], organisation_id: int) -> bool:
    with db() as session:
        return rollups.stored(session, organisation_id) == rollups.recount(session, organisation_id)


def test_submit_one_response(client: TestClient, world: World, db: sessionmaker[Session]) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses"
    body = {
        "score": 4,
        "comment": "  Quick and friendly  ",
        "channel": "chat",
        "language": "sv",
        "submitted_at": "2025-03-01T10:00:00+01:00",
        "properties": {"agent": "anna", "order": 1234, "vip": True},
        "contact_id": org.contact_id,
    }
    answer = client.post(url, json=body, headers=bearer(org.write_key))
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    assert stored["score"] == 4
    assert stored["comment"] == "Quick and friendly"
    assert stored["submitted_at"] == "2025-03-01T09:00:00Z"
    assert stored["properties"] == {"agent": "anna", "order": "1234", "vip": "true"}
    assert stored["contact_id"] == org.contact_id
    assert stored["source"] == "api"
    # Consent is asked on survey pages after a low score only: null for API answers.
    assert stored["contact_consent"] is None
    again = client.get(f"/api/v1/responses/{stored['id']}", headers=bearer(org.read_key))
    assert again.status_code == 200
    assert again.json() == stored
    assert _rollups_match(db, org.id)


def test_idempotency_key_in_body_or_header(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses"
    before = _count(db, org.survey_id)
    first = client.post(
        url, json={"score": 5, "idempotency_key": "t-1"}, headers=bearer(org.write_key)
    )
    assert first.status_code == 201
    repeat = client.post(
        url, json={"score": 1, "idempotency_key": "t-1"}, headers=bearer(org.write_key)
    )
    assert repeat.status_code == 200
    assert repeat.json() == first.json()
    by_header = client.post(
        url, json={"score": 2}, headers={**bearer(org.write_key), "Idempotency-Key": "t-1"}
    )
    assert by_header.status_code == 200
    assert by_header.json()["id"] == first.json()["id"]
    assert _count(db, org.survey_id) == before + 1
    clash = client.post(
        url,
        json={"score": 2, "idempotency_key": "t-2"},
        headers={**bearer(org.write_key), "Idempotency-Key": "t-3"},
    )
    assert clash.status_code == 422
    assert clash.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    # The same key on another survey is another response.
    other = world.b
    elsewhere = client.post(
        f"/api/v1/surveys/{other.survey_id}/responses",
        json={"score": 5, "idempotency_key": "t-1"},
        headers=bearer(other.write_key),
    )
    assert elsewhere.status_code == 201
    assert _rollups_match(db, org.id)


def test_batch_is_idempotent_and_reports_each_item(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses/batch"
    items: list[dict[str, Any]] = [
        {"score": 5, "idempotency_key": "b-1"},
        {"score": 3, "channel": "web"},
        {"score": 4, "idempotency_key": "b-1"},
    ]
    before = _count(db, org.survey_id)
    answer = client.post(url, json={"items": items}, headers=bearer(org.write_key))
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert (result["created"], result["existing"]) == (2, 1)
    assert [item["created"] for item in result["items"]] == [True, True, False]
    assert result["items"][2]["id"] == result["items"][0]["id"]
    assert _count(db, org.survey_id) == before + 2

    repeat = client.post(url, json={"items": [items[0]]}, headers=bearer(org.write_key))
    assert repeat.status_code == 200
    assert repeat.json()["items"][0]["id"] == result["items"][0]["id"]
    assert _count(db, org.survey_id) == before + 2
    assert _rollups_match(db, org.id)


def test_batch_is_all_or_nothing_with_errors_per_item(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses/batch"
    before = _count(db, org.survey_id)
    items: list[dict[str, Any]] = [
        {"score": 5},
        {"score": 9},
        {"score": 2, "contact_id": 987654},
        {"score": 0},
    ]
    answer = client.post(url, json={"items": items}, headers=bearer(org.write_key))
    assert answer.status_code == 422
    locs = [error["loc"] for error in answer.json()["detail"]]
    assert locs == [
        ["body", "items", 1, "score"],
        ["body", "items", 2, "contact_id"],
        ["body", "items", 3, "score"],
    ]
    typed = client.post(
        url, json={"items": [{"score": 5}, {"score": "five"}]}, headers=bearer(org.write_key)
    )
    assert typed.status_code == 422
    assert typed.json()["detail"][0]["loc"] == ["body", "items", 1, "score"]
    assert _count(db, org.survey_id) == before


def test_batch_size_is_limited(client: TestClient, world: World) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses/batch"
    too_many = {"items": [{"score": 3}] * (MAX_BATCH_SIZE + 1)}
    answer = client.post(url, json=too_many, headers=bearer(org.write_key))
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "items"]
    empty = client.post(url, json={"items": []}, headers=bearer(org.write_key))
    assert empty.status_code == 422


def test_bad_input_gets_field_level_4xx(client: TestClient, world: World) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses"
    headers = bearer(org.write_key)
    cases: list[tuple[Any, list[Any]]] = [
        ({"score": 6}, ["body", "score"]),
        ({"score": 3.5}, ["body", "score"]),
        ({"score": "5"}, ["body", "score"]),
        ({"score": True}, ["body", "score"]),
        ({}, ["body", "score"]),
        ({"score": 5, "comment": "x" * (MAX_COMMENT_LENGTH + 1)}, ["body", "comment"]),
        ({"score": 5, "comment": 12}, ["body", "comment"]),
        ({"score": 5, "comment": "nul\x00"}, ["body", "comment"]),
        ({"score": 5, "submitted_at": "2025-03-01T10:00:00"}, ["body", "submitted_at"]),
        ({"score": 5, "submitted_at": "yesterday"}, ["body", "submitted_at"]),
        ({"score": 5, "properties": {"team": ["a"]}}, ["body", "properties", "team"]),
        ({"score": 5, "properties": {"x" * 101: "a"}}, ["body", "properties", "x" * 101, "[key]"]),
        ({"score": 5, "contact_id": 10**30}, ["body", "contact_id"]),
        ({"score": 5, "contact_id": 424242}, ["body", "contact_id"]),
        ({"score": 5, "colour": "red"}, ["body", "colour"]),
        ([1, 2], ["body"]),
    ]
    for body, loc in cases:
        answer = client.post(url, json=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        detail = answer.json()["detail"]
        assert isinstance(detail, list)
        assert detail[0]["loc"][: len(loc)] == loc, (body, detail)
        assert set(detail[0]) == {"loc", "msg", "type"}
    malformed = client.post(
        url, content=b'{"score": 5', headers={**headers, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["type"] == "json_invalid"
    unknown = client.post("/api/v1/surveys/999999/responses", json={"score": 5}, headers=headers)
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "survey not found"}
    huge = client.post(f"/api/v1/surveys/{10**30}/responses", json={"score": 5}, headers=headers)
    assert huge.status_code == 422


def _submit_many(client: TestClient, world: World, moments: list[datetime]) -> list[int]:
    org = world.a
    answer = client.post(
        f"/api/v1/surveys/{org.survey_id}/responses/batch",
        json={
            "items": [
                {"score": 1 + n % 5, "submitted_at": moment.isoformat(), "channel": "web"}
                for n, moment in enumerate(moments)
            ]
        },
        headers=bearer(org.write_key),
    )
    assert answer.status_code == 201, answer.text
    return [item["id"] for item in answer.json()["items"]]


def test_pagination_walks_every_page_through_ties(client: TestClient, world: World) -> None:
    org = world.a
    tie = datetime(2025, 6, 1, 12, tzinfo=UTC)
    # Seven responses share one instant: pages must split them by id without loss.
    moments = [tie] * 7 + [tie + timedelta(seconds=n) for n in range(1, 6)]
    ids = _submit_many(client, world, moments)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, "channel": "web"}
        if cursor:
            params["cursor"] = cursor
        answer = client.get(
            f"/api/v1/surveys/{org.survey_id}/responses",
            params=params,
            headers=bearer(org.read_key),
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert seen == sorted(ids[:7]) + ids[7:]
    bad = client.get(
        f"/api/v1/surveys/{org.survey_id}/responses",
        params={"cursor": "not-a-cursor"},
        headers=bearer(org.read_key),
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_list_filters(client: TestClient, world: World) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses"
    headers = bearer(org.read_key)

    def ids(**params: Any) -> list[int]:
        answer = client.get(url, params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    everything = client.get(url, headers=headers).json()["items"]
    assert len(everything) == 10
    by_id = {item["id"]: item for item in everything}

    def expect(predicate: Any) -> list[int]:
        return [i for i, item in by_id.items() if predicate(item)]

    assert ids(channel="email") == expect(lambda r: r["channel"] == "email")
    assert ids(min_score=4) == expect(lambda r: r["score"] >= 4)
    assert ids(max_score=2, channel="chat") == expect(
        lambda r: r["score"] <= 2 and r["channel"] == "chat"
    )
    assert ids(start="2025-01-03", end="2025-01-05") == expect(
        lambda r: "2025-01-03" <= r["submitted_at"][:10] < "2025-01-05"
    )
    assert ids(start="2025-01-03T09:00:00+00:00") == expect(
        lambda r: r["submitted_at"] >= "2025-01-03T09"
    )
    assert ids(**{"property.team": "tech"}) == expect(lambda r: r["properties"]["team"] == "tech")
    assert ids(contact_id=org.contact_id) == expect(lambda r: r["contact_id"] == org.contact_id)
    assert ids(**{"contact.plan": "pro"}) == expect(lambda r: r["contact_id"] == org.contact_id)
    assert ids(**{"contact.plan": "free"}) == []
    naive = client.get(url, params={"start": "2025-01-03T09:00:00"}, headers=headers)
    assert naive.status_code == 422
    assert naive.json()["detail"][0]["loc"] == ["query", "start"]


def test_delete_response_keeps_rollups_equal_to_a_recount(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    target = f"/api/v1/responses/{org.response_id}"
    assert client.delete(target, headers=bearer(org.write_key)).status_code == 204
    assert client.get(target, headers=bearer(org.read_key)).status_code == 404
    assert client.delete(target, headers=bearer(org.write_key)).status_code == 404
    assert _rollups_match(db, org.id)
    entries = client.get(
        "/api/v1/audit",
        params={"entity": "response"},
        headers=session_headers(app, org.users["admin"]),
    ).json()["items"]
    assert entries[0]["action"] == "delete"
    assert entries[0]["entity_id"] == str(org.response_id)


def test_bodies_over_the_limit_get_413(client: TestClient, world: World) -> None:
    org = world.a
    headers = {**bearer(org.write_key), "Content-Type": "application/json"}
    padding = b" " * (MAX_BODY_BYTES + 1)
    one = client.post(
        f"/api/v1/surveys/{org.survey_id}/responses",
        content=b'{"score": 5}' + padding,
        headers=headers,
    )
    assert one.status_code == 413
    # A batch may be larger: the same body is fine there (and then judged on its content).
    batch = client.post(
        f"/api/v1/surveys/{org.survey_id}/responses/batch",
        content=b'{"items": [{"score": 5}]}' + padding,
        headers=headers,
    )
    assert batch.status_code == 201
    contact = client.post("/api/v1/contacts", content=b"{}" + padding, headers=headers)
    assert contact.status_code == 413


# The direct path (``SubmissionDoor``): what it reads, what it passes on to FastAPI


def _asgi_post(
    app: FastAPI,
    path: str,
    chunks: list[bytes],
    headers: Mapping[str, str] | Sequence[tuple[str, str]],
    *,
    leave: bool = False,
) -> tuple[int | None, dict[str, str], bytes]:
    """POST ``chunks`` (one ``http.request`` message each) straight to the ASGI app; with
    ``leave`` the client disconnects instead of sending its body. (status, headers, body)."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
        for n, chunk in enumerate(chunks)
    ]
    if leave:
        messages = [{"type": "http.disconnect"}]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(30)
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "server": ("testserver", 443),
        "client": ("127.0.0.1", 50000),
        "headers": [
            (k.lower().encode(), v.encode())
            for k, v in (headers.items() if isinstance(headers, Mapping) else headers)
        ],
    }

    async def run() -> None:
        async with app.router.lifespan_context(app):
            await app(scope, receive, send)

    asyncio.run(run())
    starts = [m for m in sent if m["type"] == "http.response.start"]
    if not starts:
        return None, {}, b""
    answer_headers = {k.decode(): v.decode() for k, v in starts[0]["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return starts[0]["status"], answer_headers, body


def _json_headers(key: str, body: bytes) -> dict[str, str]:
    return {
        "authorization": f"Bearer {key}",
        "content-type": "application/json",
        "content-length": str(len(body)),
    }


def test_a_body_in_several_messages_is_stored_once(
    app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    body = b'{"score": 3, "comment": "split across messages"}'
    before = _count(db, org.survey_id)
    status, headers, answer = _asgi_post(
        app,
        f"/api/v1/surveys/{org.survey_id}/responses",
        [body[:7], body[7:20], body[20:]],
        _json_headers(org.write_key, body),
    )
    assert status == 201
    assert json.loads(answer)["comment"] == "split across messages"
    assert headers["x-content-type-options"] == "nosniff"  # SecurityHeaders still wraps it
    assert _count(db, org.survey_id) == before + 1


def test_a_client_gone_before_its_body_gets_no_answer_and_stores_nothing(
    app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    before = _count(db, org.survey_id)
    status, _, _ = _asgi_post(
        app,
        f"/api/v1/surveys/{org.survey_id}/responses",
        [],
        _json_headers(org.write_key, b'{"score": 3}'),
        leave=True,
    )
    assert status is None
    assert _count(db, org.survey_id) == before


def test_what_the_direct_path_refuses_is_answered_by_the_apps_handlers(
    app: FastAPI, world: World
) -> None:
    """Errors raised by the endpoint code on the direct path get the same answers as on
    FastAPI's: the app's handlers, with the security headers."""
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses"
    unknown = b'{"score": 3}'
    status, headers, answer = _asgi_post(
        app, "/api/v1/surveys/999999/responses", [unknown], _json_headers(org.write_key, unknown)
    )
    assert status == 404
    assert headers["x-content-type-options"] == "nosniff"
    other = f'{{"score": 3, "contact_id": {world.b.contact_id}}}'.encode()
    status, _, answer = _asgi_post(app, url, [other], _json_headers(org.write_key, other))
    assert status == 422
    assert json.loads(answer)["detail"][0]["loc"] == ["body", "contact_id"]
    status, headers, _ = _asgi_post(app, url, [unknown], _json_headers("cxk_not-a-key", unknown))
    assert status == 401
    assert headers["www-authenticate"] == "Bearer"


def test_odd_requests_take_fastapis_handler_with_their_body_intact(
    app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    """A body the direct path does not take (invalid, too large for it, no length, a survey
    id with a leading zero) reaches FastAPI whole, which answers it as it always did."""
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses"
    before = _count(db, org.survey_id)
    bad = b'{"score": 99}'
    status, _, answer = _asgi_post(app, url, [bad[:5], bad[5:]], _json_headers(org.write_key, bad))
    assert status == 422
    assert json.loads(answer)["detail"][0]["loc"] == ["body", "score"]
    good = b'{"score": 2}'
    no_length = {
        k: v for k, v in _json_headers(org.write_key, good).items() if k != "content-length"
    }
    assert _asgi_post(app, url, [good[:4], good[4:]], no_length)[0] == 201
    zero = f"/api/v1/surveys/0{org.survey_id}/responses"
    assert _asgi_post(app, zero, [good], _json_headers(org.write_key, good))[0] == 201
    big = json.dumps({"score": 4, "comment": "x" * 70_000}).encode()
    status, _, answer = _asgi_post(
        app, url, [big[:1000], big[1000:]], _json_headers(org.write_key, big)
    )
    assert status == 422  # the comment is too long for the store: FastAPI's validation says so
    assert json.loads(answer)["detail"][0]["loc"] == ["body", "comment"]
    assert _count(db, org.survey_id) == before + 2


def test_a_repeated_credential_or_key_header_takes_fastapis_handler(
    app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    """FastAPI reads the first of repeated headers: so must the answer, whichever path."""
    a, b = world.a, world.b
    body = b'{"score": 3}'
    url = f"/api/v1/surveys/{a.survey_id}/responses"
    sent = [
        ("authorization", f"Bearer {a.write_key}"),
        ("authorization", f"Bearer {b.write_key}"),
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        ("idempotency-key", "first"),
        ("idempotency-key", "second"),
    ]
    status, _, answer = _asgi_post(app, url, [body], sent)
    assert status == 201
    assert json.loads(answer)["idempotency_key"] == "first"
    again = [(k, v) for k, v in sent if (k, v) != ("idempotency-key", "first")]
    # Now "second" comes first: a new answer, stored under a's key.
    status, _, answer = _asgi_post(app, url, [body], again)
    assert (status, json.loads(answer)["idempotency_key"]) == (201, "second")
