"""Report schedule rows: found by survey, removed, due a month's report, any active."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store import report_schedules
from cxpulse.store.models import Organisation, ReportSchedule, Survey


def _schedule(
    session: Session, survey: Survey, *, active: bool = True, last: str | None = None
) -> ReportSchedule:
    schedule = ReportSchedule(
        organisation_id=survey.organisation_id,
        survey_id=survey.id,
        recipients={"emails": ["cx@shop.example"]},
        active=active,
        last_month_sent=last,
    )
    session.add(schedule)
    session.flush()
    return schedule


def test_find_and_remove_a_survey_schedule(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    assert report_schedules.find_schedule(session, org.id, survey.id) is None
    first = _schedule(session, survey)
    _schedule(session, survey)
    assert report_schedules.find_schedule(session, org.id, survey.id) is first
    assert report_schedules.find_schedule(session, other_org.id, survey.id) is None
    report_schedules.remove_schedule(session, first)
    assert report_schedules.find_schedule(session, org.id, survey.id) is not first
    assert len(session.scalars(select(ReportSchedule)).all()) == 1


def test_due_schedules_are_active_and_behind_the_month(session: Session, survey: Survey) -> None:
    never = _schedule(session, survey)
    behind = _schedule(session, survey, last="2026-09")
    _schedule(session, survey, last="2026-10")
    _schedule(session, survey, active=False)
    assert report_schedules.due_schedules(session, "2026-10") == [never, behind]
    assert report_schedules.due_schedules(session, "2026-09") == [never]


def test_has_active_schedules(session: Session, survey: Survey) -> None:
    assert not report_schedules.has_active_schedules(session)
    schedule = _schedule(session, survey, active=False)
    assert not report_schedules.has_active_schedules(session)
    schedule.active = True
    session.flush()
    assert report_schedules.has_active_schedules(session)
