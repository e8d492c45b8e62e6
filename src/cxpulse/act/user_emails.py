"""The emails of a team's accounts: a colleague's invitation and a password reset.

Both go through the durable outbox like every other email: queued in the transaction that
invites the colleague (or answers "forgot your password"), sent by the worker, composed when
sent. The item carries the link's token, made by the web process that holds the secret key
(``act.account_links``): the worker's composers get no signer. So a copy of the outbox holds
links that work until they expire (an hour for a reset) or a password is chosen, whichever
comes first; the composer sends nothing once the user's password changed (the link would be
dead), nor to a deactivated user.

Links use the configured public address (``CXPULSE_PUBLIC_URL``), as every email's do. The
emails are in English, like the signed-in pages. ``register`` tells the worker about these
kinds; the web app's routes that queue them call it, and so must any process that runs a
worker (``cxpulse worker``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cxpulse import templating
from cxpulse.act.account_links import LINK_SECONDS, AccountLinks
from cxpulse.act.jobs import REGISTRY, JobHandler, JobRegistry
from cxpulse.collect.automated_email import automated_email
from cxpulse.collect.mailer import Composed
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import outbox, user_invitations
from cxpulse.store.models import Organisation, User
from cxpulse.store.outbox import Claimed
from cxpulse.store.types import utc_now

INVITATION_KIND = "user-invitation"
RESET_KIND = "password-reset"
RESET_EVERY_MINUTES = 10
"""At most one reset email per account in this many minutes, however often it is asked."""

ROLE_NAMES = {
    "owner": "an owner",
    "admin": "an admin",
    "analyst": "an analyst",
    "agent": "an agent",
    "viewer": "a viewer",
}


def enqueue_invitation(
    session: Session, links: AccountLinks, user: User, *, inviter: str | None
) -> bool:
    """Queue the invitation email of ``user`` (just invited or renewed); True when queued."""
    mark = user_invitations.link_mark(user)
    payload: dict[str, Any] = {
        "user_id": user.id,
        "token": links.issue("invitation", user.id, mark),
        "mark": mark,
        "inviter": inviter,
    }
    key = f"{INVITATION_KIND}:{user.id}:{mark}"
    return outbox.enqueue(session, user.organisation_id, INVITATION_KIND, key, payload)


def enqueue_reset(
    session: Session, links: AccountLinks, user: User, *, now: datetime | None = None
) -> bool:
    """Queue a password reset email to ``user`` unless one was queued in the last few
    minutes (``RESET_EVERY_MINUTES``); True when queued."""
    moment = (now or utc_now()).astimezone(UTC)
    mark = user_invitations.link_mark(user)
    payload: dict[str, Any] = {
        "user_id": user.id,
        "token": links.issue("reset", user.id, mark),
        "mark": mark,
    }
    window = int(moment.timestamp()) // (RESET_EVERY_MINUTES * 60)
    key = f"{RESET_KIND}:{user.id}:{window}"
    return outbox.enqueue(session, user.organisation_id, RESET_KIND, key, payload)


def _recipient(session: Session, item: Claimed) -> tuple[User, Organisation] | None:
    """The item's user while its link still works (same password, still active)."""
    user = session.get(User, int(item.payload["user_id"]))
    if user is None or not user.is_active or user.organisation_id != item.organisation_id:
        return None
    if user_invitations.link_mark(user) != item.payload.get("mark"):
        return None
    organisation = session.get(Organisation, user.organisation_id)
    return None if organisation is None else (user, organisation)


def _composed(
    item: Claimed,
    smtp: SmtpSettings,
    user: User,
    *,
    subject: str,
    template: str,
    context: dict[str, Any],
) -> Composed:
    full = {**context, "subject": subject, "name": user.name, "email": user.email}
    return automated_email(
        smtp,
        ident=f"<cxpulse.{item.kind}.{item.id}@{smtp.domain}>",
        subject=subject,
        to=(user.name or "", user.email),
        text=templating.render(f"email/{template}.txt", full),
        html=templating.render(f"email/{template}.html", full),
    )


def compose_invitation(session: Session, item: Claimed, smtp: SmtpSettings) -> Composed | None:
    found = _recipient(session, item)
    if found is None or found[0].invited_at is None:
        return None
    user, organisation = found
    inviter = str(item.payload.get("inviter") or "") or None
    subject = f"You are invited to {organisation.name} on cxpulse"
    context = {
        "inviter": inviter,
        "organisation": organisation.name,
        "role": ROLE_NAMES.get(user.role, user.role),
        "url": f"{smtp.public_url}/invite/{item.payload['token']}",
        "days": LINK_SECONDS["invitation"] // 86_400,
        "login_url": f"{smtp.public_url}/login",
    }
    return _composed(item, smtp, user, subject=subject, template="user_invitation", context=context)


def compose_reset(session: Session, item: Claimed, smtp: SmtpSettings) -> Composed | None:
    found = _recipient(session, item)
    if found is None:
        return None
    user, organisation = found
    subject = "Reset your cxpulse password"
    context = {
        "organisation": organisation.name,
        "url": f"{smtp.public_url}/password/reset/{item.payload['token']}",
        "minutes": LINK_SECONDS["reset"] // 60,
        "forgot_url": f"{smtp.public_url}/password/forgot",
    }
    return _composed(item, smtp, user, subject=subject, template="password_reset", context=context)


INVITATION_JOB = JobHandler(kind=INVITATION_KIND, compose=compose_invitation)
RESET_JOB = JobHandler(kind=RESET_KIND, compose=compose_reset)


def register(registry: JobRegistry = REGISTRY) -> None:
    """Let the outbox worker send these emails (call at start-up; again is harmless)."""
    registry.register(INVITATION_JOB)
    registry.register(RESET_JOB)
