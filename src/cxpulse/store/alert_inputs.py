"""What the alert detector reads: daily histograms per segment and daily theme mentions,
from the rollups (a survey's 35 days are a few hundred rows, however many answers).

Segments are the whole survey (``all``), each channel (``channel=email``) and each
touchpoint (``touchpoint=after support``) of the daily rollups; answers without a channel
or touchpoint count in ``all`` only.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxpulse.metrics import Histogram
from cxpulse.store import alerts
from cxpulse.store.models import (
    AuditLog,
    CommentRollup,
    DailyRollup,
    Survey,
    TextTheme,
    ThemeRollup,
    User,
)

__all__ = [
    "ALL",
    "commented_by_day",
    "goal_owners",
    "segment_days",
    "surveys_with_answers",
    "theme_days",
]

ALL = "all"
"""The segment of every answer of a survey."""

Series = dict[str, dict[date, Histogram]]


def _as_date(day: object) -> date:
    # SQLite hands back the text it stores when the column is read through an aggregate.
    return day if isinstance(day, date) else date.fromisoformat(str(day)[:10])


def surveys_with_answers(
    session: Session, organisation_id: int, start: date, end: date
) -> list[Survey]:
    """The organisation's surveys with answers between ``start`` and ``end`` (inclusive)."""
    ids = select(DailyRollup.survey_id).where(
        DailyRollup.organisation_id == organisation_id,
        DailyRollup.day >= start,
        DailyRollup.day <= end,
    )
    return list(
        session.scalars(
            select(Survey)
            .where(Survey.organisation_id == organisation_id, Survey.id.in_(ids))
            .order_by(Survey.id)
        )
    )


def segment_days(
    session: Session, organisation_id: int, survey_id: int, start: date, end: date
) -> Series:
    """Segment -> day -> histogram of the survey's answers from ``start`` to ``end``."""
    rows = session.execute(
        select(
            DailyRollup.day,
            DailyRollup.channel,
            DailyRollup.touchpoint,
            DailyRollup.score,
            DailyRollup.count,
        ).where(
            DailyRollup.survey_id == survey_id,
            DailyRollup.organisation_id + 0 == organisation_id,
            DailyRollup.day >= start,
            DailyRollup.day <= end,
        )
    )
    counts: dict[str, dict[date, dict[float, int]]] = defaultdict(lambda: defaultdict(dict))
    for day, channel, touchpoint, score, count in rows:
        when = _as_date(day)
        segments = [ALL]
        if channel:
            segments.append(f"channel={channel}")
        if touchpoint:
            segments.append(f"touchpoint={touchpoint}")
        for segment in segments:
            cell = counts[segment][when]
            cell[float(score)] = cell.get(float(score), 0) + int(count)
    return {
        segment: {day: Histogram(cell) for day, cell in days.items()}
        for segment, days in counts.items()
    }


def commented_by_day(
    session: Session, organisation_id: int, survey_id: int, start: date, end: date
) -> dict[date, int]:
    """Answers with an analysed comment, per day."""
    rows = session.execute(
        select(CommentRollup.day, func.sum(CommentRollup.count))
        .where(
            CommentRollup.survey_id == survey_id,
            CommentRollup.organisation_id + 0 == organisation_id,
            CommentRollup.day >= start,
            CommentRollup.day <= end,
        )
        .group_by(CommentRollup.day)
    )
    return {_as_date(day): int(count) for day, count in rows}


def theme_days(
    session: Session, organisation_id: int, survey_id: int, start: date, end: date
) -> dict[tuple[int, str, str], dict[date, int]]:
    """(theme id, key, name) -> day -> answers mentioning the active theme."""
    rows = session.execute(
        select(
            ThemeRollup.theme_id,
            TextTheme.key,
            TextTheme.name,
            ThemeRollup.day,
            func.sum(ThemeRollup.count),
        )
        .join(TextTheme, TextTheme.id == ThemeRollup.theme_id)
        .where(
            ThemeRollup.survey_id == survey_id,
            ThemeRollup.organisation_id + 0 == organisation_id,
            TextTheme.organisation_id == organisation_id,
            TextTheme.is_active.is_(True),
            ThemeRollup.day >= start,
            ThemeRollup.day <= end,
        )
        .group_by(ThemeRollup.theme_id, TextTheme.key, TextTheme.name, ThemeRollup.day)
    )
    found: dict[tuple[int, str, str], dict[date, int]] = defaultdict(dict)
    for theme_id, key, name, day, count in rows:
        found[(int(theme_id), str(key), str(name))][_as_date(day)] = int(count)
    return dict(found)


def goal_owners(session: Session, organisation_id: int, goal_id: int) -> list[User]:
    """Who hears about a goal: the active user who created it (the audit log), else the
    organisation's active owners and admins."""
    actor = session.scalar(
        select(AuditLog.actor)
        .where(
            AuditLog.organisation_id == organisation_id,
            AuditLog.entity == "goal",
            AuditLog.entity_id == str(goal_id),
            AuditLog.action == "create",
        )
        .order_by(AuditLog.id)
        .limit(1)
    )
    if actor and actor.startswith("user:") and actor[5:].isdigit():
        user = session.get(User, int(actor[5:]))
        if user is not None and user.is_active and user.organisation_id == organisation_id:
            return [user]
    return alerts.recipients(session, organisation_id)
