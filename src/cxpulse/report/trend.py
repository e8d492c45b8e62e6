"""The trend of a dashboard view: its period cut into day, week or month buckets (clipped to
the period), each scored from the store's histogram of its label."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from cxpulse.engine.periods import Period, period_label, period_start
from cxpulse.metrics import Histogram, MetricResult, MetricSpec, score
from cxpulse.report.filters_url import Grain, Window


@dataclass(frozen=True)
class Bucket:
    """One point of the trend: whole days ``start`` to ``end`` (exclusive)."""

    label: str
    start: date
    end: date
    result: MetricResult

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def next_bucket(start: date, grain: Grain) -> date:
    """The first day of the bucket after the one starting on ``start``."""
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def buckets(window: Window, grain: Grain) -> list[tuple[str, date, date]]:
    """Every bucket of the window as (label, first day, end), clipped to the window."""
    # Labelled as the store labels its periods (2024-03-04, 2024-W10, 2024-03).
    period = Period(grain)
    out = []
    start = period_start(period, window.start)
    while start < window.end:
        end = next_bucket(start, grain)
        out.append((period_label(period, start), max(start, window.start), min(end, window.end)))
        start = end
    return out


def trend(
    by_label: Mapping[str, Histogram], window: Window, grain: Grain, spec: MetricSpec
) -> list[Bucket]:
    """Every bucket of the window, scored from the store's histograms per period label
    (buckets without answers score as empty)."""
    return [
        Bucket(label, start, end, score(by_label.get(label, Histogram()), spec))
        for label, start, end in buckets(window, grain)
    ]
