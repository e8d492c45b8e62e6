"""The case pages on SQLite and PostgreSQL: the inbox's tabs and bulk changes, and one
case's forms, all plain HTML forms with the CSRF token as a field; the comment shown with
personal data replaced and every user text escaped."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import cases
from cxpulse.store.models import CaseEvent, FollowUpCase, Response
from cxpulse.store.types import utc_now
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import World, session_headers


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    headers = session_headers(app, user, csrf=False)
    token = headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]
    return headers, token


def _open(db: sessionmaker[Session], org_id: int, response_id: int, **fields: object) -> int:
    with db.begin() as session:
        case_id = cases.open_case(session, org_id, response_id=response_id, **fields)  # type: ignore[arg-type]
        assert case_id is not None
        return case_id


def test_the_inbox_tabs_and_an_overdue_case_in_red(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    mine = _open(
        db,
        org.id,
        org.response_id,
        assignee_user_id=org.users["agent"],
        title="<script>x</script> refund",
    )
    late = _open(db, org.id, org.response_id + 1, priority="urgent")
    with db.begin() as session:
        row = session.get(FollowUpCase, late)
        assert row is not None
        row.due_at = utc_now() - timedelta(hours=3, minutes=5)
    headers, _ = _browser(app, org.users["agent"])
    page = client.get("/app/cases", headers=headers)
    assert page.status_code == 200
    text = page.text
    assert f'href="/app/cases/{mine}"' in text
    assert f'href="/app/cases/{late}"' not in text  # the Mine tab
    assert "<script>x</script>" not in text
    assert html.escape("<script>x</script>", quote=False) in text
    overdue = client.get("/app/cases?view=overdue", headers=headers).text
    assert f'href="/app/cases/{late}"' in overdue
    assert re.search(r'class="overdue"[^>]*>overdue by 3 h<', overdue)
    everything = client.get(
        "/app/cases?view=all&sort=due&state=any&priority=nonsense", headers=headers
    ).text
    assert everything.index(f'/app/cases/{late}"') < everything.index(f'/app/cases/{mine}"')
    assert (
        client.get("/app/cases", headers=session_headers(app, org.users["viewer"])).status_code
        == 403
    )
    assert client.get("/app/cases", follow_redirects=False).status_code == 303


def test_bulk_changes_without_javascript(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    ids = [_open(db, org.id, org.response_id + n) for n in range(3)]
    other = _open(db, world.b.id, world.b.response_id)
    headers, token = _browser(app, org.users["agent"])
    form = {
        "csrf_token": token,
        "case_id": [str(case_id) for case_id in (*ids[:2], other)],
        "priority": "urgent",
        "assignee": str(org.users["agent"]),
    }
    done = client.post(
        "/app/cases/bulk?back=/app/cases%3Fview%3Dall",
        headers=headers,
        data=form,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/app/cases?view=all&done=2+cases+changed")
    with db() as session:
        rows = {row.id: row for row in session.scalars(select(FollowUpCase))}
    assert [rows[i].priority for i in ids] == ["urgent", "urgent", "normal"]
    assert rows[other].priority == "normal"
    refused = client.post(
        "/app/cases/bulk",
        headers=headers,
        data={"csrf_token": token, "case_id": str(ids[0]), "state": "resolved"},
    )
    assert refused.status_code == 422
    assert "Nothing was changed" in refused.text
    assert "must not be empty" in refused.text
    no_token = client.post(
        "/app/cases/bulk", headers=headers, data={"case_id": str(ids[0]), "priority": "low"}
    )
    assert no_token.status_code == 403
    evil_back = client.post(
        "/app/cases/bulk?back=https://evil.example/",
        headers=headers,
        data=form,
        follow_redirects=False,
    )
    assert evil_back.headers["location"].startswith("/app/cases?done=")


def test_working_a_case_from_its_page(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    with db.begin() as session:
        answer = session.get(Response, org.response_id)
        assert answer is not None
        answer.comment = "Call me on +46 70 123 45 67 or mail ana@example.com <b>now</b>"
    case_id = _open(db, org.id, org.response_id)
    headers, token = _browser(app, org.users["agent"])
    url = f"/app/cases/{case_id}"
    page = client.get(url, headers=headers).text
    assert "ana@example.com" not in page
    assert "&lt;b&gt;now&lt;/b&gt;" in page
    assert "The customer&#39;s timeline" in page or "The customer's timeline" in page
    steps = [
        ("notes", {"body": "Tried to call"}, "Note added."),
        ("assignment", {"assignee": str(org.users["agent"]), "team": "none"}, "Assignment saved."),
        ("priority", {"priority": "high"}, "Priority saved."),
        ("reply", {"body": "We are sorry", "subject": ""}, "Email queued"),
        ("state", {"state": "resolved", "resolution_reason": "Refunded"}, "State saved."),
    ]
    for path, fields, notice in steps:
        posted = client.post(
            f"{url}/{path}",
            headers=headers,
            data={"csrf_token": token, **fields},
            follow_redirects=False,
        )
        assert posted.status_code == 303, (path, posted.text)
        assert notice in client.get(posted.headers["location"], headers=headers).text
    with db() as session:
        kinds = session.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        ).all()
    assert kinds == ["created", "note", "assigned", "priority", "email_out", "state", "state"]
    refused = client.post(
        f"{url}/state", headers=headers, data={"csrf_token": token, "state": "wont_fix"}
    )
    assert refused.status_code == 422
    assert "a resolved case cannot become wont_fix" in refused.text
    empty = client.post(f"{url}/notes", headers=headers, data={"csrf_token": token, "body": "  "})
    assert empty.status_code == 422
    assert "must not be empty" in empty.text
    other_headers, other_token = _browser(app, world.b.users["agent"])
    assert client.get(url, headers=other_headers).status_code == 404
    assert (
        client.post(
            f"{url}/notes", headers=other_headers, data={"csrf_token": other_token, "body": "x"}
        ).status_code
        == 404
    )
    viewer, viewer_token = _browser(app, org.users["viewer"])
    assert (
        client.post(
            f"{url}/notes", headers=viewer, data={"csrf_token": viewer_token, "body": "x"}
        ).status_code
        == 403
    )


def test_the_stylesheet_is_served(client: TestClient) -> None:
    answer = client.get("/static/cases.css")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/css")
    assert ".overdue" in answer.text
