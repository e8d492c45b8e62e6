"""A theme's share of the analysed comments by month, as a small line drawn on the server
(an SVG polyline with a text alternative), for the themes panel of the dashboard.

Pure: months, mentions and comments in, points out. The vertical range never spans less
than ``MIN_SHARE_SPAN`` percentage points, so a wobble from 4% to 5% does not look like a
surge; a month without analysed comments breaks the line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from cxpulse.report.filters_url import Window
from cxpulse.report.line_runs import line_runs

LINE_WIDTH = 120
LINE_HEIGHT = 28
LINE_PAD = 3
MIN_SHARE_SPAN = 10.0
"""The share line's vertical range never spans less than this many percentage points: a
wobble from 4% to 5% must not look like a surge."""


@dataclass(frozen=True)
class SharePoint:
    month: date
    """First day of the month."""
    mentions: int
    comments: int
    """Analysed comments of the month (the share's base)."""
    x: float
    y: float | None
    """None for a month without analysed comments: the line breaks there."""

    @property
    def share(self) -> float:
        """0..100, NaN without comments."""
        return self.mentions / self.comments * 100 if self.comments else math.nan

    @property
    def label(self) -> str:
        return self.month.strftime("%b %Y")


@dataclass(frozen=True)
class ShareLine:
    points: tuple[SharePoint, ...]
    segments: tuple[str, ...]
    """SVG polyline ``points`` attributes, one per run of months with comments."""
    dots: tuple[SharePoint, ...]
    summary: str
    width: int = LINE_WIDTH
    height: int = LINE_HEIGHT


def month_of(label: str) -> date:
    """The first day of the month of a period label (``2025-03``)."""
    year, month = label.split("-")[:2]
    return date(int(year), int(month), 1)


def share_line(
    months: Sequence[date], mentions: Mapping[date, int], comments: Mapping[date, int]
) -> ShareLine:
    """The monthly share of comments mentioning a theme as a small SVG line."""
    shares = [(month, mentions.get(month, 0), comments.get(month, 0)) for month in months]
    values = [m / c * 100 for _, m, c in shares if c]
    low, high = (min(values), max(values)) if values else (0.0, 100.0)
    if high - low < MIN_SHARE_SPAN:
        middle = (low + high) / 2
        low, high = middle - MIN_SHARE_SPAN / 2, middle + MIN_SHARE_SPAN / 2
    if low < 0:
        low, high = 0.0, high - low
    if high > 100:
        low, high = low - (high - 100), 100.0
    inner_w, inner_h = LINE_WIDTH - 2 * LINE_PAD, LINE_HEIGHT - 2 * LINE_PAD
    step = inner_w / max(1, len(months) - 1)
    points: list[SharePoint] = []
    for index, (month, count, base) in enumerate(shares):
        x = round(LINE_PAD + index * step, 1)
        y = None
        if base:
            y = round(LINE_PAD + (1 - (count / base * 100 - low) / (high - low)) * inner_h, 1)
        points.append(SharePoint(month, count, base, x, y))
    segments, dots = line_runs(points)
    shown = [p for p in points if p.y is not None]
    if not shown:
        summary = "No analysed comments in these months."
    else:
        parts = [f"{p.label} {p.share:.1f}% of {p.comments:,}" for p in shown]
        summary = "Share of comments by month: " + "; ".join(parts) + "."
    return ShareLine(tuple(points), tuple(segments), tuple(dots), summary)


def months_of(window: Window) -> list[date]:
    first = window.start.replace(day=1)
    last = window.last_day.replace(day=1)
    months = []
    while first <= last:
        months.append(first)
        first = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return months
