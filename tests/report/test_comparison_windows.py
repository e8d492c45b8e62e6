from datetime import date

import pytest

from cxpulse.report.comparison_windows import (
    COMPARISONS,
    comparison_windows,
    parse_comparison,
)
from cxpulse.report.filters_url import Window, parse


@pytest.mark.parametrize(
    ("choice", "current", "previous"),
    [
        (
            "week",
            Window(date(2026, 11, 30), date(2026, 12, 7)),
            Window(date(2026, 11, 23), date(2026, 11, 30)),
        ),
        (
            "30d",
            Window(date(2026, 11, 7), date(2026, 12, 7)),
            Window(date(2026, 10, 8), date(2026, 11, 7)),
        ),
        (
            "mtd",
            Window(date(2026, 12, 1), date(2026, 12, 7)),
            Window(date(2026, 11, 1), date(2026, 12, 1)),
        ),
        (
            "quarter",
            Window(date(2026, 9, 8), date(2026, 12, 7)),
            Window(date(2026, 6, 10), date(2026, 9, 8)),
        ),
        (
            "year",
            Window(date(2025, 12, 7), date(2026, 12, 7)),
            Window(date(2024, 12, 7), date(2025, 12, 7)),
        ),
    ],
)
def test_windows_end_today_and_compare_the_period_before(
    choice: str, current: Window, previous: Window
) -> None:
    chosen = parse_comparison(choice)
    assert chosen is not None
    windows = comparison_windows(chosen, date(2026, 12, 6))
    assert windows.current == current
    assert windows.previous == previous


def test_month_so_far_on_the_first_compares_one_day_with_last_month() -> None:
    windows = comparison_windows("mtd", date(2026, 3, 1))
    assert windows.current == Window(date(2026, 3, 1), date(2026, 3, 2))
    assert windows.previous == Window(date(2026, 2, 1), date(2026, 3, 1))


def test_every_choice_has_words() -> None:
    for choice in COMPARISONS:
        windows = comparison_windows(choice, date(2026, 1, 15))
        assert windows.label
        assert windows.against


def test_unknown_comparison_is_none_and_a_filter_error() -> None:
    assert parse_comparison("fortnight") is None
    assert parse_comparison(" Week ") == "week"
    parsed = parse([("compare", "fortnight")])
    assert "compare" in parsed.errors
    assert parse([("compare", "mtd")]).view.compare == "mtd"
    assert parse([("compare", "mtd")]).view.query() == "compare=mtd"
    assert parse([]).view.query() == ""
