"""A response property whose name holds a double quote (or any other character a JSON path
gives meaning to) works as a goal's segment and a dashboard filter: the survey's dashboard,
its goals and its monthly report answer 200, on SQLite and PostgreSQL.

Before the fix, SQLite read ``$."a"b"`` as a malformed JSON path and every page that counted
the goal's segment answered 503 "database is busy" until the goal was deleted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape

from ..helpers import World, bearer, session_headers

HOSTILE_NAMES = ['a"b', "a\\b", 'x".y[0]', "café 😀"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_goal_and_a_filter_on_a_hostile_property_name_keep_the_pages_up(
    client: TestClient, app: FastAPI, world: World, name: str
) -> None:
    org = world.a
    base = f"/api/v1/surveys/{org.survey_id}"
    now = datetime.now(UTC).replace(microsecond=0)
    # Answers this month and last, so that the goal's current value, the dashboard's window
    # and the monthly report all count some of them.
    for day, score, value in ((1, 5, "x"), (2, 1, "x"), (3, 4, "y"), (35, 5, "x")):
        sent = client.post(
            f"{base}/responses",
            headers=bearer(org.write_key),
            json={
                "score": score,
                "comment": f"answer {day} {value}",
                "submitted_at": (now - timedelta(days=day)).isoformat(),
                # "a" too: SQLite read the path $."a"b" as key "a" followed by junk, and
                # failed only on rows that have an "a".
                "properties": {name: value, "a": value},
            },
        )
        assert sent.status_code == 201, sent.text
    created = client.post(
        f"{base}/goals",
        headers=bearer(org.write_key),
        json={
            "name": "Segment on a hostile name",
            "target": 90,
            "months": 3,
            "baseline": 50,
            "segment": {f"property:{name}": "x"},
        },
    )
    assert created.status_code == 201, created.text
    # The goal's current value counts the segment's two answers of the last 30 days (5 and
    # 1: CSAT 50 %), not the "y" one nor the one of 35 days ago.
    goal = created.json()
    assert goal["segment"] == {f"property:{name}": "x"}
    assert (goal["current"], goal["current_n"]) == (50.0, 2)

    analyst = session_headers(app, org.users["analyst"])
    last_month = (now.date().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    pages = [
        f"/app/surveys/{org.survey_id}",
        f"/app/surveys/{org.survey_id}?" + urlencode({f"property.{name}": "x"}),
        f"/app/surveys/{org.survey_id}?"
        + urlencode({"segment": f"property:{name}", "segment_value": "x"}),
        f"/app/surveys/{org.survey_id}?" + urlencode({"by": f"property:{name}"}),
        f"/app/surveys/{org.survey_id}/responses?" + urlencode({f"property.{name}": "x"}),
        f"/app/surveys/{org.survey_id}/report?month={last_month}",
        f"/app/surveys/{org.survey_id}/report",
    ]
    for url in pages:
        answer = client.get(url, headers=analyst)
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
    # A breakdown by the name has a row for each of its values.
    broken_down = client.get(pages[3], headers=analyst).text
    table = broken_down.split('id="breakdown-table"', 1)[1].split("</table>", 1)[0]
    assert f"by {escape(f'property:{name}')}," in table
    assert '<th scope="row">x' in table
    assert '<th scope="row">y' in table
    # The dashboard's goals table shows the goal, with its current value.
    dashboard = client.get(pages[0], headers=analyst).text
    table = dashboard.split('id="goals-table"', 1)[1].split("</table>", 1)[0]
    assert "Segment on a hostile name" in table
    assert f"{escape(f'property:{name}')} = x" in table  # the name shown escaped and whole
    assert "(n = 2)" in table  # the current value counts the segment's 2 answers
    # The drill-down lists exactly the segment's answers.
    listed = client.get(pages[4], headers=analyst).text
    table = listed.split('id="responses-table"', 1)[1].split("</table>", 1)[0]
    assert "answer 1 x" in table
    assert "answer 2 x" in table
    assert "answer 3 y" not in table
    goals = client.get(f"{base}/goals", headers=bearer(org.read_key))
    assert goals.status_code == 200, goals.text
    [reported] = goals.json()["items"]
    assert (reported["current"], reported["current_n"]) == (50.0, 2)
