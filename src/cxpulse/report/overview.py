"""The overview at ``/app``: one card per survey that says, at a glance, what changed and
whether it is real.

Each card holds the survey's headline for the comparison chosen (``?compare=``, by default
the last 30 days against the 30 before, both ending today: ``comparison_windows``), worded
and coloured by ``Headline.verdict`` and ``Headline.tone`` exactly as on the survey's
dashboard; a line of the last 12 months (one point per calendar month, drawn on the server
as a small SVG); the answers and the new comments of the period; and, for a survey without
answers in the period, the day of its last answer.

Cost: three statements for all the surveys together (``store/overview_counts.py``): the two
periods and the 12 months, both from the daily rollups, and the commented answers of the
current period through the (survey, submitted_at) index; plus the latest day of each survey
whose current period is empty. The rollups make the first two follow the number of surveys
and days, not of answers; the comment count reads the current period's answers.

Each card also names its **top themes** of the current period (``themes``: the two that
cost the most points and the one that wins the most, from ``report.themes_view.theme_rows``),
counted for every survey together by ``report.theme_counts.surveys_counts`` (its days before
today remembered for a while, today read afresh).

``attention`` is the place later issues fill (alerts): a card shows it only when it holds
something. The follow-ups of the current period (``follow_ups``: cases, first contact,
SLA, closed loop; ``report.loop_figures``) sit in the same place, counted for every survey
together by ``store.case_counts`` (four statements, and a one-row probe per survey for
whether it has any case), and shown only for a survey that has cases.

The pure parts (``survey_card``, ``sparkline``, ``sort_key``) take plain values, so tests
need no database.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.metrics import Histogram, Metric, MetricResult, MetricSpec, score
from cxpulse.metrics.scores import DEFAULT_MIN_N
from cxpulse.report.comparison_windows import (
    DEFAULT_COMPARISON,
    Comparison,
    ComparisonWindows,
    comparison_windows,
)
from cxpulse.report.filters_url import DrillFilters, ViewFilters, Window, add_months
from cxpulse.report.headlines import Headline, headline_specs, headlines, shown_value
from cxpulse.report.line_runs import line_runs
from cxpulse.report.loop_figures import LoopFigures, loop_figures
from cxpulse.report.theme_counts import COUNTS, surveys_counts
from cxpulse.report.themes_view import ThemeInfo, ThemeRow, catalogue_of, theme_rows, top_rows
from cxpulse.store import case_counts, overview_counts
from cxpulse.store.models import Survey
from cxpulse.store.rollups import latest_day

SPARK_MONTHS = 12
SPARK_WIDTH = 240
SPARK_HEIGHT = 44
SPARK_PAD = 4
"""Room around the line so that a point at the top or bottom is not cut in half."""
COMMENT_CAP = 100
"""New comments are counted up to this many per survey; above, the card says "more than
100" and links to them: reading every answer of a busy period to count its comments would
cost more than the rest of the page."""
MONTH_CACHE_SECONDS = 600.0
"""How long the histograms of a survey's complete past months are remembered (see
``MonthCache``)."""
MONTH_NAMES = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


@dataclass(frozen=True)
class SparkPoint:
    month: date
    """First day of the month."""
    value: float
    """NaN without answers."""
    n: int
    x: float
    y: float | None
    """None without answers: the line breaks there rather than inventing a value."""

    @property
    def label(self) -> str:
        return f"{MONTH_NAMES[self.month.month - 1]} {self.month.year}"


@dataclass(frozen=True)
class Sparkline:
    points: list[SparkPoint]
    texts: tuple[str, str] | None
    """The first and the last month with answers as "+38.1 in Jan 2026", for the caption;
    None without two such months."""
    segments: list[str]
    """``points`` attributes of SVG polylines, one per run of months with answers."""
    dots: list[SparkPoint]
    """Months with answers whose neighbours have none: a polyline of one point draws
    nothing, so these get a dot."""
    summary: str
    """The text alternative: first and last month with answers, lowest and highest."""
    width: int = SPARK_WIDTH
    height: int = SPARK_HEIGHT

    @property
    def shown(self) -> list[SparkPoint]:
        return [p for p in self.points if p.y is not None]


@dataclass(frozen=True)
class CardItem:
    """Something a later issue asks the manager to look at (an open follow-up, an alert)."""

    label: str
    count: int
    href: str | None = None


@dataclass(frozen=True)
class SurveyCard:
    survey_id: int
    name: str
    status: str
    headline: Headline
    """The survey's own metric for the comparison chosen."""
    windows: ComparisonWindows
    comments: int
    """Answers of the current period with a comment, counted up to ``COMMENT_CAP + 1``."""
    last_answer: date | None
    """Day of the survey's latest answer; read only when the current period has none."""
    sparkline: Sparkline
    themes: tuple[ThemeRow, ...] = ()
    """The top themes of the current period: what costs the most points (two), then what
    wins the most (one); empty while no comment of the period is analysed."""
    attention: tuple[CardItem, ...] = ()
    """Alerts: filled by later issues, shown only when not empty."""
    follow_ups: LoopFigures | None = None
    """The follow-up figures of the current period; None for a survey without any case."""

    @property
    def answers(self) -> int:
        return self.headline.current.n

    @property
    def comments_text(self) -> str:
        """ "37", or "more than 100" when the count stopped at its cap."""
        return f"more than {COMMENT_CAP}" if self.comments > COMMENT_CAP else str(self.comments)

    @property
    def current_view(self) -> ViewFilters:
        """The view of the current period: its drill-down links list exactly its answers."""
        return _view(self.windows.current, self.windows.choice)

    @property
    def previous_view(self) -> ViewFilters:
        return _view(self.windows.previous, self.windows.choice)

    @property
    def value_drill(self) -> DrillFilters:
        return self.headline.drill

    @property
    def all_drill(self) -> DrillFilters:
        return DrillFilters()

    @property
    def comment_drill(self) -> DrillFilters:
        return DrillFilters(has_comment=True)


@dataclass(frozen=True)
class Overview:
    windows: ComparisonWindows
    cards: list[SurveyCard]
    min_n: int


def _view(window: Window, choice: Comparison) -> ViewFilters:
    return ViewFilters(start=window.start, to=window.last_day, compare=choice)


class MonthCache:
    """The histograms of surveys' complete past months, remembered for ``ttl`` seconds.

    A past month changes only when answers are imported with old dates, deleted or moved,
    so the line of the overview may show such a change up to ``ttl`` seconds late; the
    current month, the headline and every count are read afresh on every request. Without
    it, reading 11 past months of daily rollups is most of the page's cost (20 surveys,
    5 million answers: 0.4 s of a 0.5 s page). A survey is known by its database, id and
    creation time, so a database rebuilt with the same ids is not mistaken for the old."""

    def __init__(self, ttl: float = MONTH_CACHE_SECONDS, size: int = 5_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[tuple[object, ...], tuple[float, dict[str, Histogram]]] = {}

    def get(self, key: tuple[object, ...]) -> dict[str, Histogram] | None:
        found = self._entries.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: tuple[object, ...], months: dict[str, Histogram]) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()  # rare (thousands of surveys): start again, never grow
        self._entries[key] = (time.monotonic() + self.ttl, months)

    def clear(self) -> None:
        self._entries.clear()


MONTHS = MonthCache()
"""The cache of the overview page (``web/routes/overview.py``)."""


def _by_month(
    session: Session,
    organisation_id: int,
    surveys: Sequence[Survey],
    months: Sequence[date],
    tomorrow: date,
    cache: MonthCache | None,
) -> dict[int, dict[str, Histogram]]:
    """Every survey's histograms by month: past months from ``cache`` when it has them, the
    current month always from the rollups."""
    ids = [survey.id for survey in surveys]
    this_month = months[-1]
    found = overview_counts.by_month(session, organisation_id, ids, this_month, tomorrow)
    if cache is None:
        past = overview_counts.by_month(session, organisation_id, ids, months[0], this_month)
        return {i: {**past[i], **found[i]} for i in ids}
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    keys = {
        survey.id: (database, organisation_id, survey.id, survey.created_at, months[0], this_month)
        for survey in surveys
    }
    missing = [i for i in ids if cache.get(keys[i]) is None]
    if missing:
        read = overview_counts.by_month(session, organisation_id, missing, months[0], this_month)
        for survey_id in missing:
            cache.put(keys[survey_id], read[survey_id])
    return {i: {**(cache.get(keys[i]) or {}), **found[i]} for i in ids}


def spark_months(today: date, count: int = SPARK_MONTHS) -> list[date]:
    """First days of the ``count`` calendar months up to and including today's."""
    first = today.replace(day=1)
    return [add_months(first, k - count + 1) for k in range(count)]


def sparkline(
    monthly: Mapping[date, Histogram], months: Sequence[date], spec: MetricSpec
) -> Sparkline:
    """The line of ``spec``'s metric by month over ``months``. The vertical range follows
    the values but never spans less than ``min_span`` of the metric (10 points for shares,
    20 for NPS, a tenth of the scale for means): a wobble of half a point must not look like
    a cliff, and a fall from 38 to 15 must not look flat."""
    scored = []
    for month in months:
        histogram = monthly.get(month, Histogram())
        scored.append((month, histogram.n, score(histogram, spec).value))
    values = [v for _, n, v in scored if n and not math.isnan(v)]
    low, high = _range(spec, values)
    inner_w = SPARK_WIDTH - 2 * SPARK_PAD
    inner_h = SPARK_HEIGHT - 2 * SPARK_PAD
    step = inner_w / max(1, len(months) - 1)
    points: list[SparkPoint] = []
    for index, (month, n, value) in enumerate(scored):
        x = round(SPARK_PAD + index * step, 1)
        y: float | None = None
        if n and not math.isnan(value):
            share = (value - low) / (high - low)
            y = round(SPARK_PAD + (1 - share) * inner_h, 1)
        points.append(SparkPoint(month, value, n, x, y))
    segments, dots = line_runs(points)
    shown = [p for p in points if p.y is not None]
    texts = None
    if len(shown) > 1:
        texts = (
            f"{_value(shown[0], spec)} in {shown[0].label}",
            f"{_value(shown[-1], spec)} in {shown[-1].label}",
        )
    return Sparkline(points, texts, segments, dots, _summary(points, spec))


def _range(spec: MetricSpec, values: Sequence[float]) -> tuple[float, float]:
    """The vertical range of a line: its values' range widened to the minimum span, kept
    inside what the metric can take."""
    if spec.metric is Metric.NPS:
        floor, ceiling, span = -100.0, 100.0, 20.0
    elif spec.metric in (Metric.CSAT, Metric.DSAT):
        floor, ceiling, span = 0.0, 100.0, 10.0
    else:
        floor, ceiling = float(spec.scale.low), float(spec.scale.high)
        span = (ceiling - floor) / 10
    if not values:
        return floor, ceiling
    low, high = min(values), max(values)
    if high - low < span:
        middle = (low + high) / 2
        low, high = middle - span / 2, middle + span / 2
    if low < floor:
        low, high = floor, floor + max(span, high - low)
    if high > ceiling:
        low, high = ceiling - max(span, high - low), ceiling
    return low, high


def _summary(points: Sequence[SparkPoint], spec: MetricSpec) -> str:
    shown = [p for p in points if p.y is not None]
    if not points:
        return "No months to show."
    span = f"{points[0].label} to {points[-1].label}"
    if not shown:
        return f"No answers from {span}."

    def text(point: SparkPoint) -> str:
        return f"{_value(point, spec)} in {point.label} (n = {point.n})"

    parts = [f"By month, {span}: {text(shown[0])}"]
    if len(shown) > 1:
        lowest = min(shown, key=lambda p: p.value)
        highest = max(shown, key=lambda p: p.value)
        parts.append(f"lowest {text(lowest)}")
        parts.append(f"highest {text(highest)}")
        parts.append(f"latest {text(shown[-1])}")
    missing = len(points) - len(shown)
    if missing:
        parts.append(f"{missing} of {len(points)} months without answers")
    return "; ".join(parts) + "."


def _value(point: SparkPoint, spec: MetricSpec) -> str:
    result = MetricResult(
        spec.metric, point.value, math.nan, math.nan, point.n, 0.95, "", {}, False
    )
    return shown_value(result, spec)


TONE_ORDER = {"worse": 0, "better": 1, "quiet": 2, "too-few": 3, "empty": 4}


def sort_key(card: SurveyCard) -> tuple[int, str, int]:
    """Significant changes first, worse news before better: what needs a look is on top;
    then by name, so that a survey is found where it was yesterday."""
    return (TONE_ORDER[card.headline.tone], card.name.casefold(), card.survey_id)


def _months_of(found: Mapping[str, Histogram]) -> dict[date, Histogram]:
    monthly: dict[date, Histogram] = {}
    for label, histogram in found.items():
        year, month = label.split("-")[:2]
        monthly[date(int(year), int(month), 1)] = histogram
    return monthly


def survey_card(
    survey: Survey,
    windows: ComparisonWindows,
    periods: tuple[Histogram, Histogram],
    monthly: Mapping[date, Histogram],
    months: Sequence[date],
    comments: int,
    last_answer: date | None,
    min_n: int = DEFAULT_MIN_N,
    themes: tuple[ThemeRow, ...] = (),
    follow_ups: LoopFigures | None = None,
) -> SurveyCard:
    """One survey's card from its counts: ``periods`` is (previous, current)."""
    previous, current = periods
    label, spec, drill = headline_specs(survey, min_n)[0]
    headline = headlines([(label, spec, drill)], current, previous)[0]
    return SurveyCard(
        survey_id=survey.id,
        name=survey.name,
        status=survey.status,
        headline=headline,
        windows=windows,
        comments=comments,
        last_answer=last_answer,
        sparkline=sparkline(monthly, months, spec),
        themes=themes,
        follow_ups=follow_ups,
    )


def load_overview(
    session: Session,
    organisation_id: int,
    surveys: Sequence[Survey],
    choice: Comparison = DEFAULT_COMPARISON,
    *,
    today: date | None = None,
    min_n: int = DEFAULT_MIN_N,
    cache: MonthCache | None = None,
) -> Overview:
    """Every survey's card for the comparison ``choice``, ending ``today`` (UTC).

    Three statements for all surveys together (both periods, the months, the comments),
    plus the latest day of each survey without answers in the current period, and the
    follow-ups' counts (``store.case_counts``)."""
    today = today or datetime.now(UTC).date()
    windows = comparison_windows(choice, today)
    ids = [survey.id for survey in surveys]
    current, previous = windows.current, windows.previous
    periods = overview_counts.two_periods(
        session, organisation_id, ids, previous.start, current.start, current.end
    )
    months = spark_months(today)
    tomorrow = today + timedelta(days=1)
    monthly = _by_month(session, organisation_id, surveys, months, tomorrow, cache)
    comments = overview_counts.commented(
        session, organisation_id, ids, current.start, current.end, COMMENT_CAP
    )
    counted = surveys_counts(
        session,
        organisation_id,
        ids,
        current.start,
        current.end,
        today=today,
        cache=COUNTS if cache is not None else None,
    )
    catalogue = catalogue_of(session, organisation_id) if ids else {}
    cases = case_counts.survey_counts(session, organisation_id, ids, current.start, current.end)
    cards = []
    for survey in surveys:
        found = periods[survey.id]
        last = None if found[1].n else latest_day(session, organisation_id, survey.id)
        spec = survey.metric_spec(min_n=min_n)
        loop = cases[survey.id]
        cards.append(
            survey_card(
                survey,
                windows,
                found,
                _months_of(monthly[survey.id]),
                months,
                comments[survey.id],
                last,
                min_n,
                themes=top_themes(
                    counted[survey.id].themes,
                    found[1],
                    counted[survey.id].commented,
                    catalogue,
                    spec,
                ),
                follow_ups=loop_figures(loop, found[1], spec) if loop.ever else None,
            )
        )
    return Overview(windows, sorted(cards, key=sort_key), min_n)


def top_themes(
    mentioned: Mapping[int, Histogram],
    everyone: Histogram,
    commented: Histogram,
    catalogue: Mapping[int, ThemeInfo],
    spec: MetricSpec,
) -> tuple[ThemeRow, ...]:
    """A card's top themes: the two that cost the most points, then the one that wins the
    most (themes with fewer mentions than the minimum n left out)."""
    rows = theme_rows(mentioned, everyone, commented, catalogue, spec)
    return (*top_rows(rows, "costs", 2), *top_rows(rows, "wins", 1))
