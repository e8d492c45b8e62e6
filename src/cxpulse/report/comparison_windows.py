"""The periods a headline compares: "the last 30 days against the 30 before" by default, or
the last week, this month so far against last month, the last quarter or the last year.

One definition for the overview, each survey's dashboard and whatever else shows a headline
change, so that "this period" means the same thing everywhere. Windows end with ``today``
(whole UTC days), not with the latest answer: one new answer must not move the comparison."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from cxpulse.report.filters_url import COMPARISONS, DEFAULT_COMPARISON, Comparison, Window

__all__ = ["COMPARISONS", "DEFAULT_COMPARISON", "Comparison", "ComparisonWindows"]

# What a person reads beside the number: "Last 30 days against the 30 days before".
LABELS: Final[dict[Comparison, str]] = {
    "week": "Last 7 days",
    "30d": "Last 30 days",
    "mtd": "This month so far",
    "quarter": "Last 90 days",
    "year": "Last 365 days",
}
# The switch between them: short, so that all five fit one line on a phone.
SWITCH_LABELS: Final[dict[Comparison, str]] = {
    "week": "7 days",
    "30d": "30 days",
    "mtd": "This month",
    "quarter": "90 days",
    "year": "365 days",
}
AGAINST: Final[dict[Comparison, str]] = {
    "week": "the 7 days before",
    "30d": "the 30 days before",
    "mtd": "last month",
    "quarter": "the 90 days before",
    "year": "the 365 days before",
}
_DAYS: Final[dict[Comparison, int]] = {"week": 7, "30d": 30, "quarter": 90, "year": 365}


@dataclass(frozen=True)
class ComparisonWindows:
    choice: Comparison
    current: Window
    previous: Window

    @property
    def label(self) -> str:
        return LABELS[self.choice]

    @property
    def against(self) -> str:
        return AGAINST[self.choice]


def parse_comparison(text: str | None) -> Comparison | None:
    """The comparison named by ``text`` (as in a URL), or None when it names none."""
    if text is None:
        return None
    cleaned = text.strip().lower()
    for choice in COMPARISONS:
        if cleaned == choice:
            return choice
    return None


def comparison_windows(choice: Comparison, today: date) -> ComparisonWindows:
    """The current period ending with ``today`` (inclusive) and the one it is compared with.

    Rolling choices compare equal lengths; "mtd" compares the month so far with the whole of
    last month (a rate over a part-month reads against a rate over a full month)."""
    end = today + timedelta(days=1)
    if choice == "mtd":
        first = today.replace(day=1)
        last_month_start = (first - timedelta(days=1)).replace(day=1)
        return ComparisonWindows(choice, Window(first, end), Window(last_month_start, first))
    days = _DAYS[choice]
    current = Window(end - timedelta(days=days), end)
    return ComparisonWindows(choice, current, current.previous())
