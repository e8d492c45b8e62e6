"""The context around a survey's numbers on its dashboard, on SQLite and PostgreSQL: the
breakdown's impacts in the metric's units with a significance mark per segment, and the ACSI
reference only where it means something (CSAT)."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from ..helpers import World, session_headers
from .context_support import survey_with_answers


def _page(app: FastAPI, client: TestClient, world: World, survey_id: int) -> str:
    headers = session_headers(app, world.a.users["viewer"], csrf=False)
    answer = client.get(f"/app/surveys/{survey_id}?by=channel", headers=headers)
    assert answer.status_code == 200, answer.text[:300]
    return answer.text


def _rows(page: str) -> dict[str, str]:
    table = page.split('id="breakdown-table"', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tbody>", 1)[1].split("<tr>")[1:]
    return {re.search(r'<th scope="row">\s*(\w+)', row).group(1): row for row in rows}  # type: ignore[union-attr]


def test_ces_impacts_have_two_decimals_and_a_significance_mark(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    # Six weeks of 8 answers per channel: email averages 5.5, sms 4.5, web 5.0 (48 each).
    survey_id = survey_with_answers(
        db,
        world.a.id,
        "ces",
        {"email": [6, 5] * 4, "sms": [5, 4] * 4, "web": [5, 5, 6, 4] * 2},
    )
    page = _page(app, client, world, survey_id)
    rows = _rows(page)
    # Overall 5.0; without sms 5.25, so its impact is -0.25 on the 1-7 scale; email +0.25.
    assert '<td class="num impact" data-label="Impact">\N{MINUS SIGN}0.25</td>' in rows["sms"]
    assert '<td class="num impact" data-label="Impact">+0.25</td>' in rows["email"]
    assert '<td class="num impact" data-label="Impact">0.00</td>' in rows["web"]
    assert "points on the 1–7 scale" in page
    assert '<span aria-hidden="true">▼</span> lower' in rows["sms"]
    assert '<span class="visually-hidden"> than the rest, significant</span>' in rows["sms"]
    assert '<span aria-hidden="true">▲</span> higher' in rows["email"]
    assert "not significant" in rows["web"]
    legend = page.split('id="breakdown-legend"', 1)[1].split("</p>", 1)[0]
    assert "Welch&#39;s t-test of each segment against the rest" in legend
    assert "Holm-adjusted" in legend


@pytest.mark.parametrize(
    ("metric", "by_channel", "test_name", "unit"),
    [
        (
            "csat",
            {"email": [5, 4, 5, 4, 5], "chat": [1, 2, 5, 4, 2]},
            "Newcombe interval",
            "percentage points",
        ),
        (
            "nps",
            {"email": [10, 9, 9, 8, 10], "chat": [0, 3, 9, 6, 2]},
            "NPS difference (adjusted Wald or MOVER)",
            "NPS points",
        ),
    ],
)
def test_each_metric_names_its_test_and_its_units(
    app: FastAPI,
    client: TestClient,
    world: World,
    db: sessionmaker[Session],
    metric: str,
    by_channel: dict[str, list[int]],
    test_name: str,
    unit: str,
) -> None:
    survey_id = survey_with_answers(db, world.a.id, metric, by_channel)
    page = _page(app, client, world, survey_id)
    rows = _rows(page)
    assert test_name in page.split('id="breakdown-legend"', 1)[1].split("</p>", 1)[0]
    assert f"Impact ({unit})" in page
    assert "▼</span> lower" in rows["chat"]
    assert "▲</span> higher" in rows["email"]


def test_too_small_segments_are_not_tested(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    survey_id = survey_with_answers(db, world.a.id, "csat", {"email": [5, 5], "chat": [1, 1]})
    rows = _rows(_page(app, client, world, survey_id))
    assert "not tested" in rows["chat"]
    assert "too few" in rows["chat"]


@pytest.mark.parametrize("metric", ["nps", "ces", "dsat"])
def test_no_acsi_figure_beside_a_metric_it_does_not_measure(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session], metric: str
) -> None:
    survey_id = survey_with_answers(
        db, world.a.id, metric, {"email": [5, 4, 3]}, industry="e-commerce"
    )
    page = _page(app, client, world, survey_id)
    assert "ACSI" not in page
    assert 'id="benchmark-heading"' not in page


def test_the_acsi_on_csat_is_an_index_on_its_own_scale_with_year_and_source(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    survey_id = survey_with_answers(
        db, world.a.id, "csat", {"email": [5, 4, 3]}, industry="e-commerce"
    )
    page = _page(app, client, world, survey_id)
    section = page.split('id="benchmark-heading"', 1)[1].split("</section>", 1)[0]
    assert "Industry reference (ACSI)" in section
    assert "on the ACSI’s 0–100 index" in section
    assert "not a CSAT percentage" in section
    assert "(2020; source: American Customer Satisfaction Index (ACSI)" in section


def test_a_csat_survey_without_a_known_industry_says_how_to_get_the_reference(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    survey_id = survey_with_answers(db, world.a.id, "csat", {"email": [5, 4, 3]})
    section = _page(app, client, world, survey_id).split('id="benchmark-heading"', 1)[1]
    assert "No industry reference: set the organisation’s industry" in section
