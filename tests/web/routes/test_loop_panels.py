"""The follow-ups on the pages (the dashboard's panel, the overview's card line) and through
``GET /api/v1/surveys/{id}/loop-figures``, on SQLite and PostgreSQL: the same numbers at
every door, and nothing shown for a survey without cases.

Organisation A gets an NPS survey answered in the last 30 days: 5 detractors (4 with a case:
2 resolved, 1 won't fix, 1 new and past its due time) and 5 promoters; the ``world`` CSAT
survey has no case.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from tests.case_rows import answer, answer_with_case

from cxpulse.report import dashboard
from cxpulse.report.comparison_windows import comparison_windows
from cxpulse.report.loop_figures import LoopFigures
from cxpulse.store import surveys
from cxpulse.web.routes import loop_figures_api

from ..helpers import World, bearer, session_headers

H = timedelta(hours=1)


def _today() -> date:
    return datetime.now(UTC).date()


@pytest.fixture
def routed(app: FastAPI) -> FastAPI:
    """The app with the follow-up figures' API (registered by ``web.app`` once it lists it)."""
    paths = {getattr(route, "path", None) for route in app.routes}
    if "/api/v1/surveys/{survey_id}/loop-figures" not in paths:
        app.include_router(loop_figures_api.router)
    return app


@pytest.fixture
def loyalty(world: World, db: sessionmaker[Session]) -> int:
    start = datetime.combine(_today() - timedelta(days=10), time(6), UTC)
    with db() as session:
        org = world.a.id
        sid = surveys.create_survey(session, org, slug="nps", name="Loyalty NPS", metric="nps").id
        answer_with_case(
            session, org, sid, 0, start, state="resolved", contact_after=H,
            close_after=5 * H, due_after=4 * H, recovery_score=10,
        )  # fmt: skip
        answer_with_case(
            session, org, sid, 2, start + H, state="resolved", contact_after=3 * H,
            close_after=30 * H, due_after=4 * H, recovery_score=7,
        )  # fmt: skip
        answer_with_case(
            session, org, sid, 5, start + 2 * H, state="wont_fix", contact_after=6 * H,
            close_after=8 * H, due_after=4 * H,
        )  # fmt: skip
        answer_with_case(session, org, sid, 6, start + 3 * H, state="new", due_after=4 * H)
        answer(session, org, sid, 1, start + 4 * H)
        for n in range(5):
            answer(session, org, sid, 10, start + (5 + n) * H)
        session.commit()
        return sid


def _text(markup: str) -> str:
    """What a reader sees of ``markup``: its text without tags, spaces run together."""
    # Not str.split(): it would take the no-break space of "3.0 h" for a space too.
    return re.sub(r"[ \t\n]+", " ", re.sub(r"<[^>]+>", "", markup))


def _get(client: TestClient, app: FastAPI, user: int, url: str) -> str:
    found = client.get(url, headers=session_headers(app, user))
    assert found.status_code == 200, found.text[:500]
    return html.unescape(found.text)


def _expected(db: sessionmaker[Session], world: World, survey_id: int) -> LoopFigures:
    window = comparison_windows("30d", _today()).current
    with db() as session:
        survey = surveys.get_survey(session, world.a.id, survey_id)
        found = dashboard.follow_ups(session, world.a.id, survey, window)
    assert found is not None
    return found


def test_the_dashboard_panel_reads_in_one_line(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session], loyalty: int
) -> None:
    page = _get(client, app, world.a.users["viewer"], f"/app/surveys/{loyalty}")
    panel = _text(page.split('id="follow-ups"', 1)[1].split("</section>", 1)[0])
    expected = _expected(db, world, loyalty)
    assert expected.line() == (
        "4 cases · first contact median 3.0\u00a0h · 2 past SLA · closed loop 60% (23–88%, n=5, "
        "too few to read)"
    )
    assert expected.line() in panel
    for row in expected.rows():
        assert row.label in panel
        assert row.value in panel
        assert row.detail in panel
        assert row.interval in panel
        assert row.base in panel
    assert "too few cases to read" in panel
    # No case, no panel.
    plain = _get(client, app, world.a.users["viewer"], f"/app/surveys/{world.a.survey_id}")
    assert 'id="follow-ups"' not in plain
    assert "Follow-ups" not in plain


def test_the_overview_card_has_the_same_line(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session], loyalty: int
) -> None:
    page = _get(client, app, world.a.users["viewer"], "/app")

    def card(survey_id: int) -> str:
        start = page.index(f'aria-labelledby="ov-{survey_id}"')
        return page[start : page.index("</article>", start)]

    assert "Follow-ups: " + _expected(db, world, loyalty).line() in _text(card(loyalty))
    assert "Follow-ups" not in card(world.a.survey_id)
    # Organisation B sees nothing of A's cases.
    other = _get(client, app, world.b.users["viewer"], "/app")
    assert "Follow-ups" not in other


def test_the_api_gives_the_pages_numbers(
    client: TestClient, routed: FastAPI, world: World, db: sessionmaker[Session], loyalty: int
) -> None:
    url = f"/api/v1/surveys/{loyalty}/loop-figures"
    found = client.get(url, headers=bearer(world.a.read_key))
    assert found.status_code == 200, found.text
    body = found.json()
    expected = _expected(db, world, loyalty).to_dict()
    assert {key: body[key] for key in expected} == expected
    assert body["closed_loop_rate"]["part"] == 3
    assert body["closed_loop_rate"]["n"] == 5
    assert body["closed_loop_rate"]["band"] == "Detractors 0–6"
    assert body["period"] == "Last 30 days"
    assert body["end"] == (_today() + timedelta(days=1)).isoformat()
    week = client.get(url + "?compare=week", headers=bearer(world.a.read_key)).json()
    assert week["cases"] == 0
    assert week["closed_loop_rate"]["value"] is None
    long_ago = client.get(url + "?to=2020-01-31", headers=bearer(world.a.read_key)).json()
    assert long_ago["start"] == "2020-01-02"
    assert long_ago["cases"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [("compare=fortnight", "compare"), ("to=0001-01-01", "to"), ("to=yesterday", "to")],
)
def test_the_api_refuses_a_bad_period_with_its_field(
    client: TestClient, routed: FastAPI, world: World, loyalty: int, query: str, field: str
) -> None:
    found = client.get(
        f"/api/v1/surveys/{loyalty}/loop-figures?{query}", headers=bearer(world.a.read_key)
    )
    assert found.status_code == 422, found.text
    assert field in str(found.json())


def test_the_api_keeps_organisations_apart(
    client: TestClient, routed: FastAPI, world: World, loyalty: int
) -> None:
    url = f"/api/v1/surveys/{loyalty}/loop-figures"
    assert client.get(url, headers=bearer(world.b.read_key)).status_code == 404
    assert client.get(url).status_code == 401
