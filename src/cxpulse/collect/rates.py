"""Response rates of invitations, per survey, channel and period, counted in the database.

Invitations are grouped by the period of their send time (``send_at``: when they went, or
are due to go, out); each group counts:

| count | meaning |
|---|---|
| invited | invitations made |
| sent | taken by the SMTP server |
| failed | given up after retries |
| throttled / unsubscribed | never sent, on purpose |
| opened | opened (only counted when open tracking is on) |
| answered | responses through the invitation's link |
| commented | of those, with a comment |

response rate = answered / sent, comment rate = commented / answered, each with a Wilson
interval. One GROUP BY over invitations left-joined to their responses, within one
organisation. ``start`` and ``end`` keep it to the invitations sent in a period: only those
are joined to responses and grouped. (No index leads with the survey and ``send_at``, so
the database still reads the survey's invitations through ``(survey_id, created_at)``;
bounding that read too would need a new index.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Integer, and_, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cxpulse.engine.periods import PERIOD_NAMES
from cxpulse.metrics.intervals import wilson
from cxpulse.store.models import Invitation, Response
from cxpulse.store.sql import Period, period_label

RATE_PERIODS: tuple[Period, ...] = PERIOD_NAMES
DEFAULT_LEVEL = 0.95


@dataclass(frozen=True)
class Rate:
    value: float | None
    """None when the denominator is 0."""
    low: float | None
    high: float | None


def rate(successes: int, n: int, level: float = DEFAULT_LEVEL) -> Rate:
    if n <= 0:
        return Rate(None, None, None)
    low, high = wilson(successes, n, level)
    return Rate(successes / n, low, high)


@dataclass(frozen=True)
class RateRow:
    period: str
    channel: str
    invited: int
    sent: int
    failed: int
    throttled: int
    unsubscribed: int
    opened: int
    answered: int
    commented: int
    response_rate: Rate
    comment_rate: Rate

    def to_document(self) -> dict[str, Any]:
        def shown(r: Rate) -> dict[str, float | None]:
            return {"value": r.value, "low": r.low, "high": r.high}

        return {
            "period": self.period,
            "channel": self.channel,
            "invited": self.invited,
            "sent": self.sent,
            "failed": self.failed,
            "throttled": self.throttled,
            "unsubscribed": self.unsubscribed,
            "opened": self.opened,
            "answered": self.answered,
            "commented": self.commented,
            "response_rate": shown(self.response_rate),
            "comment_rate": shown(self.comment_rate),
        }


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


def _instant(value: date | datetime) -> datetime:
    """A date is midnight UTC at its start."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def response_rates(
    session: Session,
    organisation_id: int,
    survey_id: int,
    *,
    period: Period = "month",
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    level: float = DEFAULT_LEVEL,
) -> list[RateRow]:
    """One row per period and channel, oldest first: the invitations whose send time is in
    [``start``, ``end``) when those are given (a date is midnight UTC), so the first and last
    periods hold only the part inside the bounds."""
    if period not in RATE_PERIODS:
        raise ValueError(f"period must be one of {', '.join(RATE_PERIODS)}")
    bounds: list[ColumnElement[bool]] = []
    if start is not None:
        bounds.append(Invitation.send_at >= _instant(start))
    if end is not None:
        bounds.append(Invitation.send_at < _instant(end))
    dialect = session.get_bind().dialect.name
    label = period_label(Invitation.send_at, period, dialect, is_date=False).label("period")
    answered = Response.id.is_not(None)
    commented = and_(answered, func.length(func.trim(func.coalesce(Response.comment, ""))) > 0)
    query = (
        select(
            label,
            Invitation.channel,
            func.count(Invitation.id),
            _count(Invitation.status == "sent"),
            _count(Invitation.status == "failed"),
            _count(Invitation.status == "throttled"),
            _count(Invitation.status == "unsubscribed"),
            _count(Invitation.opened_at.is_not(None)),
            _count(answered),
            _count(commented),
        )
        .select_from(Invitation)
        .outerjoin(
            Response,
            and_(
                Response.invitation_id == Invitation.id,
                Response.organisation_id == organisation_id,
            ),
        )
        .where(
            Invitation.organisation_id == organisation_id,
            Invitation.survey_id == survey_id,
            *bounds,
        )
        .group_by(label, Invitation.channel)
        .order_by(label, Invitation.channel)
    )
    rows: list[RateRow] = []
    for values in session.execute(query).all():
        label_value, channel, invited, sent, failed, throttled, unsub, opened, ans, com = values
        rows.append(
            RateRow(
                period=str(label_value),
                channel=str(channel),
                invited=int(invited),
                sent=int(sent),
                failed=int(failed),
                throttled=int(throttled),
                unsubscribed=int(unsub),
                opened=int(opened),
                answered=int(ans),
                commented=int(com),
                response_rate=rate(int(ans), int(sent), level),
                comment_rate=rate(int(com), int(ans), level),
            )
        )
    return rows
