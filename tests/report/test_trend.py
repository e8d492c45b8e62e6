"""The buckets of a view's trend (``report/trend.py``)."""

from __future__ import annotations

from datetime import date

from cxpulse.report import filters_url as urls
from cxpulse.report import trend


def test_buckets_by_week_use_iso_labels() -> None:
    window = urls.Window(date(2024, 12, 25), date(2025, 1, 10))
    found = trend.buckets(window, "week")
    assert [b[0] for b in found] == ["2024-W52", "2025-W01", "2025-W02"]
    assert found[0][1] == date(2024, 12, 25)
    assert found[-1][2] == date(2025, 1, 10)


def test_buckets_by_day_and_month_carry_the_store_labels() -> None:
    window = urls.Window(date(2024, 1, 30), date(2024, 3, 2))
    months = trend.buckets(window, "month")
    assert months == [
        ("2024-01", date(2024, 1, 30), date(2024, 2, 1)),
        ("2024-02", date(2024, 2, 1), date(2024, 3, 1)),
        ("2024-03", date(2024, 3, 1), date(2024, 3, 2)),
    ]
    days = trend.buckets(urls.Window(date(2024, 2, 28), date(2024, 3, 1)), "day")
    assert [label for label, _, _ in days] == ["2024-02-28", "2024-02-29"]
