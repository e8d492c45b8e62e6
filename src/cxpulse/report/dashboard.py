"""The data of a dashboard view: every number one survey page shows, for one set of filters,
and the responses behind them.

``load_view`` asks the store (``metrics_query.histograms_of``) for GROUP BYs it answers from
the daily rollups when the filters allow it (whole days, channel, touchpoint): the view's
period grouped by trend bucket and breakdown segment (one query when one source can answer
both), and the two periods the headline compares as one histogram each; plus the day of the
latest response and the property names of the latest 1,000 responses, both read through an
index.

The headline compares the periods of ``filters.compare`` (``comparison_windows``: by default
the last 30 days against the 30 before), ending today, or on the view's ``to`` day when it
has one, so that a bookmarked view of the past keeps its meaning. The trend, distribution
and breakdown cover the view's own window (12 months up to the latest answer by default).
Everything else (headlines, changes, trend, distribution and its per-answer counts, impacts)
is computed from those histograms in
Python, so the page costs the same with 1 or 5 million responses. Filters on response
properties or contact attributes, and breakdowns by them, read the responses table.

The parts have modules of their own: ``headlines``, ``trend``, ``comment_rate`` (counted,
or estimated from a sample above a size), ``invitation_rates``, ``benchmarks`` and
``impact``; ``metric_tables`` flattens a view into exported rows. ``drill_down`` lists the
responses behind a number (``store.drilldown``); ``response_filters`` says which responses
an export of a view holds.

``follow_ups`` gives the survey's follow-up figures of a period (``report.loop_figures``
from ``store.case_counts`` and the period's histogram); the view holds those of the
headline's period, and the overview, the monthly report and the API call it too.

``latest_day`` (``store.rollups``), ``DrillPage`` (``store.drilldown``), ``metric_rows``
and ``metric_table`` (``metric_tables``) are imported here for the dashboard's routes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.act import goal_progress
from cxpulse.collect import rates as rate_store
from cxpulse.metrics import Histogram, Metric, MetricResult, merge
from cxpulse.metrics.scores import DEFAULT_LEVEL, DEFAULT_MIN_N
from cxpulse.report.benchmarks import Benchmark, pick_benchmark
from cxpulse.report.charts import ScaleBands
from cxpulse.report.comment_rate import CommentRate, comment_rate
from cxpulse.report.comparison_windows import (
    COMPARISONS,
    ComparisonWindows,
    comparison_windows,
)
from cxpulse.report.comparison_windows import SWITCH_LABELS as COMPARISON_LABELS
from cxpulse.report.filters_url import (
    MAX_DAYS_FOR_DAY_GRAIN,
    MAX_YEARS,
    DrillFilters,
    Grain,
    ViewFilters,
    Window,
    add_months,
)
from cxpulse.report.headlines import (
    METRIC_LABELS,
    UNITS,
    AnswerGroup,
    DistributionRow,
    Headline,
    answer_groups,
    answer_rows,
    distribution,
    headline_specs,
    headlines,
)
from cxpulse.report.impact import SegmentImpact, segment_impacts
from cxpulse.report.invitation_rates import InvitationRates, invitation_rates
from cxpulse.report.loop_figures import LoopFigures, loop_figures
from cxpulse.report.metric_tables import metric_rows, metric_table
from cxpulse.report.scale_labels import scale_bands, scale_labels
from cxpulse.report.trend import Bucket, trend
from cxpulse.store import case_counts, metrics_query
from cxpulse.store import goals as goal_rows
from cxpulse.store.drilldown import DRILL_PAGE_SIZE, DrillPage, drill_page
from cxpulse.store.errors import Invalid
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.models import Organisation, Survey
from cxpulse.store.response_reads import recent_property_names
from cxpulse.store.rollups import latest_day

__all__ = [
    "DashboardView",
    "DrillPage",
    "comparison_for",
    "drill_down",
    "follow_ups",
    "latest_day",
    "load_headline",
    "load_view",
    "metric_rows",
    "metric_table",
    "response_filters",
]


@dataclass(frozen=True)
class DashboardView:
    survey_id: int
    survey_name: str
    metric: Metric
    filters: ViewFilters
    window: Window
    """The days of the trend, distribution and breakdown."""
    comparison: ComparisonWindows
    """The two periods the headline compares."""
    grain: Grain
    headlines: list[Headline]
    trend: list[Bucket]
    distribution: list[DistributionRow]
    """NPS: promoters, passives, detractors; other metrics: one row per scale value (the
    exported distribution)."""
    scale_counts: list[DistributionRow]
    """Every scale value of the window with its words, band and count, lowest first (the
    chart and table of the page, NPS 0 to 10 too), from the same histogram."""
    scale_bands: ScaleBands
    """The survey's bands (detractors, passives, promoters; bottom, middle, top box)."""
    comment_rate: CommentRate
    invitation_rates: InvitationRates
    breakdown_dimension: str
    overall: MetricResult
    segments: list[SegmentImpact[str | None]]
    benchmark: Benchmark | None
    property_names: list[str]
    min_n: int
    goals: list[goal_progress.GoalReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    follow_ups: LoopFigures | None = None
    """The follow-up figures of the headline's period (every channel and segment: cases
    are not filtered); None when the survey has no case at all."""

    @property
    def goal_line(self) -> goal_progress.GoalReport | None:
        """The goal drawn on the trend: the first one of the whole survey on the trend's own
        metric, if any (a DSAT goal cannot be drawn on a CSAT trend)."""
        return next(
            (g for g in self.goals if not g.goal.segment and g.metric == self.metric.value), None
        )

    @property
    def label(self) -> str:
        return METRIC_LABELS[self.metric]

    @property
    def answer_groups(self) -> list[AnswerGroup]:
        """The distribution's table: each band with its total and its answers."""
        return answer_groups(self.scale_counts, self.scale_bands)

    @property
    def headline_window(self) -> Window:
        """The period of the headline numbers."""
        return self.comparison.current

    @property
    def previous_window(self) -> Window:
        """The period the headline is compared with."""
        return self.comparison.previous

    @property
    def headline_filters(self) -> ViewFilters:
        """This view over the headline's period: its drill-down links list the answers
        behind each headline number (the view's own dates would list the trend's)."""
        window = self.comparison.current
        return self.filters.between(window.start, window.last_day)

    def compare_links(self) -> list[tuple[str, str, str, bool]]:
        """The headline's switch: (choice, label, query string keeping every other filter,
        whether it is the one shown)."""
        return [
            (
                choice,
                COMPARISON_LABELS[choice],
                dataclasses.replace(self.filters, compare=choice).query(),
                choice == self.comparison.choice,
            )
            for choice in COMPARISONS
        ]

    @property
    def previous_filters(self) -> ViewFilters:
        window = self.comparison.previous
        return self.filters.between(window.start, window.last_day)

    @property
    def unit(self) -> str:
        return UNITS[self.metric]


def _current_histograms(
    session: Session,
    organisation_id: int,
    where: ResponseFilters,
    grain: Grain,
    by: str,
) -> tuple[dict[str, Histogram], dict[str | None, Histogram]]:
    """Histograms of the view's period (``where``) per trend bucket and per breakdown
    segment.

    When one source can answer both (the rollups for a channel or touchpoint breakdown, or
    the responses table when a filter needs it anyway), one query grouped by bucket and
    segment gives both: the period is scanned once.
    """
    combined = by in metrics_query.ROLLUP_DIMENSIONS or not metrics_query.rollups_can_answer(where)
    if combined:
        grouped = metrics_query.histograms_of(
            session, organisation_id, where, group_by=[by], period=grain
        )
        per_label: dict[str, list[Histogram]] = {}
        per_segment: dict[str | None, list[Histogram]] = {}
        for (label, segment), histogram in grouped.items():
            assert label is not None
            per_label.setdefault(label, []).append(histogram)
            per_segment.setdefault(segment, []).append(histogram)
        return (
            {label: merge(parts) for label, parts in per_label.items()},
            {segment: merge(parts) for segment, parts in per_segment.items()},
        )
    by_period = metrics_query.histograms_of(session, organisation_id, where, period=grain)
    by_segment = metrics_query.histograms_of(session, organisation_id, where, group_by=[by])
    return (
        {key[0]: histogram for key, histogram in by_period.items() if key[0] is not None},
        {key[0]: histogram for key, histogram in by_segment.items()},
    )


def load_view(
    session: Session,
    organisation: Organisation,
    survey: Survey,
    filters: ViewFilters,
    *,
    today: date | None = None,
    min_n: int = DEFAULT_MIN_N,
) -> DashboardView:
    """Every number of one survey page; Invalid when the period is longer than a view may be
    (a start date long before the latest answer)."""
    organisation_id, survey_id = organisation.id, survey.id
    today = today or datetime.now(UTC).date()
    window = filters.window(latest_day(session, organisation_id, survey_id), today)
    if window.end > add_months(window.start, 12 * MAX_YEARS) + timedelta(days=1):
        raise Invalid("from", f"a view covers at most {MAX_YEARS} years")
    comparison = comparison_for(filters, today)
    notes: list[str] = []
    grain = filters.grain
    if grain == "day" and window.days > MAX_DAYS_FOR_DAY_GRAIN:
        grain = "week"
        notes.append(
            f"The trend is shown by week: by day it is limited to {MAX_DAYS_FOR_DAY_GRAIN} days."
        )
    by_label, segments = _current_histograms(
        session, organisation_id, filters.responses(survey_id, window), grain, filters.by
    )
    current = merge(by_label.values())
    headline_now, headline_before = (
        metrics_query.histograms_of(session, organisation_id, filters.responses(survey_id, part))[
            ()
        ]
        for part in (comparison.current, comparison.previous)
    )
    spec = survey.metric_spec(min_n=min_n)
    bands = scale_bands(spec)
    trend_points = trend(by_label, window, grain, spec)
    overall, impacts = segment_impacts(segments, spec)
    return DashboardView(
        survey_id=survey_id,
        survey_name=survey.name,
        metric=spec.metric,
        filters=filters,
        window=window,
        comparison=comparison,
        grain=grain,
        headlines=headlines(headline_specs(survey, min_n), headline_now, headline_before),
        trend=trend_points,
        distribution=distribution(current, spec),
        scale_counts=answer_rows(current, spec, scale_labels(spec), bands),
        scale_bands=bands,
        comment_rate=comment_rate(session, organisation_id, survey_id, filters, window, current.n),
        invitation_rates=invitation_rates(
            rate_store.response_rates(
                session,
                organisation_id,
                survey_id,
                period=grain,
                start=window.start,
                end=window.end,
            ),
            trend_points,
            filters.channel,
        ),
        breakdown_dimension=filters.by,
        overall=overall,
        segments=impacts,
        benchmark=pick_benchmark(organisation.industry, spec.metric),
        property_names=recent_property_names(session, organisation_id, survey_id),
        min_n=min_n,
        goals=[
            goal_progress.goal_report(session, organisation_id, goal, today=today)
            for goal in goal_rows.list_goals(session, organisation_id, survey_id)
        ],
        notes=notes,
        follow_ups=follow_ups(
            session, organisation_id, survey, comparison.current, min_n=min_n, shown_only=True
        ),
    )


def follow_ups(
    session: Session,
    organisation_id: int,
    survey: Survey,
    window: Window,
    *,
    now: datetime | None = None,
    min_n: int = DEFAULT_MIN_N,
    level: float = DEFAULT_LEVEL,
    shown_only: bool = False,
) -> LoopFigures | None:
    """The survey's follow-up figures of the days of ``window``: its cases opened then, and
    its answers submitted then (all of them, whatever a view filters). ``shown_only``: None
    for a survey without any case, whose pages show no follow-ups."""
    counts = case_counts.survey_counts(
        session, organisation_id, [survey.id], window.start, window.end, now=now
    )[survey.id]
    if shown_only and not counts.ever:
        return None
    answers = metrics_query.histograms(
        session, organisation_id, survey.id, start=window.start, end=window.end
    )[()]
    return loop_figures(counts, answers, survey.metric_spec(level=level, min_n=min_n))


def comparison_for(filters: ViewFilters, today: date) -> ComparisonWindows:
    """The periods a view's headline compares: ``filters.compare`` ending on the view's
    ``to`` day when it has one (a bookmarked view of the past), else today."""
    return comparison_windows(filters.compare, filters.to or today)


def load_headline(
    session: Session,
    organisation: Organisation,
    survey: Survey,
    *,
    today: date | None = None,
    filters: ViewFilters | None = None,
    min_n: int = DEFAULT_MIN_N,
) -> tuple[Window, list[Headline]]:
    """The headline numbers of a survey without the rest of its view: the current period
    and its headlines (``filters.compare``, the last 30 days by default, ending today)."""
    filters = filters or ViewFilters()
    comparison = comparison_for(filters, today or datetime.now(UTC).date())
    now, before = (
        metrics_query.histograms_of(session, organisation.id, filters.responses(survey.id, part))[
            ()
        ]
        for part in (comparison.current, comparison.previous)
    )
    return comparison.current, headlines(headline_specs(survey, min_n), now, before)


def response_filters(
    survey_id: int, filters: ViewFilters, window: Window, drill: DrillFilters
) -> ResponseFilters:
    """The responses an export of a view (and of a drill-down of it) holds: those behind
    it, except that the comment search is not applied to exports (the page says so)."""
    return dataclasses.replace(filters.responses(survey_id, window, drill), search=None)


def drill_down(
    session: Session,
    organisation_id: int,
    survey_id: int,
    filters: ViewFilters,
    window: Window,
    drill: DrillFilters,
    *,
    limit: int = DRILL_PAGE_SIZE,
) -> DrillPage:
    """The responses behind a number, newest first, ``limit`` at a time (keyset pagination
    on (submitted_at, id): page 100 costs what page 1 does). Raises Invalid for a page token
    this server did not give out."""
    where = filters.responses(survey_id, window, drill)
    return drill_page(session, organisation_id, where, after=drill.after, limit=limit)
