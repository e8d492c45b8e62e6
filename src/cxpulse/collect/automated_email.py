"""The envelope of the emails cxpulse writes on its own: one recipient, the configured sender.

An alert, a login notice, a colleague's invitation, a password reset, a rule's notice, a
promoter's thanks and the settings page's test email differ only in their words; their
headers are the same ones, in the same order: ``Subject``, ``From`` (and ``Reply-To``: see
``mailer.sender_headers``), ``To``, ``Date``, ``Message-ID``, ``Content-Language`` when the
email says which language it is in, ``Auto-Submitted`` (so that mail programs send no
out-of-office answers), and the one-click unsubscribe headers (RFC 8058) when the recipient
may unsubscribe.
"""

from __future__ import annotations

from email.utils import format_datetime

from cxpulse.collect.mailer import (
    Branding,
    Composed,
    address_header,
    header_text,
    multipart_alternative,
    sender_headers,
)
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store.types import utc_now

__all__ = ["automated_email"]


def automated_email(
    smtp: SmtpSettings,
    *,
    ident: str,
    subject: str,
    to: tuple[str, str],
    text: str,
    html: str,
    language: str = "en",
    branding: Branding | None = None,
    content_language: bool = False,
    unsubscribe_url: str | None = None,
) -> Composed:
    """The email to ``to`` (name, address), ready for SMTP, with the Message-ID ``ident``.

    ``branding``: the organisation's sender name and Reply-To (None: the configured
    sender); ``content_language``: say ``language`` in a header too."""
    name, address = to
    headers = [
        ("Subject", header_text(subject)),
        *sender_headers(smtp, branding),
        ("To", address_header(name, address)),
        ("Date", format_datetime(utc_now())),
        ("Message-ID", ident),
    ]
    if content_language:
        headers.append(("Content-Language", language))
    headers.append(("Auto-Submitted", "auto-generated"))
    if unsubscribe_url:
        headers += [
            ("List-Unsubscribe", f"<{unsubscribe_url}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ]
    return Composed(
        message_id=ident,
        sender=smtp.from_address,
        recipient=address,
        language=language,
        data=multipart_alternative(headers, text, html),
    )
