"""The overview at ``/app`` on SQLite and PostgreSQL: one card per survey with its headline
for the comparison chosen, in its units, every number linked to exactly its answers.

Besides the ``world`` survey (10 CSAT answers in January 2025, none in the last 30 days),
organisation A gets an NPS survey and a CES survey answered relative to today: 40 answers in
the last 30 days (10 commented) and 40 in the 30 days before.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import responses, surveys

from ..helpers import World, session_headers

LINK = re.compile(r'href="(/app/surveys/\d+/responses\?[^"]*)"[^>]*>([^<]*)<')
MINUS = "\u2212"


def _today() -> date:
    return datetime.now(UTC).date()


def _add(
    session: Session, org: int, survey: int, day: date, scores: list[float], comments: int
) -> None:
    start = datetime.combine(day, time(6), UTC)
    responses.add_responses(
        session,
        org,
        [
            responses.NewResponse(
                survey_id=survey,
                score=score,
                submitted_at=start + timedelta(minutes=n),
                comment=f"note {n}" if n < comments else None,
            )
            for n, score in enumerate(scores)
        ],
    )


@pytest.fixture
def surveys_now(world: World, db: sessionmaker[Session]) -> tuple[int, int]:
    """(NPS survey, CES survey) of organisation A: NPS from +100 before to −100 now (40 and
    40 answers: significant, down 200 points); CES 6 before and 6 now (no change)."""
    today = _today()
    with db() as session:
        org = world.a.id
        nps = surveys.create_survey(session, org, slug="nps", name="Loyalty NPS", metric="nps")
        ces = surveys.create_survey(session, org, slug="ces", name="Returns CES", metric="ces")
        _add(session, org, nps.id, today - timedelta(days=40), [10.0] * 40, comments=0)
        _add(session, org, nps.id, today - timedelta(days=5), [0.0] * 40, comments=10)
        _add(session, org, ces.id, today - timedelta(days=40), [6.0, 5.0] * 20, comments=0)
        _add(session, org, ces.id, today - timedelta(days=5), [5.0, 6.0] * 20, comments=3)
        session.commit()
        return nps.id, ces.id


def _page(client: TestClient, app: FastAPI, user: int, url: str = "/app") -> str:
    answer = client.get(url, headers=session_headers(app, user))
    assert answer.status_code == 200, answer.text[:500]
    return answer.text


def _card(page: str, survey_id: int) -> str:
    start = page.index(f'aria-labelledby="ov-{survey_id}"')
    return page[start : page.index("</article>", start)]


def _rows(page: str) -> int:
    body = page.split('id="responses-table"', 1)[1].split("</table>", 1)[0]
    return body.count('<th scope="row">')


def test_cards_in_their_units_with_their_verdicts(
    client: TestClient, app: FastAPI, world: World, surveys_now: tuple[int, int]
) -> None:
    nps, ces = surveys_now
    page = _page(client, app, world.a.users["analyst"])
    # The significant change comes first.
    assert page.index('id="ov-' + str(nps)) < page.index('id="ov-' + str(ces))
    assert page.index('id="ov-' + str(ces)) < page.index('id="ov-' + str(world.a.survey_id))
    nps_card = _card(page, nps)
    assert f">{MINUS}100.0<" in nps_card
    assert f"from {MINUS}100 to 100" in nps_card
    assert "down 200.0 points, significant" in nps_card
    assert "tone-worse" in nps_card
    ces_card = _card(page, ces)
    assert ">5.5 of 7<" in ces_card
    assert "higher is easier" in ces_card
    assert "no significant change" in ces_card
    assert "tone-quiet" in ces_card
    empty = _card(page, world.a.survey_id)
    assert "No answers last 30 days" in empty
    assert "Last answer on 2025-01-10." in empty
    # Organisation B's survey is not A's business.
    assert f'id="ov-{world.b.survey_id}"' not in page


def test_a_period_with_too_few_answers_says_so(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    """10 CSAT answers in the last 30 days, 4 of them 4 or 5, none before: the card shows
    CSAT 40.0% with n = 10 flagged as too few to read, and no change."""
    with db() as session:
        survey = surveys.create_survey(
            session, world.a.id, slug="small", name="Small CSAT", metric="csat"
        )
        _add(
            session,
            world.a.id,
            survey.id,
            _today() - timedelta(days=3),
            [1.0, 2.0, 3.0, 4.0, 5.0] * 2,
            0,
        )
        session.commit()
        survey_id = survey.id
    card = _card(_page(client, app, world.a.users["viewer"]), survey_id)
    assert ">40.0%<" in card
    assert 'n = 10 <span class="flag">too few to read</span>' in card
    assert "too few answers to compare (0 before, 10 now)" in card
    assert "tone-too-few" in card
    assert "change " not in card


def test_every_number_links_to_exactly_its_answers(
    client: TestClient, app: FastAPI, world: World, surveys_now: tuple[int, int]
) -> None:
    nps, _ = surveys_now
    user = world.a.users["analyst"]
    card = _card(_page(client, app, user), nps)
    links = [(html.unescape(href), text.strip()) for href, text in LINK.findall(card)]
    counts = [(href, int(text)) for href, text in links if text.isdigit()]
    # n now, n before, the answers of the period and its new comments.
    assert sorted(n for _, n in counts) == [10, 40, 40, 40]
    for href, n in counts:
        assert _rows(_page(client, app, user, href)) == n, href
    assert [n for href, n in counts if "has_comment=true" in href] == [10]
    # The score links to the answers it counts: for NPS, all of the period's.
    value = next(href for href, text in links if text.startswith(MINUS))
    assert _rows(_page(client, app, user, value)) == 40


def test_the_line_of_twelve_months_has_a_text(
    client: TestClient, app: FastAPI, world: World, surveys_now: tuple[int, int]
) -> None:
    nps, _ = surveys_now
    card = _card(_page(client, app, world.a.users["viewer"]), nps)
    assert '<svg viewBox="0 0 240 44"' in card
    assert 'role="img"' in card
    assert "<title" in card
    assert "By month," in card
    assert "<polyline" in card or "<circle" in card


def test_viewers_see_numbers_without_links(
    client: TestClient, app: FastAPI, world: World, surveys_now: tuple[int, int]
) -> None:
    page = _page(client, app, world.a.users["viewer"])
    assert not LINK.findall(page)
    assert "down 200.0 points, significant" in page


def test_the_compare_switch(
    client: TestClient, app: FastAPI, world: World, surveys_now: tuple[int, int]
) -> None:
    user = world.a.users["viewer"]
    page = _page(client, app, user)
    for choice in ("week", "mtd", "quarter", "year"):
        assert f'href="/app?compare={choice}"' in page
    assert '<a href="/app" aria-current="page">30 days</a>' in page
    year = _page(client, app, user, "/app?compare=year")
    assert 'aria-current="page">365 days</a>' in year
    today = _today()
    assert f"({today - timedelta(days=364)} to {today})" in year
    # Over a year, 80 NPS answers: the 10 of January 2025 only for a year that reaches it.
    nps, _ = surveys_now
    assert "n = 80" in _card(year, nps)
    bad = client.get("/app?compare=decade", headers=session_headers(app, user))
    assert bad.status_code == 422
    assert "must be one of week, 30d, mtd, quarter, year" in bad.text


def test_no_surveys(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    with db() as session:
        surveys.delete_survey(session, world.b.id, world.b.survey_id)
        session.commit()
    assert "No surveys yet." in _page(client, app, world.b.users["viewer"])
