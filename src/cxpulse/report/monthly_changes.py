"""What changed since last month, for the monthly report: a score and its change as text,
and the segments (channel, touchpoint, response properties) whose score moved most."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from cxpulse.metrics import Comparison, Histogram, MetricResult, MetricSpec, compare
from cxpulse.metrics.scores import format_value
from cxpulse.report.months import month_label, shift_month
from cxpulse.store.metrics_query import histograms
from cxpulse.store.models import Survey
from cxpulse.store.response_properties import sample_properties

TOP_MOVERS = 6
MAX_PROPERTY_DIMENSIONS = 5
MAX_PROPERTY_VALUES = 30
PROPERTY_SAMPLE_ROWS = 2000


def value_text(result: MetricResult) -> str:
    """The score as shown, a dash when there is none."""
    if result.n == 0 or not math.isfinite(result.value):
        return "–"
    return format_value(result.value)


def change_text(comparison: Comparison | None, previous: MetricResult) -> str:
    """``+2.5 vs last month (significant at 95%)``, or why there is nothing to compare."""
    if comparison is None or previous.n == 0 or not math.isfinite(comparison.difference):
        return "no answers last month to compare with"
    sign = "+" if comparison.difference > 0 else ""
    verdict = (
        f"significant at {comparison.level:.0%}"
        if comparison.significant
        else "no significant change"
    )
    return f"{sign}{format_value(comparison.difference)} vs last month ({verdict})"


@dataclass(frozen=True)
class SegmentMove:
    dimension: str
    value: str
    comparison: Comparison

    @property
    def current(self) -> MetricResult:
        return self.comparison.b

    @property
    def previous(self) -> MetricResult:
        return self.comparison.a

    @property
    def change_text(self) -> str:
        return change_text(self.comparison, self.previous)


def property_dimensions(
    session: Session, organisation_id: int, survey_id: int, start: date, end: date
) -> list[str]:
    """Response properties worth splitting by: present in a sample of the period's responses
    with few distinct values (an order id is not a segment)."""
    rows = sample_properties(
        session,
        organisation_id,
        survey_id,
        datetime.combine(start, datetime.min.time(), UTC),
        datetime.combine(end, datetime.min.time(), UTC),
        limit=PROPERTY_SAMPLE_ROWS,
    )
    seen: dict[str, set[str]] = {}
    for properties in rows:
        for key, value in (properties or {}).items():
            if (
                isinstance(value, str | int | bool)
                and len(seen.get(key, ())) <= MAX_PROPERTY_VALUES
            ):
                seen.setdefault(key, set()).add(str(value))
    wanted = [key for key, found in seen.items() if 1 < len(found) <= MAX_PROPERTY_VALUES]
    return [f"property:{key}" for key in sorted(wanted)[:MAX_PROPERTY_DIMENSIONS]]


def segment_movers(
    session: Session,
    organisation_id: int,
    survey: Survey,
    month: date,
    spec: MetricSpec,
    *,
    top: int = TOP_MOVERS,
) -> list[SegmentMove]:
    """Segments whose score moved most since last month (answers in both months), the
    significant ones first, then by the size of the change."""
    previous, following = shift_month(month, -1), shift_month(month, 1)
    properties = property_dimensions(session, organisation_id, survey.id, month, following)
    dimensions = ["channel", "touchpoint", *properties]
    moves: list[SegmentMove] = []
    for dimension in dimensions:
        found = histograms(
            session,
            organisation_id,
            survey.id,
            start=previous,
            end=following,
            group_by=[dimension],
            period="month",
        )
        by_value: dict[str, dict[str, Histogram]] = {}
        for (period, value), histogram in found.items():
            if value is None or period is None:
                continue
            by_value.setdefault(value, {})[period] = histogram
        for value, months in by_value.items():
            before = months.get(month_label(previous), Histogram())
            now = months.get(month_label(month), Histogram())
            if before.n == 0 or now.n == 0:
                continue
            comparison = compare(before, now, spec)
            if math.isfinite(comparison.difference):
                moves.append(SegmentMove(_dimension_label(dimension), value, comparison))
    moves.sort(key=lambda m: (not m.comparison.significant, -abs(m.comparison.difference)))
    return moves[:top]


def _dimension_label(dimension: str) -> str:
    return dimension.removeprefix("property:").replace("_", " ").capitalize()
