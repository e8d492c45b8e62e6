"""The settings page's "send a test email": one branded email composed and sent now, through
the configured SMTP server, with the server's answer kept for the person who asked.

Unlike the worker's two-step send (``collect.smtp``), this is one synchronous exchange whose
every outcome is put in words: the final reply (code and text) when the server took the
message, else the step that failed and why (no connection, a refused login, a refused
sender or recipient, a timeout). Nothing is queued or retried: the person asked to see what
happens now.
"""

from __future__ import annotations

import secrets
import smtplib
import socket
import ssl
from dataclasses import dataclass

from cxpulse import templating
from cxpulse.collect.automated_email import automated_email
from cxpulse.collect.mailer import Branding, Composed, brand_context
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store.models import Organisation

TEXT_TEMPLATE = "email/settings_test.txt"
HTML_TEMPLATE = "email/settings_test.html"
TIMEOUT_SECONDS = 15.0
"""The page waits for the answer: a server silent this long is reported as such."""


@dataclass(frozen=True)
class SendOutcome:
    """What became of the test email, for a person to read."""

    accepted: bool
    summary: str
    code: int | None = None
    reply: str | None = None


def compose_sample(organisation: Organisation, recipient: str, settings: SmtpSettings) -> Composed:
    """A short email in the organisation's branding to ``recipient``."""
    branding = Branding.of(organisation, settings.public_url)
    subject = f"Test email from {organisation.name} (cxpulse)"
    context = {
        "subject": subject,
        "organisation": organisation.name,
        "settings_url": f"{settings.public_url.rstrip('/')}/app/settings",
        "sender_name": branding.sender_name,
        "reply_to": branding.reply_to,
        **brand_context(branding, organisation.name),
    }
    return automated_email(
        settings,
        ident=f"<cxpulse.test.{secrets.token_hex(8)}@{settings.domain}>",
        subject=subject,
        to=("", recipient),
        text=templating.render(TEXT_TEMPLATE, context),
        html=templating.render(HTML_TEMPLATE, context),
        branding=branding,
    )


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def _unreachable(settings: SmtpSettings, error: OSError) -> SendOutcome:
    where = f"{settings.host}:{settings.port}"
    if isinstance(error, socket.gaierror):
        why = f"the host name {settings.host!r} could not be found"
    elif isinstance(error, ConnectionRefusedError):
        why = "the connection was refused: is an SMTP server listening there?"
    elif isinstance(error, TimeoutError):
        why = f"no answer within {TIMEOUT_SECONDS:.0f} seconds"
    elif isinstance(error, ssl.SSLError):
        why = f"the encrypted connection (STARTTLS) failed: {error.reason or error}"
    else:
        why = str(error) or type(error).__name__
    end = "" if why.endswith((".", "?")) else "."
    return SendOutcome(False, f"Could not reach the SMTP server {where}: {why}{end}")


def _refused(step: str, code: int, reply: bytes | str) -> SendOutcome:
    text = _text(reply)
    kind = "permanently" if 500 <= code < 600 else "for now"
    return SendOutcome(
        False, f"The SMTP server refused the {step} {kind}: {code} {text}", code, text
    )


def send_now(composed: Composed, settings: SmtpSettings) -> SendOutcome:
    """Send ``composed`` through the server of ``settings``; what happened, never raising for
    a network or SMTP failure."""
    try:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS)
    except OSError as error:
        return _unreachable(settings, error)
    try:
        return _exchange(smtp, composed, settings)
    except smtplib.SMTPServerDisconnected as error:
        return SendOutcome(False, f"The SMTP server closed the connection: {error}.")
    except smtplib.SMTPResponseException as error:
        return _refused("message", error.smtp_code, error.smtp_error)
    except smtplib.SMTPException as error:
        return SendOutcome(False, f"The SMTP exchange failed: {error}.")
    except OSError as error:
        return _unreachable(settings, error)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _exchange(smtp: smtplib.SMTP, composed: Composed, settings: SmtpSettings) -> SendOutcome:
    smtp.ehlo()
    if settings.starttls:
        smtp.starttls(context=ssl.create_default_context())
        smtp.ehlo()
    if settings.user:
        try:
            smtp.login(settings.user, settings.password or "")
        except smtplib.SMTPAuthenticationError as error:
            return _refused("login", error.smtp_code, error.smtp_error)
    code, reply = smtp.mail(composed.sender)
    if code != 250:
        return _refused(f"sender {composed.sender}", code, reply)
    code, reply = smtp.rcpt(composed.recipient)
    if code not in (250, 251):
        return _refused(f"recipient {composed.recipient}", code, reply)
    try:
        code, reply = smtp.data(composed.data)
    except smtplib.SMTPDataError as error:
        return _refused("message", error.smtp_code, error.smtp_error)
    text = _text(reply)
    if code != 250:
        return _refused("message", code, text)
    return SendOutcome(
        True, f"The SMTP server accepted the message for {composed.recipient}.", code, text
    )
