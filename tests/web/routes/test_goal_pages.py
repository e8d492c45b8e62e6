"""Goals set and removed from the dashboard with plain forms, on SQLite and PostgreSQL."""

from __future__ import annotations

import html

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import Goal
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import World, session_headers


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    """A browser's cookies (no CSRF header: forms carry the token as a field) and the token."""
    headers = session_headers(app, user, csrf=False)
    token = headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]
    return headers, token


def _goals(db: sessionmaker[Session], survey_id: int) -> list[Goal]:
    with db() as session:
        return list(session.scalars(select(Goal).where(Goal.survey_id == survey_id)))


def _form(token: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "Fewer unhappy customers",
        "metric": "dsat",
        "target": "10",
        "months": "6",
        "baseline": "20",
        **fields,
    }


def test_an_analyst_sets_and_removes_a_goal_without_javascript(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    headers, token = _browser(app, org.users["analyst"])
    page = client.get(f"/app/surveys/{org.survey_id}", headers=headers).text
    assert f'action="/app/surveys/{org.survey_id}/goals"' in page
    assert '<option value="dsat">DSAT</option>' in page
    answer = client.post(
        f"/app/surveys/{org.survey_id}/goals",
        headers=headers,
        data=_form(token, segment="channel=email", name="<b>DSAT</b> down"),
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/app/surveys/{org.survey_id}#goals-heading"
    [goal] = _goals(db, org.survey_id)
    assert (goal.metric, goal.target, goal.baseline, goal.segment) == (
        "dsat",
        10.0,
        20.0,
        {"channel": "email"},
    )
    page = client.get(f"/app/surveys/{org.survey_id}", headers=headers).text
    table = page.split('id="goals-table"', 1)[1].split("</table>", 1)[0]
    assert html.escape("<b>DSAT</b> down", quote=False) in table
    assert "<b>DSAT</b>" not in table
    assert "<td>DSAT</td>" in table
    removed = client.post(
        f"/app/surveys/{org.survey_id}/goals/{goal.id}/delete",
        headers=headers,
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert _goals(db, org.survey_id) == []


def test_a_refused_goal_names_the_field_and_stores_nothing(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    headers, token = _browser(app, org.users["analyst"])
    for fields, field in (
        ({"target": "150"}, "target"),
        ({"target": "lots"}, "target"),
        ({"metric": "nps", "target": "30", "baseline": "10"}, "metric"),
        ({"segment": "email"}, "segment"),
        ({"due_date": "31/03/2027"}, "due_date"),
        ({"due_date": "", "months": "²"}, "months"),
        ({"name": " "}, "name"),
    ):
        answer = client.post(
            f"/app/surveys/{org.survey_id}/goals", headers=headers, data=_form(token, **fields)
        )
        assert answer.status_code == 422, (fields, answer.text[:300])
        assert f"not saved: {field} " in answer.text, fields
    assert _goals(db, org.survey_id) == []


def test_who_may_post_the_goal_forms(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    url = f"/app/surveys/{org.survey_id}/goals"
    viewer, viewer_token = _browser(app, org.users["viewer"])
    page = client.get(f"/app/surveys/{org.survey_id}", headers=viewer).text
    assert f'action="{url}"' not in page
    assert client.post(url, headers=viewer, data=_form(viewer_token)).status_code == 403
    analyst, token = _browser(app, org.users["analyst"])
    assert client.post(url, headers=analyst, data=_form("forged")).status_code == 403
    assert client.post(url, headers=analyst, data=_form("")).status_code == 403
    cross_site = {**analyst, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert client.post(url, headers=cross_site, data=_form(token)).status_code == 403
    assert client.post(url, data=_form(token)).status_code == 401
    # Another organisation's survey and goals are not found, exactly as missing ones.
    b_url = f"/app/surveys/{world.b.survey_id}/goals"
    assert client.post(b_url, headers=analyst, data=_form(token)).status_code == 404
    assert _goals(db, org.survey_id) == []
    assert _goals(db, world.b.survey_id) == []
    other, other_token = _browser(app, world.b.users["analyst"])
    made = client.post(b_url, headers=other, data=_form(other_token), follow_redirects=False)
    assert made.status_code == 303
    [b_goal] = _goals(db, world.b.survey_id)
    delete_b = f"/app/surveys/{org.survey_id}/goals/{b_goal.id}/delete"
    assert client.post(delete_b, headers=analyst, data={"csrf_token": token}).status_code == 404
    assert len(_goals(db, world.b.survey_id)) == 1
