"""The rule pages (/app/rules) with plain forms, on SQLite and PostgreSQL: an analyst adds,
tests, changes and deletes a rule without JavaScript; a refused form comes back 422 with
each message by its field and the values kept; viewers read but cannot change; another
organisation's rule is not found; user text is escaped."""

from __future__ import annotations

import html

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import Rule
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import World, session_headers


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    headers = session_headers(app, user, csrf=False)
    token = headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]
    return headers, token


def _rules(db: sessionmaker[Session], org_id: int) -> list[Rule]:
    with db() as session:
        return list(session.scalars(select(Rule).where(Rule.organisation_id == org_id)))


def _form(token: str, **fields: str | list[str]) -> dict[str, str | list[str]]:
    return {
        "csrf_token": token,
        "name": "<b>Unhappy</b> by email",
        "survey_id": "",
        "enabled": "on",
        "band": ["bottom"],
        "comment": "any",
        "contact_consent": "any",
        "segments": "channel=EMAIL",
        "tags": "unhappy, email",
        "case_priority": "normal",
        "intent": "save",
        **fields,
    }


def test_an_analyst_adds_tests_changes_and_deletes_a_rule(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    headers, token = _browser(app, org.users["analyst"])
    empty = client.get("/app/rules", headers=headers)
    assert empty.status_code == 200
    assert "No rules yet" in empty.text
    new = client.get("/app/rules/new", headers=headers)
    assert new.status_code == 200
    assert 'action="/app/rules/new"' in new.text

    tested = client.post("/app/rules/new", headers=headers, data=_form(token, intent="test"))
    assert tested.status_code == 200, tested.text
    # The world's answers: scores 2 and 1 by email are the unhappy ones.
    assert "Test on the last 10 answers" in tested.text
    assert "2 <span" in tested.text
    assert _rules(db, org.id) == []  # a test saves nothing
    assert 'value="channel=EMAIL"' in tested.text or "channel=EMAIL</textarea>" in tested.text

    saved = client.post(
        "/app/rules/new", headers=headers, data=_form(token), follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    [rule] = _rules(db, org.id)
    assert saved.headers["location"] == f"/app/rules/{rule.id}?saved=1"
    assert rule.conditions == {"band": ["bottom"], "segments": {"channel": ["EMAIL"]}}
    assert rule.actions == {"tag": ["unhappy", "email"]}
    listed = client.get("/app/rules", headers=headers).text
    assert html.escape("<b>Unhappy</b> by email") in listed
    assert "<b>Unhappy</b>" not in listed
    assert "tag unhappy, email" in listed

    changed = client.post(
        f"/app/rules/{rule.id}",
        headers=headers,
        data=_form(token, name="Unhappy", case="on", case_priority="high", enabled=""),
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    [rule] = _rules(db, org.id)
    assert rule.actions["case"] == {"priority": "high"}
    assert rule.enabled is False
    page = client.get(f"/app/rules/{rule.id}", headers=headers).text
    assert '<option value="high" selected>' in page

    gone = client.post(
        f"/app/rules/{rule.id}/delete",
        headers=headers,
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert _rules(db, org.id) == []


def test_a_refused_form_shows_each_message_by_its_field(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    headers, token = _browser(app, world.a.users["analyst"])
    answer = client.post(
        "/app/rules/new",
        headers=headers,
        data=_form(
            token,
            name="",
            segments="colour=red",
            score_min="abc",
            notice_addresses="not-an-address",
            tags="",
        ),
    )
    assert answer.status_code == 422
    page = answer.text
    for field in ("name", "segments", "score"):
        assert f'id="{field}-error"' in page, field
    assert 'id="notice_addresses-error"' in page
    assert "colour=red</textarea>" in page  # what was typed is kept
    assert _rules(db, world.a.id) == []
    nothing = client.post(
        "/app/rules/new", headers=headers, data=_form(token, tags="", segments="")
    )
    assert nothing.status_code == 422
    assert "choose at least one action" in nothing.text


def test_viewers_read_and_other_organisations_rules_are_not_found(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    headers, token = _browser(app, world.a.users["analyst"])
    client.post("/app/rules/new", headers=headers, data=_form(token), follow_redirects=False)
    [rule] = _rules(db, world.a.id)
    viewer, viewer_token = _browser(app, world.a.users["viewer"])
    assert client.get("/app/rules", headers=viewer).status_code == 200
    page = client.get(f"/app/rules/{rule.id}", headers=viewer)
    assert page.status_code == 200
    assert "Save the rule" not in page.text
    assert client.get("/app/rules/new", headers=viewer).status_code == 403
    refused = client.post(
        f"/app/rules/{rule.id}", headers=viewer, data=_form(viewer_token, name="Mine now")
    )
    assert refused.status_code == 403
    other, other_token = _browser(app, world.b.users["owner"])
    assert client.get(f"/app/rules/{rule.id}", headers=other).status_code == 404
    stolen = client.post(
        f"/app/rules/{rule.id}/delete", headers=other, data={"csrf_token": other_token}
    )
    assert stolen.status_code == 404
    assert len(_rules(db, world.a.id)) == 1
    no_token = client.post(f"/app/rules/{rule.id}/delete", headers=headers, data={})
    assert no_token.status_code == 403
