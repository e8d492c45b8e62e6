"""The data of a dashboard view: every number one survey page shows, for one set of filters.

``load_view`` asks the store (``metrics_query.histograms``) for GROUP BYs it answers from the
daily rollups when the filters allow it (whole days, channel, touchpoint): the view's period
grouped by trend bucket and breakdown segment (one query when one source can answer both),
and the period before it as one histogram; plus the day of the latest response and the
property names of the latest 1,000 responses, both read through an index. Everything else
(headlines, changes, trend, distribution, impacts) is computed from those histograms in
Python, so the page costs the same with 1 or 5 million responses. Filters on response
properties or contact attributes, and breakdowns by them, read the responses table.

The rollups do not know which answers carry a comment, so the comment rate is counted in the
responses table: exactly up to ``COMMENT_RATE_MAX_SCAN`` answers, and above that estimated,
with an interval, from a fixed number of random time slices of the period that hold about
``COMMENT_SAMPLE_ANSWERS`` answers together (``estimate_comment_rate``).

``drill_down`` lists the responses behind a number; ``metric_rows`` flattens a view into
the rows of its exported metric tables.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from cxpulse.act import goals as goal_store
from cxpulse.collect import rates as rate_store
from cxpulse.metrics import (
    Comparison,
    Histogram,
    Metric,
    MetricResult,
    MetricSpec,
    compare,
    merge,
    score,
)
from cxpulse.metrics.intervals import wilson, z_quantile
from cxpulse.metrics.scores import DEFAULT_LEVEL, DEFAULT_MIN_N
from cxpulse.report.filters_url import (
    MAX_DAYS_FOR_DAY_GRAIN,
    MAX_YEARS,
    DrillFilters,
    Grain,
    ViewFilters,
    Window,
    add_months,
)
from cxpulse.report.impact import SegmentImpact, segment_impacts
from cxpulse.store import metrics_query
from cxpulse.store import responses as response_store
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Contact, DailyRollup, Organisation, Response, Survey
from cxpulse.store.responses import ResponseFilters, filter_conditions, join_contacts

COMMENT_RATE_MAX_SCAN = 200_000
"""Up to this many answers in a view, every one is read to count the comments."""
COMMENT_SAMPLE_SLICES = 40
"""Above it, the comment rate is estimated from this many random time slices of the period,"""
COMMENT_SAMPLE_ANSWERS = 20_000
"""... cut so that together they hold about this many of the survey's answers."""
COMMENT_SLICE_CAP = 10 * COMMENT_SAMPLE_ANSWERS // COMMENT_SAMPLE_SLICES
"""A slice with more answers than this (answers bunched at one moment, as an import may leave
them) is not read to its end, and the estimate is given up rather than skewed."""
PROPERTY_SAMPLE = 1000
"""Property names offered for the breakdown come from this many latest responses."""
DRILL_PAGE_SIZE = 50
METRIC_LABELS = {
    Metric.CSAT: "CSAT",
    Metric.DSAT: "DSAT",
    Metric.NPS: "NPS",
    Metric.CES: "CES",
    Metric.MEAN: "Mean",
}
UNITS = {Metric.CSAT: "%", Metric.DSAT: "%", Metric.NPS: "", Metric.CES: "", Metric.MEAN: ""}


# --------------------------------------------------------------------------- data shapes


@dataclass(frozen=True)
class Headline:
    label: str
    spec: MetricSpec
    current: MetricResult
    previous: MetricResult
    change: Comparison
    """Current minus previous, tested at the spec's level."""
    drill: DrillFilters
    """Which responses are "in" the number (satisfied, dissatisfied ...)."""

    @property
    def verdict(self) -> str:
        if self.current.n == 0 or self.previous.n == 0:
            return "no comparison: a period has no answers"
        return "significant" if self.change.significant else "no significant change"


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


@dataclass(frozen=True)
class DistributionRow:
    label: str
    count: int
    share: float
    """0..100; NaN without answers."""
    drill: DrillFilters


@dataclass(frozen=True)
class CommentEstimate:
    """The comment rate of a view estimated from a sample of time slices of its period."""

    rate: float
    """0..100."""
    ci_low: float
    ci_high: float
    level: float
    sampled: int
    """Answers read: those of the sampled slices."""
    commented: int
    """Of those, with a comment."""
    slices: int
    of_slices: int
    """The period was cut into this many slices."""


@dataclass(frozen=True)
class CommentRate:
    commented: int | None
    """Counted exactly; None when estimated or not known."""
    answered: int
    note: str | None = None
    """Why the rate is not shown, when it is not."""
    estimate: CommentEstimate | None = None

    @property
    def rate(self) -> float:
        if self.estimate is not None:
            return self.estimate.rate
        if self.commented is None or not self.answered:
            return math.nan
        return self.commented / self.answered * 100


@dataclass(frozen=True)
class InvitationRates:
    """Invitations of the view's period per trend bucket, every channel summed."""

    rows: list[rate_store.RateRow]
    total: rate_store.RateRow | None
    """The whole period; None when no invitation went out in it."""


@dataclass(frozen=True)
class Benchmark:
    industry: str
    score: float
    year: int
    source: str


@dataclass(frozen=True)
class DashboardView:
    survey_id: int
    survey_name: str
    metric: Metric
    filters: ViewFilters
    window: Window
    previous_window: Window
    grain: Grain
    headlines: list[Headline]
    trend: list[Bucket]
    distribution: list[DistributionRow]
    bands: dict[str, list[int]]
    """For NPS: per trend label [promoters, passives, detractors]."""
    comment_rate: CommentRate
    invitation_rates: InvitationRates
    breakdown_dimension: str
    overall: MetricResult
    segments: list[SegmentImpact[str | None]]
    benchmark: Benchmark | None
    property_names: list[str]
    min_n: int
    goals: list[goal_store.GoalReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def goal_line(self) -> goal_store.GoalReport | None:
        """The goal drawn on the trend: the first one of the whole survey on the trend's own
        metric, if any (a DSAT goal cannot be drawn on a CSAT trend)."""
        return next(
            (g for g in self.goals if not g.goal.segment and g.metric == self.metric.value), None
        )

    @property
    def label(self) -> str:
        return METRIC_LABELS[self.metric]

    @property
    def unit(self) -> str:
        return UNITS[self.metric]


# --------------------------------------------------------------------------- pure parts


def bucket_start(day: date, grain: Grain) -> date:
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_bucket(start: date, grain: Grain) -> date:
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def bucket_label(start: date, grain: Grain) -> str:
    """The store's period labels: 2024-03-04, 2024-W10, 2024-03."""
    if grain == "day":
        return start.isoformat()
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return f"{start.year:04d}-{start.month:02d}"


def buckets(window: Window, grain: Grain) -> list[tuple[str, date, date]]:
    """Every bucket of the window as (label, first day, end), clipped to the window."""
    out = []
    start = bucket_start(window.start, grain)
    while start < window.end:
        end = next_bucket(start, grain)
        out.append((bucket_label(start, grain), max(start, window.start), min(end, window.end)))
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


def headline_specs(survey: Survey, min_n: int) -> list[tuple[str, MetricSpec, DrillFilters]]:
    """The survey's own metric, and DSAT beside CSAT; with the responses each one counts."""
    spec = survey.metric_spec(min_n=min_n)
    metric = spec.metric
    label = METRIC_LABELS[metric]
    if metric is Metric.CSAT:
        dsat = MetricSpec.default(
            Metric.DSAT, survey.scale, bottom_max=survey.bottom_max, min_n=min_n
        )
        return [
            (label, spec, DrillFilters(min_score=spec.thresholds.top_min)),
            ("DSAT", dsat, DrillFilters(max_score=dsat.thresholds.bottom_max)),
        ]
    if metric is Metric.DSAT:
        return [(label, spec, DrillFilters(max_score=spec.thresholds.bottom_max))]
    return [(label, spec, DrillFilters())]


def headlines(
    specs: Sequence[tuple[str, MetricSpec, DrillFilters]],
    current: Histogram,
    previous: Histogram,
) -> list[Headline]:
    return [
        Headline(
            label,
            spec,
            score(current, spec),
            score(previous, spec),
            compare(previous, current, spec),
            drill,
        )
        for label, spec, drill in specs
    ]


def distribution(histogram: Histogram, spec: MetricSpec) -> list[DistributionRow]:
    """NPS: promoters, passives, detractors; other metrics: one row per scale value."""
    n = histogram.n

    def share(count: int) -> float:
        return count / n * 100 if n else math.nan

    if spec.metric is Metric.NPS:
        top, bottom = spec.thresholds.top_min, spec.thresholds.bottom_max
        promoters = histogram.count_at_least(top)
        detractors = histogram.count_at_most(bottom)
        passives = n - promoters - detractors
        return [
            DistributionRow("Promoters", promoters, share(promoters), DrillFilters(min_score=top)),
            DistributionRow(
                "Passives",
                passives,
                share(passives),
                DrillFilters(min_score=bottom + 1, max_score=top - 1),
            ),
            DistributionRow(
                "Detractors", detractors, share(detractors), DrillFilters(max_score=bottom)
            ),
        ]
    counts = dict(histogram.counts)
    rows = []
    for value in range(spec.scale.low, spec.scale.high + 1):
        count = counts.get(value, 0)
        rows.append(
            DistributionRow(
                str(value), count, share(count), DrillFilters(min_score=value, max_score=value)
            )
        )
    return rows


def nps_bands(trend_points: Sequence[Bucket]) -> dict[str, list[int]]:
    return {
        point.label: [
            int(point.result.counts.get("promoters", 0)),
            int(point.result.counts.get("passives", 0)),
            int(point.result.counts.get("detractors", 0)),
        ]
        for point in trend_points
    }


_RATE_COUNTS = (
    "invited",
    "sent",
    "failed",
    "throttled",
    "unsubscribed",
    "opened",
    "answered",
    "commented",
)


def sum_rates(label: str, rows: Sequence[rate_store.RateRow]) -> rate_store.RateRow:
    """Rows of several channels (or periods) as one, with the rates of the sums."""
    counts = {name: sum(getattr(row, name) for row in rows) for name in _RATE_COUNTS}
    return rate_store.RateRow(
        period=label,
        channel="all",
        **counts,
        response_rate=rate_store.rate(counts["answered"], counts["sent"]),
        comment_rate=rate_store.rate(counts["commented"], counts["answered"]),
    )


def invitation_rates(
    rows: Sequence[rate_store.RateRow], trend_points: Sequence[Bucket], channel: str | None
) -> InvitationRates:
    """The rows of the view's buckets (and channel), summed over channels per bucket."""
    labels = [point.label for point in trend_points]
    wanted = set(labels)
    by_label: dict[str, list[rate_store.RateRow]] = {}
    for row in rows:
        if row.period in wanted and (channel is None or row.channel == channel):
            by_label.setdefault(row.period, []).append(row)
    summed = [sum_rates(label, by_label[label]) for label in labels if label in by_label]
    total = sum_rates("all", summed) if summed else None
    return InvitationRates(summed, total)


def pick_benchmark(industry: str | None) -> Benchmark | None:
    """The newest ACSI score of the organisation's industry (exact name first)."""
    if not industry or not industry.strip():
        return None
    from cxpulse.metrics import find_industry

    try:
        found = find_industry(industry)
    except LookupError:
        return None
    wanted = industry.strip().casefold()
    exact = [s for s in found if s.industry.casefold() == wanted]
    best = max(exact or found, key=lambda s: (s.year, s.score))
    return Benchmark(best.industry, best.score, best.year, best.source)


# --------------------------------------------------------------------------- database reads


def latest_day(session: Session, organisation_id: int, survey_id: int) -> date | None:
    """The day of the survey's latest response: the end of one index range of the rollups."""
    day = session.scalar(
        select(func.max(DailyRollup.day)).where(
            DailyRollup.survey_id == survey_id,
            DailyRollup.organisation_id + 0 == organisation_id,
        )
    )
    if day is None:
        return None
    return day if isinstance(day, date) else date.fromisoformat(str(day)[:10])


def _filter_kwargs(filters: ViewFilters) -> dict[str, Any]:
    return {
        "channel": filters.channel,
        "touchpoint": filters.touchpoint,
        "language": filters.language,
        "source": filters.source,
        "properties": dict(filters.properties),
        "contact_attributes": dict(filters.contact_attributes),
    }


def property_names(session: Session, organisation_id: int, survey_id: int) -> list[str]:
    """Property names used by the survey's latest responses (newest first by the keyset
    index), for the breakdown's choices."""
    rows = session.scalars(
        select(Response.properties)
        .where(Response.survey_id == survey_id, Response.organisation_id == organisation_id)
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(PROPERTY_SAMPLE)
    )
    names: set[str] = set()
    for properties in rows:
        if isinstance(properties, dict):
            names.update(str(name) for name in properties)
    return sorted(names)


def day_counts(
    session: Session, organisation_id: int, survey_id: int, window: Window
) -> dict[date, int]:
    """Answers per UTC day of the window, every filter aside: one range of the rollups."""
    rows = session.execute(
        select(DailyRollup.day, func.sum(DailyRollup.count))
        .where(
            DailyRollup.survey_id == survey_id,
            DailyRollup.organisation_id + 0 == organisation_id,
            DailyRollup.day >= window.start,
            DailyRollup.day < window.end,
        )
        .group_by(DailyRollup.day)
    )
    return {
        day if isinstance(day, date) else date.fromisoformat(str(day)[:10]): int(count)
        for day, count in rows
    }


def slice_bounds(
    window: Window, per_day: Mapping[date, int], count: int
) -> list[tuple[datetime, datetime]]:
    """The window cut into ``count`` slices holding about as many answers each, in order;
    together they cover it exactly. Within a day answers are taken as spread evenly, so a
    busy day is cut into several slices and quiet days share one; days without answers join
    the slice after them (before them, at the end)."""
    start = datetime.combine(window.start, datetime.min.time(), UTC)
    finish = datetime.combine(window.end, datetime.min.time(), UTC)
    days = sorted(day for day, n in per_day.items() if n > 0)
    total = sum(per_day[day] for day in days)
    edges = [start]
    if total:
        seen, index = 0, 0
        day_length = timedelta(days=1)
        for k in range(1, count):
            wanted = total * k / count
            while seen + per_day[days[index]] < wanted:
                seen += per_day[days[index]]
                index += 1
            day = days[index]
            share = (wanted - seen) / per_day[day]
            moment = datetime.combine(day, datetime.min.time(), UTC) + share * day_length
            edges.append(max(edges[-1], moment))
    else:
        length = finish - start
        edges += [start + length * k / count for k in range(1, count)]
    edges.append(finish)
    return list(itertools.pairwise(edges))


def ratio_estimate(
    parts: Sequence[tuple[int, int]], population_slices: int, population_answers: int, level: float
) -> tuple[float, float, float]:
    """Share of commented answers from a simple random sample of slices, each given as
    (commented, answered): the ratio estimator Σc / Σa with its linearised variance
    (Cochran, Sampling Techniques, 6.9), which counts each slice as one draw, so answers
    that bunch together in time widen the interval as they should. Returns (share, low,
    high) in 0..1. When every sampled answer is alike the variance is 0 and Wilson's interval
    on the answers read stands in."""
    commented = sum(c for c, _ in parts)
    answered = sum(a for _, a in parts)
    share = commented / answered
    m = len(parts)
    if m >= population_slices:
        return share, share, share  # every slice read: a count, not an estimate
    if commented in (0, answered) or m < 2:
        low, high = wilson(commented, answered, level)
        return share, low, high
    mean_size = population_answers / population_slices
    spread = sum((c - share * a) ** 2 for c, a in parts) / (m - 1)
    variance = (1 - m / population_slices) * spread / (m * mean_size**2)
    half = z_quantile(level) * math.sqrt(max(variance, 0.0))
    return share, max(0.0, share - half), min(1.0, share + half)


def estimate_comment_rate(
    session: Session,
    organisation_id: int,
    survey_id: int,
    filters: ViewFilters,
    window: Window,
    answered: int,
    *,
    slices: int = COMMENT_SAMPLE_SLICES,
    target: int = COMMENT_SAMPLE_ANSWERS,
    cap: int = COMMENT_SLICE_CAP,
    level: float = DEFAULT_LEVEL,
) -> CommentRate:
    """The comment rate of a large view from ``slices`` random slices of its period.

    The period is cut into slices holding about equal numbers of the survey's answers (by the
    daily rollups; all its answers, not only those the filters keep, as those are what the
    index ranges read), so many that ``slices`` of them hold about ``target`` answers. A
    random choice of them, fixed by the survey and period so that a reload shows the same
    number, is read through the (survey_id, submitted_at) index, one range each.
    """
    per_day = day_counts(session, organisation_id, survey_id, window)
    everything = max(sum(per_day.values()), answered)
    population = max(slices, math.ceil(everything * slices / target))
    # The choice depends on the survey and period only, so that the estimates of two
    # filters of one period (email and chat, say) come from the same slices.
    seed = f"{survey_id}|{window.start}|{window.end}"
    chosen = sorted(random.Random(seed).sample(range(population), slices))  # noqa: S311 - a survey sample, not a secret
    bounds = slice_bounds(window, per_day, population)
    # The slice's bounds alone, not the window's too: given both, SQLite may start the index
    # range at the window's first day and walk to the slice.
    conditions, needs_contacts = filter_conditions(
        organisation_id,
        dataclasses.replace(
            response_filters(survey_id, filters, window, DrillFilters()), start=None, end=None
        ),
    )
    inner = select(Response.comment)
    if needs_contacts:
        inner = join_contacts(inner, organisation_id)
    # Inside a slice, a LIMIT stops a bunch of answers at one moment from being read whole.
    rows = (
        inner.where(
            *conditions,
            Response.submitted_at >= bindparam("since"),
            Response.submitted_at < bindparam("until"),
        )
        .limit(cap + 1)
        .subquery()
    )
    # The same test as the drill-down's has_comment, so the link shows what is counted.
    with_comment = func.coalesce(func.sum(case((rows.c.comment.is_not(None), 1), else_=0)), 0)
    statement = select(with_comment, func.count()).select_from(rows)
    # One statement, built and compiled once and run per slice: a UNION with a part per
    # slice cost more to build in Python than the database took to answer it.
    found = []
    for index in chosen:
        since, until = bounds[index]
        commented, count = session.execute(statement, {"since": since, "until": until}).one()
        found.append((int(commented), int(count)))
    if any(a > cap for _, a in found):
        return CommentRate(
            None,
            answered,
            f"unavailable for this view: it holds more than {COMMENT_RATE_MAX_SCAN:,} answers, "
            "too many to read, and they are too bunched in time to sample; narrow the period "
            "or filters to see it",
        )
    if not sum(a for _, a in found):
        return CommentRate(
            None,
            answered,
            f"unavailable for this view: it holds more than {COMMENT_RATE_MAX_SCAN:,} answers, "
            "too many to read, and the sampled slices of the period hold none of them; "
            "narrow the period or filters to see it",
        )
    share, low, high = ratio_estimate(found, population, answered, level)
    estimate = CommentEstimate(
        rate=share * 100,
        ci_low=low * 100,
        ci_high=high * 100,
        level=level,
        sampled=sum(a for _, a in found),
        commented=sum(c for c, _ in found),
        slices=slices,
        of_slices=population,
    )
    return CommentRate(None, answered, estimate=estimate)


def _comment_rate(
    session: Session,
    organisation_id: int,
    survey_id: int,
    filters: ViewFilters,
    window: Window,
    answered: int,
) -> CommentRate:
    if answered > COMMENT_RATE_MAX_SCAN:
        return estimate_comment_rate(session, organisation_id, survey_id, filters, window, answered)
    conditions, needs_contacts = filter_conditions(
        organisation_id,
        response_filters(survey_id, filters, window, DrillFilters(has_comment=True)),
    )
    query = select(func.count()).select_from(Response)
    if needs_contacts:
        query = join_contacts(query, organisation_id)
    commented = int(session.scalar(query.where(*conditions)) or 0)
    return CommentRate(commented, answered)


def _current_histograms(
    session: Session,
    organisation_id: int,
    survey_id: int,
    filters: ViewFilters,
    window: Window,
    grain: Grain,
    kwargs: Mapping[str, Any],
) -> tuple[dict[str, Histogram], dict[str | None, Histogram]]:
    """Histograms of the view's period per trend bucket and per breakdown segment.

    When one source can answer both (the rollups for a channel or touchpoint breakdown, or
    the responses table when a filter needs it anyway), one query grouped by bucket and
    segment gives both: the period is scanned once.
    """
    by = filters.by
    combined = by in metrics_query.ROLLUP_DIMENSIONS or not metrics_query.rollups_can_answer(
        language=filters.language,
        source=filters.source,
        properties=filters.properties,
        contact_attributes=filters.contact_attributes,
    )
    common: dict[str, Any] = {"start": window.start, "end": window.end, **kwargs}
    if combined:
        grouped = metrics_query.histograms(
            session, organisation_id, survey_id, group_by=[by], period=grain, **common
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
    by_period = metrics_query.histograms(
        session, organisation_id, survey_id, period=grain, **common
    )
    by_segment = metrics_query.histograms(
        session, organisation_id, survey_id, group_by=[by], **common
    )
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
    previous = window.previous()
    notes: list[str] = []
    grain = filters.grain
    if grain == "day" and window.days > MAX_DAYS_FOR_DAY_GRAIN:
        grain = "week"
        notes.append(
            f"The trend is shown by week: by day it is limited to {MAX_DAYS_FOR_DAY_GRAIN} days."
        )
    kwargs = _filter_kwargs(filters)
    by_label, segments = _current_histograms(
        session, organisation_id, survey_id, filters, window, grain, kwargs
    )
    current = merge(by_label.values())
    before = metrics_query.histograms(
        session, organisation_id, survey_id, start=previous.start, end=previous.end, **kwargs
    )[()]
    spec = survey.metric_spec(min_n=min_n)
    trend_points = trend(by_label, window, grain, spec)
    overall, impacts = segment_impacts(segments, spec)
    return DashboardView(
        survey_id=survey_id,
        survey_name=survey.name,
        metric=spec.metric,
        filters=filters,
        window=window,
        previous_window=previous,
        grain=grain,
        headlines=headlines(headline_specs(survey, min_n), current, before),
        trend=trend_points,
        distribution=distribution(current, spec),
        bands=nps_bands(trend_points) if spec.metric is Metric.NPS else {},
        comment_rate=_comment_rate(session, organisation_id, survey_id, filters, window, current.n),
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
        benchmark=pick_benchmark(organisation.industry),
        property_names=property_names(session, organisation_id, survey_id),
        min_n=min_n,
        goals=[
            goal_store.goal_report(session, organisation_id, goal, today=today)
            for goal in goal_store.list_goals(session, organisation_id, survey_id)
        ],
        notes=notes,
    )


def load_headline(
    session: Session, organisation: Organisation, survey: Survey, *, today: date | None = None
) -> tuple[Window, list[Headline]]:
    """The headline numbers of a survey's default view, for the list of surveys."""
    today = today or datetime.now(UTC).date()
    window = ViewFilters().window(latest_day(session, organisation.id, survey.id), today)
    previous = window.previous()
    hist = {
        name: metrics_query.histograms(
            session, organisation.id, survey.id, start=part.start, end=part.end
        )[()]
        for name, part in (("current", window), ("previous", previous))
    }
    specs = headline_specs(survey, DEFAULT_MIN_N)
    return window, headlines(specs, hist["current"], hist["previous"])


# --------------------------------------------------------------------------- drill-down


def response_filters(
    survey_id: int, filters: ViewFilters, window: Window, drill: DrillFilters
) -> ResponseFilters:
    """The store's filters for the responses behind a view (and a drill-down of it)."""
    return ResponseFilters(
        survey_id=survey_id,
        start=window.start,
        end=window.end,
        channel=filters.channel,
        touchpoint=filters.touchpoint,
        language=filters.language,
        source=filters.source,
        min_score=drill.min_score,
        max_score=drill.max_score,
        has_comment=drill.has_comment,
        properties=dict(filters.properties),
        contact_attributes=dict(filters.contact_attributes),
    )


@dataclass(frozen=True)
class DrillRow:
    id: int
    submitted_at: datetime
    score: float
    comment: str | None
    language: str | None
    channel: str | None
    touchpoint: str | None
    properties: dict[str, str]
    customer: str | None


@dataclass(frozen=True)
class DrillPage:
    rows: list[DrillRow]
    next_after: str | None


def _customer(name: str | None, email: str | None, external_id: str | None) -> str | None:
    parts = [part for part in (name, email) if part]
    if not parts and external_id:
        parts = [external_id]
    return " · ".join(parts) or None


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
    conditions, _ = filter_conditions(
        organisation_id, response_filters(survey_id, filters, window, drill)
    )
    if drill.search:
        conditions.append(Response.comment.icontains(drill.search, autoescape=True))
    if drill.after:
        moment, last_id = response_store.decode_cursor(drill.after)
        conditions.append(Response.submitted_at <= moment)
        conditions.append(
            or_(
                Response.submitted_at < moment,
                and_(Response.submitted_at == moment, Response.id < last_id),
            )
        )
    query = join_contacts(
        select(
            Response.id,
            Response.submitted_at,
            Response.score,
            Response.comment,
            Response.language,
            Response.channel,
            Response.touchpoint,
            Response.properties,
            Contact.name,
            Contact.email,
            Contact.external_id,
        ),
        organisation_id,
    )
    found = session.execute(
        query.where(*conditions)
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(limit + 1)
    ).all()
    rows = [
        DrillRow(
            id=row.id,
            submitted_at=row.submitted_at,
            score=row.score,
            comment=row.comment,
            language=row.language,
            channel=row.channel,
            touchpoint=row.touchpoint,
            properties=dict(row.properties or {}),
            customer=_customer(row.name, row.email, row.external_id),
        )
        for row in found[:limit]
    ]
    after = None
    if len(found) > limit and rows:
        after = response_store.encode_cursor((rows[-1].submitted_at, rows[-1].id))
    return DrillPage(rows, after)


# --------------------------------------------------------------------------- metric tables

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
    """The view's tables as rows of ``METRIC_COLUMNS``: headline, previous period, trend,
    distribution and breakdown."""
    rows: list[dict[str, Any]] = []
    for headline in view.headlines:
        row = _result_row("headline", view.window.label, headline.label, headline.current)
        row.update(
            change=_finite(headline.change.difference),
            p_value=_finite(headline.change.p_value),
            verdict=headline.verdict,
        )
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
