"""Redeeming a promoter's referral code through API v1, on SQLite and PostgreSQL: once
(409 after), 404 for an unknown code or another organisation's, typed in any case with or
without the dash, by callers that may submit answers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import referral_codes

from ..helpers import World, bearer, session_headers


def _code(db: sessionmaker[Session], world: World) -> str:
    with db.begin() as session:
        return referral_codes.issue(
            session,
            world.a.id,
            response_id=world.a.response_id,
            survey_id=world.a.survey_id,
            contact_id=world.a.contact_id,
        )


def test_a_code_is_redeemed_once(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    code = _code(db, world)
    typed = code.replace("-", "").lower()
    url = f"/api/v1/referral-codes/{typed}/redeem"
    first = client.post(url, json={"reference": "order-10422"}, headers=bearer(world.a.write_key))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["code"] == code
    assert body["response_id"] == world.a.response_id
    assert body["reference"] == "order-10422"
    again = client.post(
        f"/api/v1/referral-codes/{code}/redeem",
        json={"reference": "order-10999"},
        headers=session_headers(app, world.a.users["agent"]),
    )
    assert again.status_code == 409
    assert again.json()["detail"][0]["loc"] == ["body", "code"]
    assert "redeemed already" in again.json()["detail"][0]["msg"]


def test_unknown_and_other_organisations_codes_are_not_found(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    code = _code(db, world)
    theirs = bearer(world.b.write_key)
    url = f"/api/v1/referral-codes/{code}/redeem"
    assert client.post(url, json={"reference": "x"}, headers=theirs).status_code == 404
    for unknown in ("ABCDE-FGHJK", "not-a-code", "O0O0O-I1I1I"):
        answer = client.post(
            f"/api/v1/referral-codes/{unknown}/redeem",
            json={"reference": "x"},
            headers=bearer(world.a.write_key),
        )
        assert answer.status_code == 404, unknown


def test_who_may_redeem(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    code = _code(db, world)
    url = f"/api/v1/referral-codes/{code}/redeem"
    assert (
        client.post(url, json={"reference": "x"}, headers=bearer(world.a.read_key)).status_code
        == 403
    )
    viewer = session_headers(app, world.a.users["viewer"])
    assert client.post(url, json={"reference": "x"}, headers=viewer).status_code == 403
    assert client.post(url, json={"reference": "x"}).status_code == 401
    blank = client.post(url, json={"reference": ""}, headers=bearer(world.a.write_key))
    assert blank.status_code == 422


def test_codes_are_readable_unique_and_one_per_answer(
    db: sessionmaker[Session], world: World
) -> None:
    first = _code(db, world)
    assert _code(db, world) == first  # the answer keeps its code
    assert len(first) == 11
    assert first[5] == "-"
    assert not set(first) & set("01ILO")
    assert referral_codes.normalise(f" {first.lower()} ") == first
    drawn = {referral_codes.new_code() for _ in range(2000)}
    assert len(drawn) == 2000
