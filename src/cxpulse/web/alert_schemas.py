"""Alerts as the API and the pages show them, and the dashboard view each one links to."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from cxpulse.report.filters_url import ViewFilters
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.models import Alert

AlertKind = Literal["score-drop", "theme-spike", "goal-off-track"]
AlertState = Literal["open", "closed"]


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def dashboard_link(alert: Alert) -> str | None:
    """The survey's dashboard over the alert's baseline and recent days, by day, filtered to
    its segment (a theme spike: the answers mentioning the theme); None without a survey."""
    if alert.survey_id is None:
        return None
    details = alert.details or {}
    base = f"/app/surveys/{alert.survey_id}"
    if alert.kind == "goal-off-track":
        return f"{base}#goals"
    first, last = _day(details.get("baseline_start")), _day(details.get("day"))
    if first is None or last is None:
        return base
    last = max(last, _day(details.get("last_seen_day")) or last)
    segment = str(details.get("segment") or "")
    name, _, value = segment.partition("=")
    where = ResponseFilters()
    if name == "channel" and value:
        where = ResponseFilters(channel=value)
    elif name == "touchpoint" and value:
        where = ResponseFilters(touchpoint=value)
    view = ViewFilters(start=first, to=last, grain="day", where=where)
    if alert.kind == "theme-spike" and details.get("theme_key"):
        recent = _day(details.get("recent_start")) or last
        query = view.between(recent, last).query(theme=str(details["theme_key"]))
        return f"{base}/responses?{query}"
    return f"{base}?{view.query()}"


class AlertOut(BaseModel):
    id: int
    kind: AlertKind
    state: AlertState
    survey_id: int | None
    title: str
    explanation: str | None = Field(description="One line with the numbers behind it.")
    segment: str | None = Field(
        None, description="``all``, ``channel=<value>`` or ``touchpoint=<value>``."
    )
    day: date | None = Field(None, description="The day examined when the alert was raised.")
    change: float | None = Field(
        None, description="Recent minus baseline: points (scale units for CES and mean)."
    )
    ci_low: float | None = None
    ci_high: float | None = None
    level: float | None = Field(None, description="Level of the (corrected) interval.")
    p_value: float | None = Field(None, description="One-sided, before the correction.")
    n_before: int | None = None
    n_after: int | None = None
    raised_at: datetime
    last_seen_at: datetime
    closed_at: datetime | None
    dashboard_url: str | None = Field(description="The dashboard view that shows it.")
    details: dict[str, Any] = Field(description="Every number of the detection.")


class AlertList(BaseModel):
    items: list[AlertOut]
    next_before: int | None = Field(
        description="Pass as ``before`` for the next page; null on the last page."
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int) else None


def alert_out(alert: Alert) -> AlertOut:
    details = dict(alert.details or {})
    explanation = details.get("explanation")
    return AlertOut(
        id=alert.id,
        kind=alert.kind,  # type: ignore[arg-type]
        state=alert.state,  # type: ignore[arg-type]
        survey_id=alert.survey_id,
        title=alert.title,
        explanation=str(explanation) if explanation is not None else None,
        segment=str(details["segment"]) if details.get("segment") else None,
        day=_day(details.get("day")),
        change=_number(details.get("change")),
        ci_low=_number(details.get("ci_low")),
        ci_high=_number(details.get("ci_high")),
        level=_number(details.get("level")),
        p_value=_number(details.get("p_value")),
        n_before=_count(details.get("n_before")),
        n_after=_count(details.get("n_after")),
        raised_at=alert.raised_at,
        last_seen_at=alert.last_seen_at,
        closed_at=alert.closed_at,
        dashboard_url=dashboard_link(alert),
        details=details,
    )
