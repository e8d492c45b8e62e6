"""Report schedules: who receives a survey's monthly report by email, and
``enqueue_due_reports``, which queues one outbox item per schedule and month for the worker
(``report.jobs`` registers how to send them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from cxpulse.report.months import month_label, shift_month
from cxpulse.store import outbox, report_schedules
from cxpulse.store.email_addresses import EmailRefused, canonical_email
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import OutboxItem, ReportSchedule
from cxpulse.store.report_schedules import has_active_schedules
from cxpulse.store.surveys import get_survey

__all__ = [
    "MAX_RECIPIENTS",
    "REPORT_KIND",
    "check_recipients",
    "delete_schedule",
    "enqueue_due_reports",
    "get_schedule",
    "has_active_schedules",
    "put_schedule",
]

MAX_RECIPIENTS = 50
REPORT_KIND = "report"


def check_recipients(emails: Sequence[str]) -> list[str]:
    """The recipients in their canonical form (``store.email_addresses``), each once, in the
    order given; ``Invalid`` (field ``emails``) naming the first one the mailer could not
    send to, so that no schedule holds an address that would fail its month's email."""
    if isinstance(emails, str):
        raise Invalid("emails", "must be a list of addresses")
    cleaned: list[str] = []
    for index, email in enumerate(emails):
        if not isinstance(email, str):
            raise Invalid("emails", f"item {index}: must be text, not {type(email).__name__}")
        try:
            address = canonical_email(email)
        except EmailRefused as refused:
            raise Invalid("emails", f"item {index}: {email[:80]!r} {refused.reason}") from None
        if address not in cleaned:
            cleaned.append(address)
    if not cleaned:
        raise Invalid("emails", "give at least one recipient")
    if len(cleaned) > MAX_RECIPIENTS:
        raise Invalid("emails", f"at most {MAX_RECIPIENTS} recipients")
    return cleaned


def get_schedule(session: Session, organisation_id: int, survey_id: int) -> ReportSchedule:
    get_survey(session, organisation_id, survey_id)
    schedule = report_schedules.find_schedule(session, organisation_id, survey_id)
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
    report_schedules.remove_schedule(session, get_schedule(session, organisation_id, survey_id))


def enqueue_due_reports(session: Session, now: datetime) -> list[OutboxItem]:
    """On or after the first of a month, queue last month's report of every active schedule
    once: one outbox item (kind "report", dedupe key ``report:<schedule id>:<YYYY-MM>``) per
    schedule and month. Safe to run often and from several workers at once. The caller
    commits."""
    month = month_label(shift_month(now.astimezone(UTC).date().replace(day=1), -1))
    queued = []
    for schedule in report_schedules.due_schedules(session, month):
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
        if outbox.add_unless_queued(session, item):  # else another worker queued it first
            queued.append(item)
        schedule.last_month_sent = month
    session.flush()
    return queued
