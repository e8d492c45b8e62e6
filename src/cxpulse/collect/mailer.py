"""Compose invitation and reminder emails: HTML and plain text, in the invitation's language.

The question comes with its scale as links, one per value (``/r/<token>?score=N``): opening
one shows the answer page, which records nothing until the person confirms (the page is a
GET; only its form's POST stores). The footer links to ``/u/<token>`` to unsubscribe, and the
headers offer one-click unsubscribe (RFC 8058) to mail programs.

The Message-ID is made from the invitation id alone, so a message sent twice would show up
as the same message; the worker makes sure it is not sent twice at all.

An organisation's branding (``Branding``: sender name, Reply-To, accent colour, logo) is
optional everywhere: without it an email looks and is addressed as before. The logo is an
``<img>`` with an absolute URL (``/brand/<slug>/logo?v=<hash>``, served publicly), never an
attachment, so that a message stays small.
"""

from __future__ import annotations

import quopri
import re
import secrets
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any
from urllib.parse import quote

from cxpulse import i18n, templating
from cxpulse.collect.links import UNSUBSCRIBE_LINK_DAYS, LinkSigner
from cxpulse.collect.questions import EMOJI_FACES, THUMB_FACES, question_for
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import logo_images
from cxpulse.store.models import Contact, Invitation, Organisation, Survey
from cxpulse.store.organisation_settings import logo_version
from cxpulse.store.survey_options import parse_options
from cxpulse.store.types import utc_now

DOMAIN = "emails"
TEXT_TEMPLATE = "email/invitation.txt"
HTML_TEMPLATE = "email/invitation.html"
"""In ``collect/templates``, rendered with the one environment of ``cxpulse.templating``."""

# The answer page's faces, so that the face clicked in the email is the face shown there.
_EMOJI = dict(enumerate(EMOJI_FACES, start=1))
_THUMBS = dict(enumerate(THUMB_FACES, start=0))
DEFAULT_ACCENT = "#1f4e8c"
"""The buttons' and links' colour of emails of an organisation without its own."""
LOGO_BOX = (240, 64)
"""The largest size, in pixels, a logo is drawn at in an email (kept in proportion)."""
_COLOUR = re.compile(r"#[0-9a-f]{6}")
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


@dataclass(frozen=True)
class Branding:
    """How an organisation's emails look and whom they come from; None: cxpulse's default."""

    sender_name: str | None = None
    """The From header's display name (the address stays ``CXPULSE_MAIL_FROM``'s)."""
    organisation_name: str | None = None
    """The display name when neither the organisation nor ``CXPULSE_MAIL_FROM`` names one."""
    reply_to: str | None = None
    accent_colour: str | None = None
    """``#rrggbb``, for buttons and links."""
    logo_url: str | None = None
    """Absolute, so that mail programs can load it."""
    logo_width: int | None = None
    logo_height: int | None = None

    @classmethod
    def of(cls, organisation: Organisation, public_url: str) -> Branding:
        """The branding of ``organisation``."""
        logo_url = width = height = None
        data, kind = organisation.logo, organisation.logo_type
        if data and kind in logo_images.TYPES:
            slug = quote(organisation.slug, safe="")
            logo_url = f"{public_url.rstrip('/')}/brand/{slug}/logo?v={logo_version(data)}"
            size = logo_images.dimensions(data, kind)
            if size is not None:
                width, height = logo_images.shown_size(*size, *LOGO_BOX)
        return cls(
            sender_name=organisation.sender_name,
            organisation_name=organisation.name,
            reply_to=organisation.reply_to,
            accent_colour=organisation.accent_colour,
            logo_url=logo_url,
            logo_width=width,
            logo_height=height,
        )

    @property
    def accent(self) -> str:
        """The accent colour if it is a well-formed one (it goes into style attributes)."""
        colour = (self.accent_colour or "").lower()
        return colour if _COLOUR.fullmatch(colour) else DEFAULT_ACCENT


def brand_context(branding: Branding | None, organisation_name: str) -> dict[str, Any]:
    """What the email templates read of the branding: ``accent``, and ``logo`` (None or its
    ``url``, ``width``, ``height`` and ``alt``)."""
    chosen = branding or Branding()
    logo = None
    if chosen.logo_url:
        logo = {
            "url": chosen.logo_url,
            "width": chosen.logo_width,
            "height": chosen.logo_height,
            "alt": organisation_name,
        }
    return {"accent": chosen.accent, "logo": logo}


def sender_headers(settings: SmtpSettings, branding: Branding | None) -> list[tuple[str, str]]:
    """``From`` (the branding's sender name with the configured address) and, when the
    organisation set one, ``Reply-To``."""
    # The organisation's own sender name first; else the operator's CXPULSE_MAIL_FROM as
    # written (its display name chosen for the whole installation); else the
    # organisation's name.
    configured_name, _ = parseaddr(settings.mail_from)
    if branding is not None and branding.sender_name:
        headers = [("From", address_header(branding.sender_name, settings.from_address))]
    elif configured_name or branding is None or not branding.organisation_name:
        headers = [("From", address_header(*parseaddr(settings.mail_from)))]
    else:
        headers = [("From", address_header(branding.organisation_name, settings.from_address))]
    if branding is not None and branding.reply_to:
        headers.append(("Reply-To", address_header("", branding.reply_to)))
    return headers


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
    branding: Branding | None = None,
) -> Composed:
    """The whole email, ready for SMTP; ``contact.email`` must be set. ``branding``: the
    organisation's (``Branding.of``), else cxpulse's look and the configured sender."""
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
        **brand_context(branding, organisation_name),
    }
    text_body = templating.render(TEXT_TEMPLATE, context)
    html_body = templating.render(HTML_TEMPLATE, context)

    ident = message_id(invitation.id, settings, reminder=reminder)
    headers = [
        ("Subject", header_text(subject)),
        *sender_headers(settings, branding),
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
