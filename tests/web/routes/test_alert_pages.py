"""The alert pages (``/app/alerts``, ``/app/alerts/{id}`` and its close form), on SQLite
and PostgreSQL."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import alerts
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import World, session_headers
from .test_alerts_api import DROP, _raise


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    headers = session_headers(app, user, csrf=False)
    token = headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]
    return headers, token


def test_the_list_shows_each_alert_with_its_numbers_and_dashboard_view(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    mine = _raise(
        db,
        a.id,
        a.survey_id,
        "score-drop:x",
        segments=[
            DROP,
            {**DROP, "segment": "all", "change": -12.0, "explanation": "CSAT <b>fell</b>"},
        ],
    )
    theirs = _raise(db, world.b.id, world.b.survey_id, "score-drop:y")
    viewer, _ = _browser(app, a.users["viewer"])
    page = client.get("/app/alerts", headers=viewer)
    assert page.status_code == 200
    html = page.text
    assert f'href="/app/alerts/{mine}"' in html
    assert f"/app/alerts/{theirs}" not in html
    assert "−31.5" in html or "-31.5" in html
    assert "-44.2 to -18.9" in html
    assert "1,680 / 60" in html
    assert f"/app/surveys/{a.survey_id}?from=2026-10-23&amp;to=2026-11-20" in html
    # The view it links to is a dashboard page that opens.
    view = f"/app/surveys/{a.survey_id}?from=2026-10-23&to=2026-11-20&grain=day&channel=email"
    assert view.replace("&", "&amp;") in html
    assert client.get(view, headers=viewer).status_code == 200
    assert "Support CSAT" in html
    closed = client.get("/app/alerts?state=closed", headers=viewer).text
    assert f"/app/alerts/{mine}" not in closed
    one = client.get(f"/app/alerts/{mine}", headers=viewer)
    assert one.status_code == 200
    assert "&lt;b&gt;fell&lt;/b&gt;" in one.text  # every text escaped
    assert "Close this alert" not in one.text  # a viewer may not close it
    assert client.get(f"/app/alerts/{theirs}", headers=viewer).status_code == 404


def test_closing_an_alert_from_its_page(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    alert_id = _raise(db, a.id, a.survey_id, "score-drop:z")
    theirs = _raise(db, world.b.id, world.b.survey_id, "score-drop:w")
    url = f"/app/alerts/{alert_id}/close"
    viewer, viewer_token = _browser(app, a.users["viewer"])
    assert client.post(url, headers=viewer, data={"csrf_token": viewer_token}).status_code == 403
    analyst, token = _browser(app, a.users["analyst"])
    assert "Close this alert" in client.get(f"/app/alerts/{alert_id}", headers=analyst).text
    assert client.post(url, headers=analyst, data={"csrf_token": "forged"}).status_code == 403
    assert client.post(url, data={"csrf_token": token}).status_code == 401
    other = f"/app/alerts/{theirs}/close"
    assert client.post(other, headers=analyst, data={"csrf_token": token}).status_code == 404
    done = client.post(url, headers=analyst, data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/app/alerts/{alert_id}?closed=1"
    shown = client.get(done.headers["location"], headers=analyst).text
    assert "The alert was closed." in shown
    assert "Close this alert" not in shown
    with db() as session:
        assert alerts.get_alert(session, a.id, alert_id).state == "closed"
        assert alerts.get_alert(session, world.b.id, theirs).state == "open"
