"""A view flattened into its exported metric tables (``report/metric_tables.py``)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from cxpulse.report import dashboard, metric_tables
from cxpulse.report import filters_url as urls
from cxpulse.store.models import Organisation, Survey

TODAY = date(2025, 9, 1)
"""After the latest answer of the survey in conftest.py."""


def test_metric_rows_carry_every_table(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    view = dashboard.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    rows = metric_tables.metric_rows(view)
    tables = {row["table"] for row in rows}
    assert tables == {
        "headline",
        "previous period",
        "trend by month",
        "distribution",
        "breakdown by channel",
    }
    headline = rows[0]
    assert headline["metric"] == "CSAT"
    assert headline["n"] == 60
    assert headline["verdict"] == "significant"
    table = metric_tables.metric_table(rows)
    assert table[0] == list(metric_tables.METRIC_COLUMNS)
    assert len(table) == len(rows) + 1
