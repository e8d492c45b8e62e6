"""What the monthly report of a survey holds, gathered from the store by ``build_report``.

A handful of grouped queries: the 12-month trend, this and the previous month's scores,
the segments that moved (``report.monthly_changes``), goals, and the optional sections.
Sections appear only when their part of cxpulse exists and has something to say: response
and comment rates (``cxpulse.collect.rates``) when invitations went out in the month; the
month's top themes and how their share of the comments moved since the month before
(``report.themes_view``, ``report.theme_moves``) when comments of the month were analysed;
and the month's follow-ups (``report.loop_figures``: cases opened in the month, their times,
SLA breaches, closed-loop and recovery rates) when the survey has cases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cxpulse.act import goals as goal_store
from cxpulse.collect.rates import response_rates
from cxpulse.metrics import Comparison, Histogram, Metric, MetricResult, MetricSpec, compare, score
from cxpulse.metrics.scores import DEFAULT_LEVEL, DEFAULT_MIN_N, format_value, nps_bands
from cxpulse.report import charts
from cxpulse.report.dashboard import follow_ups
from cxpulse.report.filters_url import ViewFilters, Window
from cxpulse.report.headlines import interval_name, value_with_unit
from cxpulse.report.loop_figures import LoopFigures
from cxpulse.report.monthly_changes import SegmentMove, change_text, segment_movers
from cxpulse.report.months import month_label, month_name, parse_month, shift_month
from cxpulse.report.scale_labels import scale_bands, scale_labels
from cxpulse.report.theme_moves import ThemeMove, theme_moves
from cxpulse.report.themes_view import themes_view
from cxpulse.store.errors import NotFound
from cxpulse.store.metrics_query import histograms
from cxpulse.store.models import Organisation, Survey
from cxpulse.store.surveys import get_survey

TREND_MONTHS = 12

METRIC_LABELS = {
    Metric.CSAT: "CSAT (%)",
    Metric.DSAT: "DSAT (%)",
    Metric.NPS: "NPS",
    Metric.CES: "CES (mean, higher is easier)",
    Metric.MEAN: "Mean score",
}


PERCENT_METRICS = (Metric.CSAT, Metric.DSAT)


@dataclass(frozen=True)
class Kpi:
    label: str
    result: MetricResult
    previous: MetricResult
    comparison: Comparison | None
    scale_high: int = 0
    """The top of the survey's scale, for "5.1 of 7" (CES, means)."""

    @property
    def value_text(self) -> str:
        """The score with its unit, as the dashboard writes it: "74.3%" (CSAT, DSAT), "5.1 of
        7 (higher is easier)" (CES), "+15.0" (NPS, a difference of two percentages)."""
        text = value_with_unit(self.result, self.result.metric, self.scale_high)
        if self.result.metric is Metric.CES and text != "–" and self.scale_high:
            text += " (higher is easier)"
        return text

    @property
    def interval_text(self) -> str:
        if self.result.n == 0:
            return "no answers"
        percent = "%" if self.result.metric in PERCENT_METRICS else ""
        low, high = (
            format_value(end) + percent for end in (self.result.ci_low, self.result.ci_high)
        )
        return f"{low} to {high} ({interval_name(self.result.level)})"

    @property
    def change_text(self) -> str:
        return change_text(self.comparison, self.previous)


@dataclass(frozen=True)
class Section:
    """An optional section from another stage: a titled table of text cells."""

    title: str
    caption: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass
class MonthlyReport:
    organisation: str
    survey_name: str
    survey_slug: str
    metric: Metric
    metric_label: str
    scale: str
    month: date
    generated_at: datetime
    answers: int
    previous_answers: int
    kpis: list[Kpi]
    trend: list[charts.TrendPoint]
    benchmark: charts.ReferenceLine | None
    """The ACSI index of the organisation's industry (CSAT only), shown as text: an index
    from 0 to 100 on another scale, never drawn on the CSAT chart."""
    benchmark_caveat: str | None
    nps_bands: list[charts.NpsBands]
    scale_counts: list[charts.ScaleCount]
    """Answers per scale value this month (0..10 for NPS)."""
    scale_labels: dict[int, str]
    scale_bands: charts.ScaleBands
    movers: list[SegmentMove]
    goals: list[goal_store.GoalReport]
    goals_as_of: date
    extra_sections: list[Section] = field(default_factory=list)
    themes: list[ThemeMove] = field(default_factory=list)
    """This month's top themes (what costs the most points, then what wins) with the change
    of their share of the comments since last month; empty without analysed comments."""
    themes_analysed: int = 0
    """Analysed comments of the month (the base of the themes' shares)."""
    themes_waiting: int = 0
    """Comments of the month not analysed yet when the report was made."""
    follow_ups: LoopFigures | None = None
    """The month's follow-up figures; None when the survey has no case at all."""
    level: float = DEFAULT_LEVEL
    min_n: int = DEFAULT_MIN_N

    @property
    def month_text(self) -> str:
        return month_name(self.month)

    @property
    def month_label(self) -> str:
        return month_label(self.month)


def _trend_point(label: str, result: MetricResult) -> charts.TrendPoint:
    if result.n == 0:
        return charts.TrendPoint(label, None, None, None, 0, True)

    def finite(x: float) -> float | None:
        return x if math.isfinite(x) else None

    return charts.TrendPoint(
        label,
        finite(result.value),
        finite(result.ci_low),
        finite(result.ci_high),
        result.n,
        result.too_small,
    )


def _benchmark(
    organisation: Organisation, metric: Metric
) -> tuple[charts.ReferenceLine | None, str | None]:
    """The ACSI score of the organisation's industry, for CSAT only (both are 0-100)."""
    if metric is not Metric.CSAT or not organisation.industry:
        return None, None
    from cxpulse.metrics.benchmarks import ACSI_CAVEAT, find_industry
    from cxpulse.report.benchmarks import pick_benchmark

    # The dashboard's choice (an exact industry name first), so that both show one line.
    chosen = pick_benchmark(organisation.industry)
    if chosen is None:
        return None, None
    found = [
        s
        for s in find_industry(chosen.industry)
        if s.industry == chosen.industry and s.year == chosen.year
    ]
    score = found[0]
    return charts.ReferenceLine(score.score, f"ACSI {score.industry} {score.year}"), ACSI_CAVEAT


def _optional_sections(
    session: Session, organisation_id: int, survey_id: int, month: date
) -> list[Section]:
    """Sections with nothing to say this month are left out."""
    sections = []
    found = response_rates(
        session,
        organisation_id,
        survey_id,
        period="month",
        start=month,
        end=shift_month(month, 1),
    )
    if found:
        sections.append(_rates_section(found))
    return sections


def _rate_text(rate: Any) -> str:
    """A ``collect.rates.Rate`` (shares 0..1) as "40.0% (31.2 to 49.4)"."""
    if rate.value is None:
        return "–"
    if rate.low is None or rate.high is None:
        return f"{100 * rate.value:.1f}%"
    return f"{100 * rate.value:.1f}% ({100 * rate.low:.1f} to {100 * rate.high:.1f})"


def _rates_section(rows: Sequence[Any]) -> Section:
    return Section(
        title="Response and comment rates",
        caption="Invitations sent this month by channel; rates with their 95% intervals",
        columns=["Channel", "Sent", "Answered", "Response rate", "Commented", "Comment rate"],
        rows=[
            [
                str(row.channel),
                str(row.sent),
                str(row.answered),
                _rate_text(row.response_rate),
                str(row.commented),
                _rate_text(row.comment_rate),
            ]
            for row in rows
        ],
        note="Response rate = answered / sent; comment rate = answers with a comment / answered.",
    )


def build_report(
    session: Session,
    organisation_id: int,
    survey_id: int,
    month: str | date,
    *,
    today: date | None = None,
    level: float = DEFAULT_LEVEL,
    min_n: int = DEFAULT_MIN_N,
) -> MonthlyReport:
    first = parse_month(month) if isinstance(month, str) else month.replace(day=1)
    survey = get_survey(session, organisation_id, survey_id)
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation", organisation_id)
    metric = Metric(survey.metric)
    spec = survey.metric_spec(level=level, min_n=min_n)
    start = shift_month(first, -(TREND_MONTHS - 1))
    following = shift_month(first, 1)
    monthly = histograms(
        session, organisation_id, survey_id, start=start, end=following, period="month"
    )
    by_month = {str(key[0]): histogram for key, histogram in monthly.items()}
    labels = [month_label(shift_month(start, i)) for i in range(TREND_MONTHS)]
    series = [by_month.get(label, Histogram()) for label in labels]
    current, previous = series[-1], series[-2]

    kpis = [_kpi(METRIC_LABELS[metric], previous, current, spec, survey.scale_high)]
    if metric is Metric.CSAT:
        dsat_spec = survey.metric_spec(metric=Metric.DSAT, level=level, min_n=min_n)
        kpis.append(
            _kpi(METRIC_LABELS[Metric.DSAT], previous, current, dsat_spec, survey.scale_high)
        )

    trend = [_trend_point(label, score(h, spec)) for label, h in zip(labels, series, strict=True)]
    bands: list[charts.NpsBands] = []
    if metric is Metric.NPS:
        for label, histogram in zip(labels, series, strict=True):
            promoters, passives, detractors = nps_bands(histogram, spec.thresholds)
            bands.append(charts.NpsBands(label, promoters, passives, detractors))
    answered = dict(iter(current))
    low, high = survey.scale_low, survey.scale_high
    counts = [charts.ScaleCount(v, answered.get(float(v), 0)) for v in range(low, high + 1)]
    benchmark, caveat = _benchmark(organisation, metric)

    real_today = today or datetime.now(UTC).date()
    as_of = min(following - timedelta(days=1), real_today)
    goal_reports = [
        goal_store.goal_report(session, organisation_id, goal, today=as_of)
        for goal in goal_store.list_goals(session, organisation_id, survey_id)
        if goal.baseline_date <= as_of
    ]
    month_themes = _month_themes(session, organisation_id, survey, first, level, min_n, real_today)
    return MonthlyReport(
        organisation=organisation.name,
        survey_name=survey.name,
        survey_slug=survey.slug,
        metric=metric,
        metric_label=METRIC_LABELS[metric],
        scale=survey.scale.name,
        month=first,
        generated_at=datetime.now(UTC),
        answers=current.n,
        previous_answers=previous.n,
        kpis=kpis,
        trend=trend,
        benchmark=benchmark,
        benchmark_caveat=caveat,
        nps_bands=bands,
        scale_counts=counts,
        scale_labels=scale_labels(spec),
        scale_bands=scale_bands(spec),
        movers=segment_movers(session, organisation_id, survey, first, spec),
        goals=goal_reports,
        goals_as_of=as_of,
        extra_sections=_optional_sections(session, organisation_id, survey_id, first),
        themes=month_themes[0],
        themes_analysed=month_themes[1],
        themes_waiting=month_themes[2],
        follow_ups=follow_ups(
            session,
            organisation_id,
            survey,
            Window(first, following),
            min_n=min_n,
            level=level,
            shown_only=True,
        ),
        level=level,
        min_n=min_n,
    )


def _month_themes(
    session: Session,
    organisation_id: int,
    survey: Survey,
    first: date,
    level: float,
    min_n: int,
    today: date,
) -> tuple[list[ThemeMove], int, int]:
    """The month's top themes with their movement since the month before, the month's
    analysed comments and those still waiting for the worker."""
    views = []
    for month in (first, shift_month(first, -1)):
        window = Window(month, shift_month(month, 1))
        views.append(
            themes_view(
                session,
                organisation_id,
                survey,
                ViewFilters(start=window.start, to=window.last_day),
                window,
                examples=0,
                count_comments=month == first,
                today=today,
                min_n=min_n,
                level=level,
            )
        )
    current, previous = views
    return theme_moves(current, previous), current.analysed, current.waiting or 0


def _kpi(
    label: str, previous: Histogram, current: Histogram, spec: MetricSpec, scale_high: int
) -> Kpi:
    comparison = compare(previous, current, spec) if previous.n and current.n else None
    return Kpi(label, score(current, spec), score(previous, spec), comparison, scale_high)
