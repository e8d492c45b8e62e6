"""The monthly report of a survey: one self-contained HTML document (inline CSS and SVG).

``build_report`` gathers the numbers from the store (a handful of grouped queries: the
12-month trend, segments of this and the previous month, goals); ``render_report`` turns them
into HTML with the Jinja2 templates in ``web/templates/report`` (autoescaped); the charts are
SVG from ``report.charts``. ``render_html`` does both and is what the CLI and the report
e-mail call.

Sections appear only when their part of cxpulse exists and has something to say: response
and comment rates (``cxpulse.collect.rates``) when invitations went out in the month; themes
and follow-ups need the text and case stages (not built yet).

The second half of the module holds the report schedules: who receives a survey's monthly
report, and ``enqueue_due_reports`` that writes one outbox item per schedule and month.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxpulse.act import goals as goal_store
from cxpulse.collect.rates import response_rates
from cxpulse.metrics import Comparison, Histogram, Metric, MetricResult, MetricSpec, compare, score
from cxpulse.metrics.scores import DEFAULT_LEVEL, DEFAULT_MIN_N, format_value, nps_bands
from cxpulse.report import charts
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.metrics_query import histograms
from cxpulse.store.models import Organisation, OutboxItem, ReportSchedule, Response, Survey
from cxpulse.store.surveys import get_survey

MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
FIRST_YEAR, LAST_YEAR = 1900, 2999
"""The years a report may cover, as for a dashboard's dates (a trend reaches 11 months back)."""
TREND_MONTHS = 12
TOP_MOVERS = 6
MAX_PROPERTY_DIMENSIONS = 5
MAX_PROPERTY_VALUES = 30
PROPERTY_SAMPLE_ROWS = 2000
TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"

METRIC_LABELS = {
    Metric.CSAT: "CSAT (%)",
    Metric.DSAT: "DSAT (%)",
    Metric.NPS: "NPS",
    Metric.CES: "CES (mean effort)",
    Metric.MEAN: "Mean score",
}


# --- months ---------------------------------------------------------------------------------


def parse_month(text: str) -> date:
    """``2026-10`` -> date(2026, 10, 1); Invalid("month") otherwise."""
    match = MONTH_PATTERN.match(text.strip())
    if match is None:
        raise Invalid("month", f"must look like 2026-10 (year-month), got {text!r}")
    year = int(match.group(1))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid("month", f"must be in the years {FIRST_YEAR} to {LAST_YEAR}, got {text!r}")
    return date(year, int(match.group(2)), 1)


def month_label(first: date) -> str:
    return f"{first.year:04d}-{first.month:02d}"


def shift_month(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_name(first: date) -> str:
    return first.strftime("%B %Y")


# --- what the report holds ------------------------------------------------------------------


@dataclass(frozen=True)
class Kpi:
    label: str
    result: MetricResult
    previous: MetricResult
    comparison: Comparison | None
    unit: str = ""

    @property
    def value_text(self) -> str:
        return _value(self.result)

    @property
    def interval_text(self) -> str:
        if self.result.n == 0:
            return "no answers"
        return (
            f"{format_value(self.result.ci_low)} to {format_value(self.result.ci_high)} "
            f"({self.result.level:.0%} interval)"
        )

    @property
    def change_text(self) -> str:
        return _change(self.comparison, self.previous)


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
        return _change(self.comparison, self.previous)


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
    benchmark_caveat: str | None
    nps_bands: list[charts.NpsBands]
    scale_counts: list[charts.ScaleCount]
    movers: list[SegmentMove]
    goals: list[goal_store.GoalReport]
    goals_as_of: date
    extra_sections: list[Section] = field(default_factory=list)
    level: float = DEFAULT_LEVEL
    min_n: int = DEFAULT_MIN_N

    @property
    def month_text(self) -> str:
        return month_name(self.month)

    @property
    def month_label(self) -> str:
        return month_label(self.month)


def _value(result: MetricResult) -> str:
    if result.n == 0 or not math.isfinite(result.value):
        return "–"
    return format_value(result.value)


def _change(comparison: Comparison | None, previous: MetricResult) -> str:
    if comparison is None or previous.n == 0 or not math.isfinite(comparison.difference):
        return "no answers last month to compare with"
    sign = "+" if comparison.difference > 0 else ""
    verdict = (
        f"significant at {comparison.level:.0%}"
        if comparison.significant
        else "no significant change"
    )
    return f"{sign}{format_value(comparison.difference)} vs last month ({verdict})"


def _sum(parts: Sequence[Histogram]) -> Histogram:
    total = Histogram()
    for part in parts:
        total = total + part
    return total


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
    from cxpulse.report.views import pick_benchmark

    # The dashboard's choice (an exact industry name first), so that both show one line.
    chosen = pick_benchmark(organisation.industry)
    if chosen is None:
        return None, None
    found = [
        s
        for s in find_industry(chosen.industry)
        if s.industry == chosen.industry and s.year == chosen.year
    ]
    return charts.benchmark_line(found[0]), ACSI_CAVEAT


def property_dimensions(
    session: Session, organisation_id: int, survey_id: int, start: date, end: date
) -> list[str]:
    """Response properties worth splitting by: present in a sample of the period's responses
    with few distinct values (an order id is not a segment)."""
    rows = session.scalars(
        select(Response.properties)
        .where(
            Response.organisation_id == organisation_id,
            Response.survey_id == survey_id,
            Response.submitted_at >= datetime.combine(start, datetime.min.time(), UTC),
            Response.submitted_at < datetime.combine(end, datetime.min.time(), UTC),
        )
        .limit(PROPERTY_SAMPLE_ROWS)
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

    kpis = [_kpi(METRIC_LABELS[metric], previous, current, spec)]
    if metric is Metric.CSAT:
        dsat_spec = MetricSpec.default(
            Metric.DSAT,
            survey.scale,
            top_min=survey.top_min,
            bottom_max=survey.bottom_max,
            level=level,
            min_n=min_n,
        )
        kpis.append(_kpi(METRIC_LABELS[Metric.DSAT], previous, current, dsat_spec))

    trend = [_trend_point(label, score(h, spec)) for label, h in zip(labels, series, strict=True)]
    bands: list[charts.NpsBands] = []
    counts: list[charts.ScaleCount] = []
    if metric is Metric.NPS:
        for label, histogram in zip(labels, series, strict=True):
            promoters, passives, detractors = nps_bands(histogram, spec.thresholds)
            bands.append(charts.NpsBands(label, promoters, passives, detractors))
    else:
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
        movers=segment_movers(session, organisation_id, survey, first, spec),
        goals=goal_reports,
        goals_as_of=as_of,
        extra_sections=_optional_sections(session, organisation_id, survey_id, first),
        level=level,
        min_n=min_n,
    )


def _kpi(label: str, previous: Histogram, current: Histogram, spec: MetricSpec) -> Kpi:
    comparison = compare(previous, current, spec) if previous.n and current.n else None
    return Kpi(label, score(current, spec), score(previous, spec), comparison)


# --- HTML -----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["number"] = lambda value, digits=1: (
        "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"
    )
    return environment


def charts_for(report: MonthlyReport) -> dict[str, str]:
    """The report's charts as SVG text, by name."""
    goal_target = None
    if len(report.goals) == 1 and report.goals[0].metric == report.metric.value:
        only = report.goals[0].goal
        goal_target = charts.goal_line(only.target, only.name)
    rendered = {
        "trend": charts.trend_svg(
            report.trend,
            metric_label=report.metric_label,
            benchmark=report.benchmark,
            goal=goal_target,
        )
    }
    if report.nps_bands:
        rendered["distribution"] = charts.nps_distribution_svg(report.nps_bands)
    else:
        rendered["distribution"] = charts.scale_distribution_svg(report.scale_counts)
    return rendered


def render_report(report: MonthlyReport) -> str:
    from markupsafe import Markup

    svgs = {name: Markup(svg) for name, svg in charts_for(report).items()}  # noqa: S704 - SVG from vl-convert; every label in it is escaped XML text
    template = _environment().get_template("report/monthly.html")
    html: str = template.render(report=report, charts=svgs)
    return html


def render_html(session: Session, organisation_id: int, survey_id: int, month: str) -> str:
    """The monthly report of a survey as one self-contained HTML document.

    This is what ``cxpulse report`` writes. ``month`` is ``YYYY-MM``.
    """
    return render_report(build_report(session, organisation_id, survey_id, month))


def render_text(report: MonthlyReport) -> str:
    """A plain-text summary of the report: the e-mail's text part, for mail readers that do
    not show HTML."""
    lines = [f"{report.survey_name} — {report.month_text} ({report.organisation})", ""]
    for kpi in report.kpis:
        lines.append(f"{kpi.label}: {kpi.value_text} (n={kpi.result.n}; {kpi.interval_text})")
        lines.append(f"  {kpi.change_text}")
    if report.movers:
        lines += ["", "Segments that moved:"]
        lines += [
            f"  {m.dimension} {m.value}: {_value(m.current)} (n={m.current.n}), {m.change_text}"
            for m in report.movers
        ]
    if report.goals:
        lines += ["", f"Goals (as of {report.goals_as_of.isoformat()}):"]
        for item in report.goals:
            a = item.assessment
            done = "–" if a.progress is None else f"{a.progress:.0f}%"
            lines.append(
                f"  {item.goal.name}: {format_value(item.goal.target)} by "
                f"{item.goal.due_date.isoformat()}, {done} of the way, {a.forecast.status}"
            )
    lines += ["", "The HTML version of this report has the charts and tables."]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ReportEmail:
    subject: str
    text: str
    html: str


def report_email(session: Session, organisation_id: int, survey_id: int, month: str) -> ReportEmail:
    """Everything the mail worker needs for one monthly report e-mail (subject, text, HTML)."""
    report = build_report(session, organisation_id, survey_id, month)
    subject = f"{report.survey_name}: monthly report {report.month_text}"
    return ReportEmail(subject, render_text(report), render_report(report))


# --- schedules ------------------------------------------------------------------------------

MAX_RECIPIENTS = 50
EMAIL_PATTERN = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
REPORT_KIND = "report"


def check_recipients(emails: Sequence[str]) -> list[str]:
    cleaned: list[str] = []
    for index, email in enumerate(emails):
        address = email.strip()
        if len(address) > 320 or not EMAIL_PATTERN.match(address):
            raise Invalid("emails", f"item {index}: {email!r} is not an e-mail address")
        if address.lower() not in {e.lower() for e in cleaned}:
            cleaned.append(address)
    if not cleaned:
        raise Invalid("emails", "give at least one recipient")
    if len(cleaned) > MAX_RECIPIENTS:
        raise Invalid("emails", f"at most {MAX_RECIPIENTS} recipients")
    return cleaned


def get_schedule(session: Session, organisation_id: int, survey_id: int) -> ReportSchedule:
    get_survey(session, organisation_id, survey_id)
    schedule = session.scalar(
        select(ReportSchedule)
        .where(
            ReportSchedule.organisation_id == organisation_id,
            ReportSchedule.survey_id == survey_id,
        )
        .order_by(ReportSchedule.id)
        .limit(1)
    )
    if schedule is None:
        raise NotFound("report schedule", survey_id)
    return schedule


def put_schedule(
    session: Session,
    organisation_id: int,
    survey_id: int,
    *,
    emails: Sequence[str],
    language: str = "en",
    active: bool = True,
    now: datetime | None = None,
) -> ReportSchedule:
    """Set who receives the survey's monthly report (one schedule per survey).

    A new schedule starts with the next month's first: the month that just ended counts as
    sent, so that creating a schedule mid-month does not mail last month's report at once.
    """
    from cxpulse.i18n import LANGUAGES

    recipients = check_recipients(emails)
    if language not in LANGUAGES:
        raise Invalid("language", f"must be one of {', '.join(LANGUAGES)}")
    try:
        schedule = get_schedule(session, organisation_id, survey_id)
    except NotFound as missing:
        if missing.entity != "report schedule":
            raise
        this_month = (now or datetime.now(UTC)).date().replace(day=1)
        schedule = ReportSchedule(
            organisation_id=organisation_id,
            survey_id=survey_id,
            last_month_sent=month_label(shift_month(this_month, -1)),
        )
        session.add(schedule)
    schedule.recipients = {"emails": recipients}
    schedule.language = language
    schedule.active = active
    session.flush()
    return schedule


def delete_schedule(session: Session, organisation_id: int, survey_id: int) -> None:
    session.delete(get_schedule(session, organisation_id, survey_id))
    session.flush()


def enqueue_due_reports(session: Session, now: datetime) -> list[OutboxItem]:
    """On or after the first of a month, queue last month's report of every active schedule
    once: one outbox item (kind "report", dedupe key ``report:<schedule id>:<YYYY-MM>``) per
    schedule and month. Safe to run often and from several workers at once. The caller
    commits."""
    month = month_label(shift_month(now.astimezone(UTC).date().replace(day=1), -1))
    due = session.scalars(
        select(ReportSchedule)
        .where(ReportSchedule.active.is_(True))
        .where(
            (ReportSchedule.last_month_sent.is_(None)) | (ReportSchedule.last_month_sent < month)
        )
        .order_by(ReportSchedule.id)
    ).all()
    queued = []
    for schedule in due:
        item = OutboxItem(
            organisation_id=schedule.organisation_id,
            kind=REPORT_KIND,
            dedupe_key=f"report:{schedule.id}:{month}",
            payload={
                "schedule_id": schedule.id,
                "survey_id": schedule.survey_id,
                "month": month,
                "recipients": list((schedule.recipients or {}).get("emails", [])),
                "language": schedule.language,
            },
        )
        try:
            with session.begin_nested():
                session.add(item)
        except IntegrityError:
            pass  # another worker queued it first
        else:
            queued.append(item)
        schedule.last_month_sent = month
    session.flush()
    return queued
