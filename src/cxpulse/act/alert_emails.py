"""The email telling a person about an alert: once per alert and recipient.

Queued in the transaction that raised the alert (``act.alert_runner``, ``act.goal_alerts``)
as one outbox item per recipient, whose dedupe key names the alert, the recipient and the
alert's state version, so a retried scan never sends the same news twice. The worker
composes it when it sends it, from the alert as it is then; a recipient deactivated
meanwhile gets nothing. English, like the signed-in pages.
"""

from __future__ import annotations

import html

from sqlalchemy.orm import Session

from cxpulse.act.jobs import REGISTRY, JobHandler, JobRegistry
from cxpulse.collect.automated_email import automated_email
from cxpulse.collect.mailer import Composed
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import outbox
from cxpulse.store.models import Alert, User
from cxpulse.store.outbox import Claimed

__all__ = ["KIND", "compose_alert_email", "enqueue_alert_emails", "register"]

KIND = "alert-email"


def enqueue_alert_emails(
    session: Session, alert: Alert, users: list[User], *, version: str = "raised"
) -> int:
    """Queue the alert's email to each of ``users``; how many were queued (not before)."""
    queued = 0
    for user in users:
        key = f"{KIND}:{alert.id}:{user.id}:{version}"[:200]
        payload = {"alert_id": alert.id, "user_id": user.id, "title": alert.title}
        if outbox.enqueue(session, alert.organisation_id, KIND, key, payload):
            queued += 1
    return queued


def _lines(alert: Alert) -> list[str]:
    details = alert.details or {}
    lines: list[str] = []
    explanation = details.get("explanation")
    if isinstance(explanation, str):
        lines.append(explanation)
    segments = details.get("segments")
    if isinstance(segments, list):
        for found in segments[1:]:
            if isinstance(found, dict) and isinstance(found.get("explanation"), str):
                lines.append(found["explanation"])
    held = details.get("held_back")
    if isinstance(held, int) and held > 0:
        lines.append(
            f"{held} more detection(s) this hour were held back by the limit of new alerts "
            "per hour; they are listed on the alerts page once raised."
        )
    return lines


def compose_alert_email(session: Session, item: Claimed, smtp: SmtpSettings) -> Composed | None:
    """The email of ``item``; None when its alert or recipient is gone."""
    payload = item.payload
    user = session.get(User, int(payload["user_id"]))
    alert = session.get(Alert, int(payload["alert_id"]))
    if (
        user is None
        or alert is None
        or not user.is_active
        or user.organisation_id != item.organisation_id
        or alert.organisation_id != item.organisation_id
    ):
        return None
    subject = f"cxpulse alert: {alert.title}"
    link = f"{smtp.public_url}/app/alerts/{alert.id}"
    body = _lines(alert)
    greeting = f"Hello {user.name}," if user.name else "Hello,"
    text = "\n\n".join(
        [
            greeting,
            alert.title,
            *body,
            f"See it, and close it once handled: {link}",
            "-- ",
        ]
    )
    text += "\ncxpulse sends each alert once to each owner and admin of the organisation.\n"
    html_body = "".join(f"<p>{html.escape(line)}</p>" for line in [alert.title, *body])
    html_text = (
        f"<!doctype html><html><body><p>{html.escape(greeting)}</p>{html_body}"
        f'<p><a href="{html.escape(link)}">See the alert</a></p></body></html>'
    )
    return automated_email(
        smtp,
        ident=f"<cxpulse.alert.{item.id}@{smtp.domain}>",
        subject=subject,
        to=(user.name or "", user.email),
        text=text,
        html=html_text,
    )


ALERT_EMAIL_JOB = JobHandler(kind=KIND, compose=compose_alert_email)


def register(registry: JobRegistry = REGISTRY) -> None:
    """Let the outbox worker send alert emails (again is harmless)."""
    registry.register(ALERT_EMAIL_JOB)
