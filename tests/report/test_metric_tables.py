"""A view flattened into its exported metric tables (``report/metric_tables.py``)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from cxpulse.report import dashboard, metric_tables
from cxpulse.report import filters_url as urls
from cxpulse.store.models import Organisation, Survey

TODAY = date(2025, 9, 1)
"""After the latest answer of the survey in conftest.py."""


def test_metric_rows_carry_every_table(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    """The year to the last answer (60 answers) against the year before (30 answers of 2):
    the headline rows cover the headline's periods, with the page's verdict."""
    organisation, survey = seeded
    filters = urls.ViewFilters(to=date(2025, 6, 20), compare="year")
    view = dashboard.load_view(session, organisation, survey, filters, today=TODAY)
    rows = metric_tables.metric_rows(view)
    tables = {row["table"] for row in rows}
    assert tables == {
        "headline",
        "previous period",
        "trend by month",
        "distribution",
        "breakdown by channel",
    }
    csat, csat_before, dsat, dsat_before = rows[:4]
    assert (csat["table"], csat["metric"], csat["n"]) == ("headline", "CSAT", 60)
    assert csat["group"] == "2024-06-21 to 2025-06-20"
    assert csat["value"] == pytest.approx(200 / 3)
    assert csat["change"] == pytest.approx(200 / 3)
    assert csat["p_value"] < 0.05
    assert csat["verdict"] == "up 66.7 points, significant"
    assert (csat_before["table"], csat_before["group"], csat_before["n"]) == (
        "previous period",
        "2023-06-22 to 2024-06-20",
        30,
    )
    assert csat_before["value"] == 0
    assert (dsat["metric"], dsat["verdict"]) == ("DSAT", "down 66.7 points, significant")
    assert dsat_before["n"] == 30
    table = metric_tables.metric_table(rows)
    assert table[0] == list(metric_tables.METRIC_COLUMNS)
    assert len(table) == len(rows) + 1


def test_headline_rows_follow_the_headline_not_the_trend(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    """By default the headline's 30 days end today, after every answer: its rows say so,
    while the trend keeps the 60 answers of the view's 12 months. With too few answers on
    one side (the 30 days to 20 June against the 30 before) no change is given."""
    organisation, survey = seeded
    view = dashboard.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    rows = metric_tables.metric_rows(view)
    assert (rows[0]["group"], rows[0]["n"]) == ("2025-08-03 to 2025-09-01", 0)
    assert rows[0]["verdict"] == "no answers in either period"
    assert rows[1]["group"] == "2025-07-04 to 2025-08-02"
    assert sum(row["n"] for row in rows if row["table"] == "trend by month") == 60
    small = dashboard.load_view(
        session, organisation, survey, urls.ViewFilters(to=date(2025, 6, 20)), today=TODAY
    )
    csat = metric_tables.metric_rows(small)[0]
    assert (csat["n"], csat["change"], csat["p_value"]) == (40, None, None)
    assert csat["verdict"] == "too few answers to compare (20 before, 40 now)"
