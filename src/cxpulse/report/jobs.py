"""The monthly report as a job of the outbox worker: how a queued report becomes an email,
and ``register``, which tells the worker (``act.jobs``) so at start-up.

The worker (stage ``act``) runs below ``report`` and never imports it: the web app and
``cxpulse worker`` call ``register()`` before they start a worker. Calling it again does
nothing.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime, parseaddr

from sqlalchemy.orm import Session

from cxpulse.act.jobs import REGISTRY, JobHandler, JobRegistry
from cxpulse.collect.mailer import Composed, address_header, header_text, multipart_alternative
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.report.monthly import report_email
from cxpulse.report.schedules import REPORT_KIND, enqueue_due_reports, has_active_schedules
from cxpulse.store.outbox import Claimed
from cxpulse.store.types import utc_now


def compose_report(session: Session, item: Claimed, smtp: SmtpSettings) -> Composed | None:
    """A monthly report (``enqueue_due_reports`` queues them) as one email to its
    recipients; None when it has none."""
    payload = item.payload
    recipients = [str(r).strip() for r in payload.get("recipients", []) if str(r).strip()]
    if not recipients:
        return None
    month = str(payload["month"])
    content = report_email(session, item.organisation_id, int(payload["survey_id"]), month)
    ident = f"<cxpulse.report.{int(payload['schedule_id'])}.{month}@{smtp.domain}>"
    headers = [
        ("Subject", header_text(content.subject)),
        ("From", address_header(*parseaddr(smtp.mail_from))),
        ("To", ", ".join(address_header("", r) for r in recipients)),
        ("Date", format_datetime(utc_now())),
        ("Message-ID", ident),
        ("Auto-Submitted", "auto-generated"),
    ]
    data = multipart_alternative(headers, content.text, content.html)
    return Composed(
        message_id=ident,
        sender=smtp.from_address,
        recipient=recipients[0],
        language=str(payload.get("language") or "en"),
        data=data,
        also_to=tuple(recipients[1:]),
    )


def _enqueue_due(session: Session, now: datetime) -> int:
    return len(enqueue_due_reports(session, now))


REPORT_JOB = JobHandler(
    kind=REPORT_KIND,
    compose=compose_report,
    enqueue_due=_enqueue_due,
    has_work=has_active_schedules,
)


def register(registry: JobRegistry = REGISTRY) -> None:
    """Let the outbox worker queue and send monthly reports (call once at start-up)."""
    registry.register(REPORT_JOB)
