"""Goals off track: its owner hears once when a goal's forecast says it will be missed, and
again only when that changes.

The state lives in an alert of kind ``goal-off-track`` keyed by the goal: opened (and its
owner emailed) when the forecast is ``off track`` (even the better end of its interval
misses the target) or the goal was ``missed``; its title, and so a new email, changes when
it goes from one to the other; closed when the goal is back ``on track``, ``at risk`` or
``met``. Each opening and change also publishes ``alert.fired``. Without a forecast
(``not enough data``) nothing changes. The owner is the person who created the goal (the
audit log), or the organisation's owners and admins when that person is gone. Run by the
hourly alert scan (``act.alert_runner``).
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.act import alert_emails, events
from cxpulse.act.goal_progress import GoalReport, goal_report
from cxpulse.store import alert_inputs, alerts
from cxpulse.store.models import Goal

__all__ = ["KIND", "OFF", "ON", "check_goals", "goal_reason"]

KIND = "goal-off-track"
OFF = ("off track", "missed")
ON = ("on track", "at risk", "met")


def _number(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.1f}"


def goal_reason(report: GoalReport) -> str:
    """The reason in one line, with the numbers."""
    goal, forecast = report.goal, report.assessment.forecast
    metric = report.metric.upper()
    if forecast.status == "missed":
        return (
            f"Goal '{goal.name}' was missed: {metric} is {_number(report.assessment.current)} "
            f"on its due date {goal.due_date.isoformat()}, against a target of "
            f"{_number(goal.target)} (baseline {_number(goal.baseline)})."
        )
    return (
        f"Goal '{goal.name}' is off track: the trend of {forecast.weeks} weeks forecasts "
        f"{metric} {_number(forecast.value)} on {goal.due_date.isoformat()} (interval "
        f"{_number(forecast.ci_low)} to {_number(forecast.ci_high)}), short of the target "
        f"{_number(goal.target)} even at the interval's better end; now "
        f"{_number(report.assessment.current)} (n={report.assessment.current_n})."
    )


def check_goals(
    session: Session, organisation_id: int, *, today: date, now: datetime
) -> dict[str, int]:
    """Open, update or close each live goal's alert; counts of what changed."""
    counts = {"opened": 0, "closed": 0, "changed": 0}
    goals = session.scalars(
        select(Goal)
        .where(Goal.organisation_id == organisation_id, Goal.due_date >= today - timedelta(1))
        .order_by(Goal.id)
    )
    for goal in list(goals):
        report = goal_report(session, organisation_id, goal, today=today)
        status = report.assessment.forecast.status
        if status not in OFF and status not in ON:
            continue
        reason = goal_reason(report) if status in OFF else f"Goal '{goal.name}' is {status}."
        state = "open" if status in OFF else "closed"
        details = {
            "goal_id": goal.id,
            "status": status,
            "explanation": reason,
            "forecast": report.assessment.forecast.to_dict(),
            "current": report.assessment.current,
            "target": goal.target,
        }
        recorded = alerts.reopen_or_close(
            session,
            organisation_id,
            survey_id=goal.survey_id,
            kind=KIND,
            key=f"{KIND}:{goal.id}",
            title=f"Goal '{goal.name}' is {'missed' if status == 'missed' else 'off track'}",
            details=details,
            state=state,
            now=now,
        )
        if recorded is None:
            continue
        if state == "closed":
            counts["closed"] += 1
            continue
        counts["opened" if recorded.alert.raised_at == now else "changed"] += 1
        alert = recorded.alert
        events.publish(
            session,
            organisation_id,
            "alert.fired",
            {"alert_id": alert.id, "survey_id": goal.survey_id, "title": alert.title, **details},
            event_id=f"alert-{alert.id}-{status.replace(' ', '-')}",
        )
        owners = alert_inputs.goal_owners(session, organisation_id, goal.id)
        alert_emails.enqueue_alert_emails(session, alert, owners, version=status)
    return counts
