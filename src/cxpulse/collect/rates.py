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
interval. The counting is one query in the store (``cxpulse.store.invitation_counts``);
``start`` and ``end`` keep it to the invitations sent in a period.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from cxpulse.engine.periods import PERIOD_NAMES
from cxpulse.metrics.intervals import wilson
from cxpulse.store.invitation_counts import InvitationCounts, invitation_counts
from cxpulse.store.sql import Period

RATE_PERIODS: tuple[Period, ...] = PERIOD_NAMES
COUNT_FIELDS = tuple(field.name for field in fields(InvitationCounts))
"""The counts of a row, in order: ``period``, ``channel``, ``invited`` ... ``commented``."""
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
class RateRow(InvitationCounts):
    """The counts of one period and channel with the rates they give."""

    response_rate: Rate
    comment_rate: Rate

    def to_document(self) -> dict[str, Any]:
        def shown(r: Rate) -> dict[str, float | None]:
            return {"value": r.value, "low": r.low, "high": r.high}

        return {
            **{name: getattr(self, name) for name in COUNT_FIELDS},
            "response_rate": shown(self.response_rate),
            "comment_rate": shown(self.comment_rate),
        }


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
    counts = invitation_counts(
        session,
        organisation_id,
        survey_id,
        period=period,
        start=None if start is None else _instant(start),
        end=None if end is None else _instant(end),
    )
    return [
        RateRow(
            **{name: getattr(row, name) for name in COUNT_FIELDS},
            response_rate=rate(row.answered, row.sent, level),
            comment_rate=rate(row.commented, row.answered, level),
        )
        for row in counts
    ]
