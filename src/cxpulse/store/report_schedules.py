"""Report schedule rows (``models.ReportSchedule``): find, remove, and those due a month's
report. Who may receive reports and when a month is due is ``report.schedules``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store.models import ReportSchedule


def find_schedule(session: Session, organisation_id: int, survey_id: int) -> ReportSchedule | None:
    """The survey's schedule (the first, should there be several), if it has one."""
    return session.scalar(
        select(ReportSchedule)
        .where(
            ReportSchedule.organisation_id == organisation_id,
            ReportSchedule.survey_id == survey_id,
        )
        .order_by(ReportSchedule.id)
        .limit(1)
    )


def remove_schedule(session: Session, schedule: ReportSchedule) -> None:
    session.delete(schedule)
    session.flush()


def due_schedules(session: Session, month: str) -> list[ReportSchedule]:
    """The active schedules whose last report enqueued is older than ``month`` (``YYYY-MM``)
    or that never sent one, in the order they were made."""
    return list(
        session.scalars(
            select(ReportSchedule)
            .where(ReportSchedule.active.is_(True))
            .where(
                (ReportSchedule.last_month_sent.is_(None))
                | (ReportSchedule.last_month_sent < month)
            )
            .order_by(ReportSchedule.id)
        ).all()
    )


def has_active_schedules(session: Session) -> bool:
    """A cheap read, so that a worker takes no write lock when no report is scheduled."""
    wanted = session.scalar(
        select(ReportSchedule.id).where(ReportSchedule.active.is_(True)).limit(1)
    )
    return wanted is not None
