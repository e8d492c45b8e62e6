"""A dashboard view flattened into the rows of its exported metric tables: headline, previous
period, trend, distribution and breakdown, one row each in ``METRIC_COLUMNS``.

The headline rows cover the headline's own periods (``view.headline_window`` against
``view.previous_window``: by default the last 30 days against the 30 before), as the page's
headline does; the trend, distribution and breakdown cover the view's window. The verdict is
the page's wording ("up 6.2 points, significant", "no significant change", "too few answers
to compare (12 before, 40 now)"); ``change`` and ``p_value`` are empty when either period has
too few answers to compare, as the page shows no change then."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cxpulse.metrics import MetricResult

if TYPE_CHECKING:
    from cxpulse.report.dashboard import DashboardView

METRIC_COLUMNS = (
    "table",
    "group",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "too_small",
    "level",
    "change",
    "p_value",
    "verdict",
    "impact",
    "share",
)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _result_row(table: str, group: str, label: str, result: MetricResult) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(METRIC_COLUMNS)
    row.update(
        table=table,
        group=group,
        metric=label,
        value=_finite(result.value),
        ci_low=_finite(result.ci_low),
        ci_high=_finite(result.ci_high),
        n=result.n,
        too_small=result.too_small,
        level=result.level,
    )
    return row


def metric_rows(view: DashboardView) -> list[dict[str, Any]]:
    """The view's tables as rows of ``METRIC_COLUMNS``: headline (over the headline's
    period), previous period, trend, distribution and breakdown."""
    rows: list[dict[str, Any]] = []
    for headline in view.headlines:
        row = _result_row("headline", view.headline_window.label, headline.label, headline.current)
        if headline.comparable:
            row.update(
                change=_finite(headline.change.difference),
                p_value=_finite(headline.change.p_value),
            )
        row.update(verdict=headline.verdict)
        rows.append(row)
        rows.append(
            _result_row(
                "previous period", view.previous_window.label, headline.label, headline.previous
            )
        )
    for point in view.trend:
        rows.append(_result_row(f"trend by {view.grain}", point.label, view.label, point.result))
    for entry in view.distribution:
        row = dict.fromkeys(METRIC_COLUMNS)
        row.update(
            table="distribution",
            group=entry.label,
            metric="answers",
            n=entry.count,
            share=_finite(entry.share),
        )
        rows.append(row)
    for segment in view.segments:
        group = "(none)" if segment.key is None else segment.key
        row = _result_row(
            f"breakdown by {view.breakdown_dimension}", group, view.label, segment.result
        )
        row.update(impact=_finite(segment.impact), share=_finite(segment.share * 100))
        rows.append(row)
    return rows


def metric_table(rows: Iterable[Mapping[str, Any]]) -> list[list[Any]]:
    """Header and rows as lists, in ``METRIC_COLUMNS`` order."""
    return [list(METRIC_COLUMNS), *([row.get(name) for name in METRIC_COLUMNS] for row in rows)]
