"""Redacting comments at storage, through the real app on both databases: owners and admins
turn the organisation's ``redact_comments`` on and off through the API (nobody else, no key),
and while it is on every door (the API, one by one and in batches, the survey page, its
second submit, the widget) stores the comment with its e-mail address replaced; while it is
off, as written.

The inline worker is off: it redacts comments stored before in the background, which would
hide whether the doors themselves stored the raw text."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import ROLES, AuditLog, Organisation, Response, Survey

from ..helpers import Org, World, bearer, session_headers

URL = "/api/v1/organisation"
CHANGERS = {"owner", "admin"}
SHOP = "https://shop.example"
WRITTEN = "Mail me at jane.doe@example.com about order 12345"
REDACTED = "Mail me at [email] about order 12345"


@pytest.fixture(autouse=True)
def no_inline_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXPULSE_INLINE_WORKER", "false")


def _organisation(db: sessionmaker[Session], organisation_id: int) -> tuple[bool, int]:
    with db() as session:
        organisation = session.get(Organisation, organisation_id)
        assert organisation is not None
        return organisation.redact_comments, organisation.taxonomy_version


def test_owners_and_admins_turn_it_on_and_off_nobody_else(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    assert client.get(URL, headers=bearer(org.read_key)).json()["redact_comments"] is False
    _, version_before = _organisation(db, org.id)
    wanted = False
    for role in ROLES:
        wanted = not wanted
        headers = session_headers(app, org.users[role])
        changed = client.patch(URL, json={"redact_comments": wanted}, headers=headers)
        if role in CHANGERS:
            assert changed.status_code == 200, (role, changed.text)
            assert changed.json()["redact_comments"] is wanted
        else:
            assert changed.status_code == 403, (role, changed.text)
            wanted = not wanted
        assert client.get(URL, headers=headers).json()["redact_comments"] is wanted
    # ROLES starts with the owner (on) then the admin (off): back where it started.
    assert _organisation(db, org.id)[0] is False
    for key in (org.read_key, org.write_key):
        refused = client.patch(URL, json={"redact_comments": True}, headers=bearer(key))
        assert refused.status_code == 403
    owner = session_headers(app, org.users["owner"])
    assert client.patch(URL, json={"redact_comments": "yes"}, headers=owner).status_code == 422
    # Other settings leave it as it is.
    assert client.patch(URL, json={"redact_comments": True}, headers=owner).status_code == 200
    kept = client.patch(URL, json={"throttle_days": 7}, headers=owner).json()
    assert (kept["redact_comments"], kept["throttle_days"]) == (True, 7)
    redact, version_after = _organisation(db, org.id)
    # Turned on twice: each time the analyses are redone (the stored comments redacted).
    assert redact is True
    assert version_after >= version_before + 2
    assert _organisation(db, world.b.id)[0] is False  # the caller's organisation only
    with db() as session:
        entries = session.scalars(
            select(AuditLog)
            .where(AuditLog.organisation_id == org.id, AuditLog.entity == "organisation")
            .order_by(AuditLog.id)
        ).all()
    changes = [e.details["redact_comments"] for e in entries if "redact_comments" in e.details]
    assert changes == [
        {"from": False, "to": True},
        {"from": True, "to": False},
        {"from": False, "to": True},
    ]


def _submit_through_every_door(client: TestClient, db: sessionmaker[Session], org: Org) -> int:
    """One comment through each door of ``org``'s survey; the number of responses stored."""
    with db() as session:
        survey = session.get(Survey, org.survey_id)
        assert survey is not None
        survey.collect_options = {"allowed_origins": [SHOP]}
        session.commit()
    api = f"/api/v1/surveys/{org.survey_id}/responses"
    one = client.post(api, json={"score": 2, "comment": WRITTEN}, headers=bearer(org.write_key))
    assert one.status_code == 201, one.text
    batch = client.post(
        f"{api}/batch",
        json={"items": [{"score": 3, "comment": WRITTEN}, {"score": 4}]},
        headers=bearer(org.write_key),
    )
    assert batch.status_code in (200, 201), batch.text
    page_url = f"/s/{org.slug}/support-csat"
    page = client.get(page_url)
    assert page.status_code == 200, page.text
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found
    token = found.group(1)
    first = client.post(page_url, data={"form_token": token, "score": "1", "comment": "late"})
    # The same form again, with a changed comment: the stored response is updated.
    again = client.post(page_url, data={"form_token": token, "score": "2", "comment": WRITTEN})
    assert first.status_code == again.status_code == 200, again.text
    widget = client.post(
        f"/w/{org.slug}/support-csat/responses",
        json={"score": 5, "comment": WRITTEN},
        headers={"Origin": SHOP},
    )
    assert widget.status_code in (200, 201), widget.text
    return 4


def _new_comments(db: sessionmaker[Session], org: Org) -> list[str | None]:
    with db() as session:
        return list(
            session.scalars(
                select(Response.comment)
                .where(Response.survey_id == org.survey_id, Response.id > org.response_id + 9)
                .order_by(Response.id)
            )
        )


@pytest.mark.parametrize("redact", [True, False], ids=["on", "off"])
def test_every_door_stores_the_comment_redacted_only_when_asked(
    app: FastAPI,
    client: TestClient,
    world: World,
    db: sessionmaker[Session],
    redact: bool,
) -> None:
    org = world.a
    owner = session_headers(app, org.users["owner"])
    assert client.patch(URL, json={"redact_comments": redact}, headers=owner).status_code == 200
    _submit_through_every_door(client, db, org)
    expected = REDACTED if redact else WRITTEN
    # API one, API batch (with and without a comment), survey page (updated), widget.
    assert _new_comments(db, org) == [expected, expected, None, expected, expected]
    # The other organisation's choice is its own: the same comment, as written.
    other = world.b
    stored = client.post(
        f"/api/v1/surveys/{other.survey_id}/responses",
        json={"score": 2, "comment": WRITTEN},
        headers=bearer(other.write_key),
    )
    assert stored.status_code == 201
    assert _new_comments(db, other) == [WRITTEN]
