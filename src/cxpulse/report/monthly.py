"""The monthly report of a survey as one self-contained HTML document (inline CSS and SVG),
and as the text and HTML of its email.

``build_report`` (``report.monthly_data``) gathers the numbers; ``render_report`` turns them
into HTML with the template ``report/monthly.html`` (in ``report/templates``, rendered by
the one environment of ``cxpulse.templating``, autoescaped); the charts are SVG from
``report.charts``. ``render_html`` does both and is what the CLI and the dashboard call;
``report_email`` is what the worker sends (``report.jobs``).

This module also re-exports, for its callers, the names of the modules the report is split
into: months (``report.months``), the data (``report.monthly_data``) and the schedules
(``report.schedules``).
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy.orm import Session

from cxpulse import templating
from cxpulse.metrics.scores import format_value
from cxpulse.report import charts
from cxpulse.report.monthly_changes import SegmentMove, value_text
from cxpulse.report.monthly_data import (
    METRIC_LABELS,
    TREND_MONTHS,
    Kpi,
    MonthlyReport,
    Section,
    build_report,
)
from cxpulse.report.months import month_label, month_name, parse_month, shift_month
from cxpulse.report.schedules import (
    MAX_RECIPIENTS,
    REPORT_KIND,
    check_recipients,
    delete_schedule,
    enqueue_due_reports,
    get_schedule,
    put_schedule,
)

__all__ = [
    "MAX_RECIPIENTS",
    "METRIC_LABELS",
    "REPORT_KIND",
    "TEMPLATE",
    "TREND_MONTHS",
    "Kpi",
    "MonthlyReport",
    "ReportEmail",
    "Section",
    "SegmentMove",
    "build_report",
    "charts_for",
    "check_recipients",
    "delete_schedule",
    "enqueue_due_reports",
    "get_schedule",
    "month_label",
    "month_name",
    "parse_month",
    "put_schedule",
    "render_html",
    "render_report",
    "render_text",
    "report_email",
    "shift_month",
]

TEMPLATE = "report/monthly.html"


def charts_for(report: MonthlyReport) -> dict[str, str]:
    """The report's charts as SVG text, by name, each drawn for desktop/print and for phone
    (``charts.responsive_svg``). The ACSI index is not drawn: it is on another scale than a
    CSAT percentage, so the report states it in words beside the CSAT figure."""
    goal_target = None
    if len(report.goals) == 1 and report.goals[0].metric == report.metric.value:
        only = report.goals[0].goal
        goal_target = charts.goal_line(only.target, only.name)
    return {
        "trend": charts.trend_svg(report.trend, metric_label=report.metric_label, goal=goal_target),
        "distribution": charts.scale_distribution_svg(
            report.scale_counts, labels=report.scale_labels, bands=report.scale_bands
        ),
    }


def render_report(report: MonthlyReport) -> str:
    svgs = {name: Markup(svg) for name, svg in charts_for(report).items()}  # noqa: S704 - SVG from vl-convert; every label in it is escaped XML text
    return templating.render(TEMPLATE, {"report": report, "charts": svgs})


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
            f"  {m.dimension} {m.value}: {value_text(m.current)} (n={m.current.n}), {m.change_text}"
            for m in report.movers
        ]
    if report.themes:
        lines += [
            "",
            "Themes in the comments (impact in points, change of share since last month):",
        ]
        lines += [
            f"  {'▼' if m.row.direction == 'costs' else '▲'} {m.row.name}: {m.row.impact_text} "
            f"({m.row.interval_text}), {m.row.share:.1f}% of comments, {m.change_text}"
            for m in report.themes
        ]
    if report.follow_ups:
        lines += ["", f"Follow-ups: {report.follow_ups.line()}"]
        for row in report.follow_ups.rows():
            interval = f" ({row.interval})" if row.interval else ""
            flag = ", too few cases to read" if row.too_small and row.value != "–" else ""
            detail = f", {row.detail}" if row.detail else ""
            lines.append(f"  {row.label}: {row.value}{detail}{interval}; {row.base}{flag}")
    if report.goals:
        lines += ["", f"Goals (as of {report.goals_as_of.isoformat()}):"]
        for item in report.goals:
            a = item.assessment
            status = a.forecast.status_words
            if a.forecast.reason:
                status += f" ({a.forecast.reason})"
            lines.append(
                f"  {item.goal.name}: {format_value(item.goal.target)} by "
                f"{item.goal.due_date.isoformat()}, {a.progress_text} of the way, {status}"
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
