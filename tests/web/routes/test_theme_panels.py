"""The themes and comments panels of the signed-in pages, on SQLite and PostgreSQL: the survey
dashboard (themes, comments, their chips), the drill-down by theme with redacted comments,
the overview's top themes and the monthly report's themes; what each role sees.

The ``world`` survey of organisation A holds 10 CSAT answers from 2025-01-01 with comments
"comment <n>"; the tests add analyses (by hand: the worker is off, so that nothing races
them) and, where a page needs them, answers of their own.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.store.analysis_support import analysed, answer, theme, write

from cxpulse.store import text_themes
from cxpulse.store.models import Response

from ..helpers import World, session_headers

pytestmark = pytest.mark.usefixtures("no_inline_worker")


def _get(client: TestClient, app: FastAPI, user: int, url: str, status: int = 200) -> str:
    found = client.get(url, headers=session_headers(app, user))
    assert found.status_code == status, found.text[:500]
    return found.text


def _section(page: str, section_id: str) -> str:
    return page.split(f'id="{section_id}"', 1)[1].split("</section>", 1)[0]


def _analyse_world(db: sessionmaker[Session], world: World) -> None:
    """Organisation A's 10 answers analysed: the scores of 1 and 2 (n = 0, 1, 5, 6) mention
    delivery and say so to ann@example.com; the rest mention nothing; one answer of 1 is
    added with a comment the worker has not read."""
    with db() as session:
        org = world.a.id
        delivery = theme(session, org, "delivery", "late")
        rows = session.scalars(
            select(Response).where(Response.survey_id == world.a.survey_id).order_by(Response.id)
        ).all()
        found = []
        for row in rows:
            row.comment = f"{row.comment}, mail ann@example.com"
            mentions = [(delivery.id, "negative")] if row.score <= 2 else []
            found.append(analysed(row, mentions, sentiment="negative" if mentions else "positive"))
        session.flush()
        write(session, org, *found)
        answer(
            session,
            org,
            world.a.survey_id,
            1,
            "waiting for the worker",
            at=datetime(2025, 1, 10, 12, tzinfo=UTC),
        )
        session.commit()


def test_before_the_worker_the_panels_say_so(
    client: TestClient, app: FastAPI, world: World
) -> None:
    page = _get(client, app, world.a.users["analyst"], f"/app/surveys/{world.a.survey_id}")
    themes = _section(page, "themes")
    assert "Analysing 10 comments…" in themes
    comments = _section(page, "comments")
    assert "Analysing 10 comments…" in comments
    assert "No comment of this period has been read yet." in comments
    assert 'class="cm-filters"' not in comments


def test_the_survey_page_shows_themes_and_comments(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    _analyse_world(db, world)
    base = f"/app/surveys/{world.a.survey_id}"
    page = _get(client, app, world.a.users["analyst"], base)
    themes = _section(page, "themes")
    assert "Analysing 1 comment…" in themes
    assert "Delivery" in themes
    # Under 30 mentions: in the table, flagged, never called a cost.
    assert "too few" in themes
    assert f'href="{base}/responses?theme=delivery"' in html.unescape(themes)
    comments = _section(page, "comments")
    assert comments.count('class="cm-card"') == 10
    assert "ann@example.com" not in page
    assert "[email]" in comments
    chips = re.findall(r'href="(\?[^"]*#comments)"', html.unescape(comments))
    assert "?comments.band=bottom#comments" in chips
    assert "?comments.theme=delivery#comments" in chips
    assert "stylesheet" in page
    assert "/static/themes.css" in page


def test_comment_chips_filter_and_bad_ones_are_named(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    _analyse_world(db, world)
    base = f"/app/surveys/{world.a.survey_id}"
    user = world.a.users["agent"]
    bottom = _section(_get(client, app, user, base + "?comments.band=bottom"), "comments")
    assert bottom.count('class="cm-card"') == 4
    assert 'aria-current="true">Dissatisfied 1–2<' in bottom
    themed = _section(_get(client, app, user, base + "?comments.theme=delivery"), "comments")
    assert themed.count('class="cm-card"') == 4
    page = _get(client, app, user, base + "?comments.band=worst", status=422)
    assert "comments.band" in page
    assert _section(page, "comments").count('class="cm-card"') == 10


def test_a_viewer_sees_the_themes_but_no_comment(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    _analyse_world(db, world)
    page = _get(client, app, world.a.users["viewer"], f"/app/surveys/{world.a.survey_id}")
    assert 'id="themes"' in page
    assert 'id="comments"' not in page
    assert "comment 0" not in page
    assert "/responses?theme=" not in page


def test_the_drill_down_by_theme(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    _analyse_world(db, world)
    base = f"/app/surveys/{world.a.survey_id}/responses"
    page = _get(client, app, world.a.users["agent"], base + "?theme=delivery")
    table = page.split('id="responses-table"', 1)[1].split("</table>", 1)[0]
    assert table.count('<th scope="row">') == 4
    assert "whose comment mentions the theme “Delivery”" in page
    assert "ann@example.com" not in page
    assert table.count("[email]") == 4
    # The comment not analysed yet is redacted as it is read.
    with db() as session:
        session.add(
            Response(
                organisation_id=world.a.id,
                survey_id=world.a.survey_id,
                score=3.0,
                comment="call bo@example.com",
                submitted_at=datetime(2025, 1, 10, 13, tzinfo=UTC),
            )
        )
        session.commit()
    everything = _get(client, app, world.a.users["agent"], base)
    assert "bo@example.com" not in everything
    assert "call [email]" in everything
    unknown = _get(client, app, world.a.users["agent"], base + "?theme=price")
    assert "which your taxonomy does not have" in unknown
    _get(client, app, world.a.users["agent"], base + "?theme=Not%20a%20key", status=422)


def test_the_overview_names_top_themes(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    """70 answers of the last days, 30 of them of 1 mentioning delivery: the card names it
    (both the answers with it and those without are at least 30)."""
    with db() as session:
        org = world.a.id
        delivery = theme(session, org, "delivery", "late")
        now = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        found = []
        for n in range(70):
            row = answer(
                session,
                org,
                world.a.survey_id,
                1 if n < 30 else 5,
                f"late {n}",
                at=now - timedelta(minutes=n),
            )
            found.append(analysed(row, [(delivery.id, "negative")] if n < 30 else []))
        write(session, org, *found)
        session.commit()
    page = _get(client, app, world.a.users["agent"], "/app")
    assert "Top themes in the comments" in page
    assert "theme=delivery" in page
    assert "Delivery" in page
    viewer = _get(client, app, world.a.users["viewer"], "/app")
    assert "Delivery" in viewer
    assert "theme=delivery" not in viewer


def test_the_monthly_report_lists_the_months_themes(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    _analyse_world(db, world)
    with db() as session:
        # 30 more mentions in January and 30 answers without, so that both sides are read
        # (n >= 30).
        for n in range(30):
            answer(
                session,
                world.a.id,
                world.a.survey_id,
                5,
                None,
                at=datetime(2025, 1, 21, tzinfo=UTC) + timedelta(minutes=n),
            )
        delivery = text_themes.get_theme_by_key(session, world.a.id, "delivery")
        found = [
            analysed(
                answer(
                    session,
                    world.a.id,
                    world.a.survey_id,
                    1,
                    f"late {n}",
                    at=datetime(2025, 1, 20, tzinfo=UTC) + timedelta(minutes=n),
                ),
                [(delivery.id, "negative")],
            )
            for n in range(30)
        ]
        write(session, world.a.id, *found)
        session.commit()
    page = _get(
        client,
        app,
        world.a.users["viewer"],
        f"/app/surveys/{world.a.survey_id}/report?month=2025-01",
    )
    assert "Themes in the comments" in page
    assert "Delivery" in page
