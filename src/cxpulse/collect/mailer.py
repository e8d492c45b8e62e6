"""Compose invitation and reminder emails: HTML and plain text, in the invitation's language.

The question comes with its scale as links, one per value (``/r/<token>?score=N``): opening
one shows the answer page, which records nothing until the person confirms (the page is a
GET; only its form's POST stores). The footer links to ``/u/<token>`` to unsubscribe, and the
headers offer one-click unsubscribe (RFC 8058) to mail programs.

The Message-ID is made from the invitation id alone, so a message sent twice would show up
as the same message; the worker makes sure it is not sent twice at all.
"""

from __future__ import annotations

import quopri
import re
import secrets
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from cxpulse import i18n, templating
from cxpulse.collect.links import UNSUBSCRIBE_LINK_DAYS, LinkSigner
from cxpulse.collect.questions import EMOJI_FACES, THUMB_FACES, question_for
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store.models import Contact, Invitation, Survey
from cxpulse.store.survey_options import parse_options
from cxpulse.store.types import utc_now

DOMAIN = "emails"
TEXT_TEMPLATE = "email/invitation.txt"
HTML_TEMPLATE = "email/invitation.html"
"""In ``collect/templates``, rendered with the one environment of ``cxpulse.templating``."""

# The answer page's faces, so that the face clicked in the email is the face shown there.
_EMOJI = dict(enumerate(EMOJI_FACES, start=1))
_THUMBS = dict(enumerate(THUMB_FACES, start=0))
# A line break inside a header value is only allowed as folding: CRLF then a space or tab.
_BAD_LINE_BREAK = re.compile(r"\r(?!\n[ \t])|(?<!\r)\n|\r\n(?![ \t])")


class HeaderInjection(ValueError):
    """A header value would end its header: a stored value holds a line break."""


@dataclass(frozen=True)
class ScaleLink:
    value: int
    label: str
    """What the link shows: the number, stars, an emoji or a thumb."""
    url: str

    @property
    def text(self) -> str:
        """The link's text: stars and faces carry the number too, for screen readers
        (``title`` is rarely announced) and for mail programs that show no emoji."""
        number = str(self.value)
        return number if self.label == number else f"{self.label} {number}"


@dataclass(frozen=True)
class Composed:
    message_id: str
    sender: str
    recipient: str
    language: str
    data: bytes
    also_to: tuple[str, ...] = ()
    """Further recipients of the same message (a report to several people)."""

    @property
    def recipients(self) -> tuple[str, ...]:
        return (self.recipient, *self.also_to)


def header_text(text: str) -> str:
    """A header value, RFC 2047-encoded when it is not plain ASCII."""
    flat = " ".join(text.split())
    if flat.isascii():
        return flat
    return Header(flat, "utf-8", maxlinelen=76).encode(linesep="\r\n")


def address_header(name: str, address: str) -> str:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in address):
        raise HeaderInjection(f"the address {address[:80]!r} holds a control character")
    return formataddr((" ".join(name.split()), address), charset="utf-8")


def _quoted_printable(text: str) -> bytes:
    body = "\n".join(text.splitlines()).encode("utf-8")
    return quopri.encodestring(body).replace(b"\n", b"\r\n")


def multipart_alternative(headers: list[tuple[str, str]], text: str, html: str) -> bytes:
    """A multipart/alternative message (plain text first, HTML preferred) as SMTP bytes.

    Written out by hand: ``email.message.EmailMessage`` parses and refolds every header and
    took most of the worker's time per message. Bodies are quoted-printable, whose output
    never contains ``=_``, so the boundary cannot occur inside a part.
    """
    for name, value in headers:
        if _BAD_LINE_BREAK.search(name) or _BAD_LINE_BREAK.search(value) or ":" in name:
            raise HeaderInjection(
                f"the {name[:40]!r} header would hold a line break: {value[:80]!r}"
            )
    boundary = f"=_cxpulse_{secrets.token_hex(12)}"
    lines = [f"{name}: {value}" for name, value in headers]
    lines += [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        "",
    ]
    out = ["\r\n".join(lines).encode("ascii")]
    for subtype, body in (("plain", text), ("html", html)):
        out.append(
            (
                f"--{boundary}\r\n"
                f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            ).encode("ascii")
        )
        out.append(_quoted_printable(body) + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(out)


def language_of(invitation: Invitation, contact: Contact | None, survey: Survey) -> str:
    return i18n.negotiate(
        invitation=invitation.language,
        contact=contact.locale if contact else None,
        survey_default=survey.default_language,
    )


def message_id(invitation_id: int, settings: SmtpSettings, *, reminder: bool = False) -> str:
    kind = "reminder" if reminder else "invitation"
    return f"<cxpulse.{kind}.{invitation_id}@{settings.domain}>"


def _labels(survey: Survey, gettext: Any) -> tuple[str, str]:
    _ = gettext
    if survey.metric == "nps":
        return _("Not at all likely"), _("Extremely likely")
    if survey.metric == "ces":
        return _("Strongly disagree"), _("Strongly agree")
    return _("Very dissatisfied"), _("Very satisfied")


def _shown(value: int, presentation: str, low: int, high: int) -> str:
    if presentation == "stars" and 1 <= value <= 5:
        return "\u2605" * value
    if presentation == "emoji" and value in _EMOJI and (low, high) == (1, 5):
        return _EMOJI[value]
    if presentation == "thumbs" and value in _THUMBS and (low, high) == (0, 1):
        return _THUMBS[value]
    return str(value)


def compose(
    invitation: Invitation,
    contact: Contact,
    survey: Survey,
    organisation_name: str,
    *,
    links: LinkSigner,
    settings: SmtpSettings,
    reminder: bool = False,
    now: float | None = None,
) -> Composed:
    """The whole email, ready for SMTP; ``contact.email`` must be set."""
    assert contact.email, "a contact without an address cannot be emailed"
    language = language_of(invitation, contact, survey)
    gettext, _ngettext = i18n.gettext_for(DOMAIN, language)
    options = parse_options(survey.collect_options)
    base = settings.public_url
    answer = links.issue("answer", invitation.id, survey.id, days=options.link_days, now=now)
    leave = links.issue(
        "unsubscribe", invitation.id, survey.id, days=UNSUBSCRIBE_LINK_DAYS, now=now
    )
    unsubscribe_url = f"{base}/u/{leave}"
    scale = [
        ScaleLink(
            v,
            _shown(v, survey.presentation, survey.scale_low, survey.scale_high),
            f"{base}/r/{answer}?score={v}",
        )
        for v in range(survey.scale_low, survey.scale_high + 1)
    ]
    pixel_url = None
    if options.track_opens:
        opened = links.issue("open", invitation.id, survey.id, days=options.link_days, now=now)
        pixel_url = f"{base}/o/{opened}.gif"
    low_label, high_label = _labels(survey, gettext)
    subject_text = (
        gettext("Reminder: %(organisation)s would like your feedback")
        if reminder
        else gettext("%(organisation)s would like your feedback")
    )
    subject = subject_text % {"organisation": organisation_name}
    context = {
        "_": gettext,
        "language": language,
        "organisation": organisation_name,
        "name": contact.name,
        # The very question the answer page will ask, in the same language.
        "question": question_for(
            survey.questions or {},
            survey.metric,
            language,
            organisation_name,
            source_language=survey.default_language,
        ),
        "scale": scale,
        "low_label": low_label,
        "high_label": high_label,
        "answer_url": f"{base}/r/{answer}",
        "unsubscribe_url": unsubscribe_url,
        "pixel_url": pixel_url,
        "reminder": reminder,
        "subject": subject,
    }
    text_body = templating.render(TEXT_TEMPLATE, context)
    html_body = templating.render(HTML_TEMPLATE, context)

    ident = message_id(invitation.id, settings, reminder=reminder)
    headers = [
        ("Subject", header_text(subject)),
        ("From", address_header(*parseaddr(settings.mail_from))),
        ("To", address_header(contact.name or "", contact.email)),
        ("Date", format_datetime(utc_now())),
        ("Message-ID", ident),
        ("Content-Language", language),
        ("List-Unsubscribe", f"<{unsubscribe_url}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Auto-Submitted", "auto-generated"),
    ]
    data = multipart_alternative(headers, text_body, html_body)
    return Composed(
        message_id=ident,
        sender=settings.from_address,
        recipient=contact.email,
        language=language,
        data=data,
    )
