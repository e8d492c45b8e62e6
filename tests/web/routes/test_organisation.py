"""The organisation's settings through the API: who may read and change them, the limits,
the audit entry, and the throttle taking effect on the next invitations."""

from __future__ import annotations

import base64

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.store.logo_samples import SVG, png

from cxpulse.store.models import ROLES, AuditLog, Organisation

from ..helpers import World, bearer, session_headers

URL = "/api/v1/organisation"
CHANGERS = {"owner", "admin"}


@pytest.fixture(autouse=True)
def no_inline_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXPULSE_INLINE_WORKER", "false")


def _throttle(db: sessionmaker[Session], organisation_id: int) -> int:
    with db() as session:
        organisation = session.get(Organisation, organisation_id)
        assert organisation is not None
        return organisation.throttle_days


def test_everyone_reads_only_owners_and_admins_change(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    expected = 30
    for days, role in enumerate(ROLES, start=10):
        headers = session_headers(app, org.users[role])
        read = client.get(URL, headers=headers)
        assert read.status_code == 200, (role, read.text)
        assert read.json() == {
            "id": org.id,
            "slug": "org-a",
            "name": "Org-A",
            "throttle_days": expected,
            "redact_comments": False,
            "default_language": "en",
            "industry": None,
            "sender_name": None,
            "reply_to": None,
            "accent_colour": None,
            "accent_contrast": None,
            "accent_warning": None,
            "logo_url": None,
            "logo_type": None,
        }
        changed = client.patch(URL, json={"throttle_days": days}, headers=headers)
        assert changed.status_code == (200 if role in CHANGERS else 403), (role, changed.text)
        if role in CHANGERS:
            assert changed.json()["throttle_days"] == days
            expected = days
    assert expected == 11  # the admin's change, after the owner's
    for key in (org.read_key, org.write_key):
        assert client.get(URL, headers=bearer(key)).json()["throttle_days"] == 11
        # No key changes settings: a leaked key cannot switch throttling off.
        assert client.patch(URL, json={"throttle_days": 0}, headers=bearer(key)).status_code == 403
    no_csrf = session_headers(app, org.users["owner"], csrf=False)
    assert client.patch(URL, json={"throttle_days": 0}, headers=no_csrf).status_code == 403
    assert client.get(URL).status_code == 401
    assert _throttle(db, org.id) == 11
    assert _throttle(db, world.b.id) == 30  # the caller's organisation only


@pytest.mark.parametrize(
    "body",
    [
        {"throttle_days": -1},
        {"throttle_days": 3651},
        {"throttle_days": True},
        {"throttle_days": "7"},
        {"throttle_days": 1.5},
        {"slug": "renamed"},
        {"name": ""},
        {"name": "A\nB"},
        {"default_language": "xx"},
        {"industry": "Dragon taming"},
        {"reply_to": "nobody"},
        {"sender_name": "Acme\r\nBcc: x@evil.example"},
        {"accent_colour": "red"},
        {"logo": "not base64!"},
        {"logo": base64.b64encode(SVG).decode()},
    ],
)
def test_bad_settings_are_refused_by_field(
    app: FastAPI,
    client: TestClient,
    world: World,
    db: sessionmaker[Session],
    body: dict[str, object],
) -> None:
    answer = client.patch(URL, json=body, headers=session_headers(app, world.a.users["owner"]))
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["body", next(iter(body))]
    assert _throttle(db, world.a.id) == 30


def test_an_empty_change_changes_nothing(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    admin = session_headers(app, world.a.users["admin"])
    for body in ({}, {"throttle_days": None}):
        answer = client.patch(URL, json=body, headers=admin)
        assert answer.status_code == 200
        assert answer.json()["throttle_days"] == 30
    with db() as session:
        assert (
            session.scalars(select(AuditLog).where(AuditLog.entity == "organisation")).all() == []
        )


def test_the_throttle_is_audited_and_applies_to_the_next_invitations(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    owner = session_headers(app, org.users["owner"])
    invitations = f"/api/v1/surveys/{org.survey_id}/invitations"
    twice = {"items": [{"email": "t@example.com"}, {"email": "t@example.com", "delay": "1h"}]}
    key = bearer(org.write_key)

    assert client.patch(URL, json={"throttle_days": 0}, headers=owner).json()["throttle_days"] == 0
    made = client.post(invitations, json=twice, headers=key).json()["items"]
    assert [i["status"] for i in made] == ["scheduled", "scheduled"]

    assert client.patch(URL, json={"throttle_days": 3}, headers=owner).status_code == 200
    [third] = client.post(
        invitations, json={"email": "t@example.com", "delay": "2d"}, headers=key
    ).json()["items"]
    assert third["status"] == "throttled"
    assert "at most one invitation per 3 days" in third["reason"]
    [fourth] = client.post(
        invitations, json={"email": "t@example.com", "delay": "4d"}, headers=key
    ).json()["items"]
    assert fourth["status"] == "scheduled"

    with db() as session:
        entries = session.scalars(
            select(AuditLog).where(AuditLog.entity == "organisation").order_by(AuditLog.id)
        ).all()
    owner_actor = f"user:{org.users['owner']}"
    assert [(e.actor, e.action, e.entity_id) for e in entries] == [
        (owner_actor, "update", str(org.id))
    ] * 2
    assert [e.details["throttle_days"] for e in entries] == [
        {"from": 30, "to": 0},
        {"from": 0, "to": 3},
    ]


def test_a_survey_cannot_turn_throttling_off_for_itself(client: TestClient, world: World) -> None:
    answer = client.patch(
        f"/api/v1/surveys/{world.a.survey_id}",
        json={"throttle_days": 0},
        headers=bearer(world.a.write_key),
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "throttle_days"]


def test_branding_and_email_settings_change_together_and_are_audited(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    owner = session_headers(app, world.a.users["owner"])
    logo = png(120, 40)
    body = {
        "name": "Org A Ltd",
        "default_language": "de",
        "industry": "Banks",
        "sender_name": "Org A Support",
        "reply_to": "Help@Org-A.Example",
        "accent_colour": "#FFCC00",
        "logo": base64.b64encode(logo).decode(),
    }
    answer = client.patch(URL, json=body, headers=owner)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["name"] == "Org A Ltd"
    assert got["industry"] == "banks"
    assert got["reply_to"] == "help@org-a.example"
    assert got["accent_colour"] == "#ffcc00"
    # A colour hard to read is saved, with a warning and its contrast.
    assert got["accent_contrast"] == 1.51
    assert "below the 4.5:1" in got["accent_warning"]
    assert got["logo_type"] == "image/png"
    assert got["logo_url"].startswith("/brand/org-a/logo?v=")
    served = client.get(got["logo_url"])
    assert served.content == logo
    with db() as session:
        [entry] = session.scalars(select(AuditLog).where(AuditLog.entity == "organisation")).all()
    assert entry.details["industry"] == {"from": None, "to": "banks"}
    assert entry.details["logo"]["to"] == "image/png"
    # An empty text clears; the logo is removed with "".
    cleared = client.patch(
        URL, json={"accent_colour": "", "logo": "", "reply_to": ""}, headers=owner
    ).json()
    assert (cleared["accent_colour"], cleared["logo_url"], cleared["reply_to"]) == (
        None,
        None,
        None,
    )
    assert client.get("/brand/org-a/logo").status_code == 404


def test_every_refused_field_is_listed_and_nothing_changes(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    owner = session_headers(app, world.a.users["owner"])
    body = {"name": "Kept?", "throttle_days": 5, "reply_to": "x", "accent_colour": "#12"}
    answer = client.patch(URL, json=body, headers=owner)
    assert answer.status_code == 422
    assert {tuple(p["loc"]) for p in answer.json()["detail"]} == {
        ("body", "reply_to"),
        ("body", "accent_colour"),
    }
    assert client.get(URL, headers=owner).json()["name"] == "Org-A"
    assert _throttle(db, world.a.id) == 30


def test_a_logo_too_large_is_refused_by_its_field(
    app: FastAPI, client: TestClient, world: World
) -> None:
    owner = session_headers(app, world.a.users["owner"])
    big = base64.b64encode(png(601, 20)).decode()
    answer = client.patch(URL, json={"logo": big}, headers=owner)
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["body", "logo"]
    assert "601 x 20 pixels" in problem["msg"]
