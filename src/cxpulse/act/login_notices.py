"""The email telling a user that logins to their account were paused after wrong passwords.

Queued in the transaction that records the failure which started a lock
(``store.login_attempts``): a lock of one address, or the account-wide delay. At most one
notice an hour per account (the outbox's dedupe key names the hour), however many addresses
keep trying. The worker composes it when it sends it, with the account's address at that
time; a user deactivated meanwhile gets nothing.

The notice is in English, like the signed-in pages. ``register`` tells the worker about this
kind of item; the web app registers it when it starts (``web.state``), and so must any
process that runs a worker (``cxpulse worker``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cxpulse import templating
from cxpulse.act.jobs import REGISTRY, JobHandler, JobRegistry
from cxpulse.collect.automated_email import automated_email
from cxpulse.collect.mailer import Composed
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import outbox
from cxpulse.store.login_attempts import Failure
from cxpulse.store.models import User
from cxpulse.store.outbox import Claimed
from cxpulse.store.types import utc_now

KIND = "login-notice"
TEXT_TEMPLATE = "email/login_notice.txt"
HTML_TEMPLATE = "email/login_notice.html"
SUBJECT = "cxpulse: logins to your account were paused"


def enqueue(
    session: Session, user_id: int, *, source: str, failure: Failure, now: datetime | None = None
) -> bool:
    """Queue the notice to ``user_id`` unless one was queued this hour; True when queued."""
    user = session.get(User, user_id)
    if user is None:
        return False
    moment = now or utc_now()
    payload: dict[str, Any] = {
        "user_id": user.id,
        "source": source,
        "source_failures": failure.source_failures,
        "account_failures": failure.account_failures,
        "source_locked_seconds": _seconds(failure.source_locked_for),
        "account_delay_seconds": _seconds(failure.account_delay),
        "at": moment.astimezone(UTC).isoformat(),
    }
    key = f"{KIND}:{user.id}:{moment.astimezone(UTC):%Y-%m-%dT%H}"
    return outbox.enqueue(session, user.organisation_id, KIND, key, payload)


def _seconds(span: timedelta | None) -> int | None:
    return None if span is None else int(span.total_seconds())


def duration(seconds: float) -> str:
    """``90`` -> ``2 minutes``: a wait in words, rounded up to what a person reads."""
    whole = max(1, int(-(-seconds // 1)))
    if whole < 60:
        return f"{whole} second{'s' if whole != 1 else ''}"
    minutes = -(-whole // 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = -(-minutes // 60)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def compose_notice(session: Session, item: Claimed, smtp: SmtpSettings) -> Composed | None:
    """The notice of ``item``; None when its user is gone or deactivated."""
    payload = item.payload
    user = session.get(User, int(payload["user_id"]))
    if user is None or not user.is_active or user.organisation_id != item.organisation_id:
        return None
    locked = payload.get("source_locked_seconds")
    delayed = payload.get("account_delay_seconds")
    context = {
        "name": user.name,
        "email": user.email,
        "source": str(payload.get("source") or "unknown"),
        "source_failures": int(payload.get("source_failures") or 0),
        "account_failures": int(payload.get("account_failures") or 0),
        "source_lock": duration(float(locked)) if locked else None,
        "account_delay": duration(float(delayed)) if delayed else None,
        "at": datetime.fromisoformat(str(payload["at"])).strftime("%Y-%m-%d %H:%M UTC"),
        "sessions_url": f"{smtp.public_url}/app/sessions",
        "subject": SUBJECT,
    }
    return automated_email(
        smtp,
        ident=f"<cxpulse.login-notice.{item.id}@{smtp.domain}>",
        subject=SUBJECT,
        to=(user.name or "", user.email),
        text=templating.render(TEXT_TEMPLATE, context),
        html=templating.render(HTML_TEMPLATE, context),
    )


LOGIN_NOTICE_JOB = JobHandler(kind=KIND, compose=compose_notice)


def register(registry: JobRegistry = REGISTRY) -> None:
    """Let the outbox worker send login notices (call once at start-up; again is harmless)."""
    registry.register(LOGIN_NOTICE_JOB)
