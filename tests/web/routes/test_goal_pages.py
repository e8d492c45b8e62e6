"""Goals set and removed from the dashboard with plain forms, on SQLite and PostgreSQL."""

from __future__ import annotations

import html

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import Goal
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import World, session_headers
from .context_support import survey_with_answers


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
    assert '<td data-label="Metric">DSAT</td>' in table
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


# --- the form and the table follow the survey's metric -----------------------------------


def _section(page: str, start: str, end: str) -> str:
    return page.split(start, 1)[1].split(end, 1)[0]


@pytest.mark.parametrize(
    ("metric", "scores", "example", "target", "shown", "help_words", "foreign"),
    [
        ("csat", [5, 5, 4, 2], "CSAT to 85% by spring", "85", "85.0%", "85 means 85%", "NPS"),
        ("nps", [10, 9, 8, 3], "NPS to +30 by June", "30", "+30.0", "not a percent", "85%"),
        ("ces", [6, 5, 6, 4], "CES to 5.5 of 7 by June", "5.5", "5.50", "higher is easier", "%"),
    ],
)
def test_the_goal_form_and_table_follow_the_survey_metric(
    app: FastAPI,
    client: TestClient,
    world: World,
    db: sessionmaker[Session],
    metric: str,
    scores: list[int],
    example: str,
    target: str,
    shown: str,
    help_words: str,
    foreign: str,
) -> None:
    survey_id = survey_with_answers(db, world.a.id, metric, {"email": scores})
    headers, token = _browser(app, world.a.users["analyst"])
    page = client.get(f"/app/surveys/{survey_id}", headers=headers).text
    form = _section(page, 'class="goal-form"', "</details>")
    assert f'placeholder="{example}"' in form
    assert f'placeholder="{target}"' in form
    help_text = _section(form, 'id="goal-target-help"', "</span>")
    assert help_words in help_text
    assert foreign not in form
    assert "CSAT to 85%" not in form or metric == "csat"
    made = client.post(
        f"/app/surveys/{survey_id}/goals",
        headers=headers,
        data={"csrf_token": token, "name": example, "target": target, "months": "1"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text[:300]
    table = _section(
        client.get(f"/app/surveys/{survey_id}", headers=headers).text,
        'id="goals-table"',
        "</table>",
    )
    assert f'<td class="num" data-label="Target">{shown}</td>' in table


def test_goals_show_a_progress_bar_a_status_in_colour_and_word_and_honest_forecasts(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    # Six weeks of the same answers: CSAT 75% every week, a flat trend.
    survey_id = survey_with_answers(db, world.a.id, "csat", {"email": [5, 5, 4, 2]})
    headers, token = _browser(app, world.a.users["analyst"])
    url = f"/app/surveys/{survey_id}/goals"
    for name, months, baseline in (("Soon", "1", "80"), ("In a year", "12", "")):
        fields = {"csrf_token": token, "name": name, "target": "90", "months": months}
        if baseline:
            fields["baseline"] = baseline
        made = client.post(url, headers=headers, data=fields, follow_redirects=False)
        assert made.status_code == 303, made.text[:300]
    page = client.get(f"/app/surveys/{survey_id}", headers=headers).text
    rows = _section(page, 'id="goals-table"', "</table>").split("<tr>")[2:]
    soon, year = (rows[0], rows[1]) if "Soon" in rows[0] else (rows[1], rows[0])
    # 80% -> 90% and now at 75%: half the way backwards. The bar stays at 0, the number and
    # the words say what happened.
    assert '<progress max="100" value="0.0" aria-hidden="true"></progress>' in soon
    assert "\N{MINUS SIGN}50%" in soon
    assert "moved away from the target" in soon
    # Due in a month with six weeks behind the line: a forecast (flat at 75%), off track.
    assert "75.0% <span" in soon
    assert '<span class="goal-status status-off-track">' in soon
    assert "off track</span>" in soon
    # Due in a year with six weeks of answers: no forecast, and why.
    assert "not enough history to forecast: due in 12 months, which needs 53 weeks" in year
    assert '<span class="goal-status status-not-enough-data">' in year
    assert "not enough data</span>" in year
    assert ">0%<" in year  # the baseline is today's value
    for row in (soon, year):
        assert "-0.0" not in row
        assert "\N{MINUS SIGN}0.0" not in row
        assert "−0%" not in row
    method = _section(page, 'class="goal-method"', "</details>")
    assert "no further ahead than the history behind it" in method
