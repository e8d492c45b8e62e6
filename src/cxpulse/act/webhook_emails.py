"""The email telling an organisation's owners that one of its webhook endpoints was switched
off after failing for too long (``act.webhook_delivery``).

Queued in the transaction that disables the endpoint, once per disabling; composed when it is
sent, for the owners of that moment (the admins when there is no active owner). In English,
like the signed-in pages.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import urlsplit

from markupsafe import escape
from sqlalchemy.orm import Session

from cxpulse.act.jobs import REGISTRY, JobHandler, JobRegistry
from cxpulse.collect.mailer import Composed, address_header, header_text, multipart_alternative
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import outbox, webhooks
from cxpulse.store.errors import NotFound
from cxpulse.store.outbox import Claimed
from cxpulse.store.types import utc_now

KIND = "webhook-disabled"
SUBJECT = "cxpulse: a webhook endpoint was switched off"


def enqueue(
    session: Session, organisation_id: int, endpoint_id: int, reason: str, now: datetime
) -> bool:
    """Queue the notice of one disabling; True when queued."""
    payload: dict[str, Any] = {
        "endpoint_id": endpoint_id,
        "reason": reason[:2000],
        "at": now.isoformat(),
    }
    key = f"{KIND}:{endpoint_id}:{now:%Y%m%dT%H%M%S}"
    return outbox.enqueue(session, organisation_id, KIND, key, payload)


def _texts(url: str, reason: str, at: str, page: str) -> tuple[str, str]:
    text = (
        "Hello,\n\n"
        f"cxpulse stopped sending events to this webhook endpoint on {at}:\n\n"
        f"    {url}\n\n"
        f"Why: {reason}\n\n"
        "Events from now on are not sent to it. Once the receiver works again, switch the "
        "endpoint back on and replay the failed deliveries (nothing is lost: each keeps its "
        f"event id, so the receiver can skip the ones it has):\n\n    {page}\n\n"
        "-- cxpulse\n"
    )
    html = (
        "<p>Hello,</p>"
        f"<p>cxpulse stopped sending events to this webhook endpoint on {escape(at)}:</p>"
        f"<p><code>{escape(url)}</code></p>"
        f"<p>Why: {escape(reason)}</p>"
        "<p>Events from now on are not sent to it. Once the receiver works again, switch the "
        "endpoint back on and replay the failed deliveries (nothing is lost: each keeps its "
        "event id, so the receiver can skip the ones it has): "
        f'<a href="{escape(page)}">{escape(page)}</a></p>'
        "<p>-- cxpulse</p>"
    )
    return text, html


def compose_notice(session: Session, item: Claimed, smtp: SmtpSettings) -> Composed | None:
    """The notice of ``item``; None when the endpoint is gone or nobody can receive it."""
    try:
        endpoint = webhooks.get_endpoint(
            session, item.organisation_id, int(item.payload["endpoint_id"])
        )
    except NotFound:
        return None
    people = webhooks.owner_addresses(session, item.organisation_id)
    if not people:
        return None
    at = datetime.fromisoformat(str(item.payload["at"])).strftime("%Y-%m-%d %H:%M UTC")
    page = f"{smtp.public_url}/app/webhooks/{endpoint.id}"
    shown = endpoint.url
    if endpoint.format != "standard":
        # A Slack or Teams URL is the secret that lets anyone post: its host is enough here.
        shown = "https://" + (urlsplit(endpoint.url).hostname or "") + "/…"
    text, html = _texts(shown, str(item.payload.get("reason") or ""), at, page)
    ident = f"<cxpulse.webhook-disabled.{item.id}@{smtp.domain}>"
    (first_name, first), *others = people
    to = ", ".join(address_header(name or "", address) for name, address in people)
    headers = [
        ("Subject", header_text(SUBJECT)),
        ("From", address_header(*parseaddr(smtp.mail_from))),
        ("To", to),
        ("Date", format_datetime(utc_now())),
        ("Message-ID", ident),
        ("Auto-Submitted", "auto-generated"),
    ]
    del first_name
    return Composed(
        message_id=ident,
        sender=smtp.from_address,
        recipient=first,
        language="en",
        data=multipart_alternative(headers, text, html),
        also_to=tuple(address for _, address in others),
    )


WEBHOOK_DISABLED_JOB = JobHandler(kind=KIND, compose=compose_notice)


def register(registry: JobRegistry = REGISTRY) -> None:
    """Let the outbox worker send this notice (again is harmless)."""
    registry.register(WEBHOOK_DISABLED_JOB)
