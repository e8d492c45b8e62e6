"""Compose invitation and reminder emails: HTML and plain text, in the invitation's language.

The question comes with its scale as links, one per value (``/r/<token>?score=N``): opening
one shows the answer page, which records nothing until the person confirms (the page is a
GET; only its form's POST stores). The footer links to ``/u/<token>`` to unsubscribe, and the
headers offer one-click unsubscribe (RFC 8058) to mail programs.

The Message-ID is made from the invitation id alone, so a message sent twice would show up
as the same message; the worker makes sure it is not sent twice at all.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

import jinja2

from cxpulse import i18n
from cxpulse.collect.links import UNSUBSCRIBE_LINK_DAYS, LinkSigner
from cxpulse.collect.options import parse_options
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store.models import Contact, Invitation, Survey
from cxpulse.store.types import utc_now

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "web" / "templates" / "email"
DOMAIN = "emails"

_EMOJI = {1: "\U0001f61e", 2: "\U0001f641", 3: "\U0001f610", 4: "\U0001f642", 5: "\U0001f604"}
_THUMBS = {0: "\U0001f44e", 1: "\U0001f44d"}


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@dataclass(frozen=True)
class ScaleLink:
    value: int
    label: str
    """What the link shows: the number, stars, an emoji or a thumb."""
    url: str


@dataclass(frozen=True)
class Composed:
    message_id: str
    sender: str
    recipient: str
    language: str
    data: bytes


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


def default_question(survey: Survey, organisation: str, gettext: Any) -> str:
    _ = gettext
    if survey.metric == "nps":
        text: str = _("How likely are you to recommend %(organisation)s to a friend or colleague?")
    elif survey.metric == "ces":
        text = _("%(organisation)s made it easy for me to handle my issue.")
    else:
        text = _("How satisfied are you with %(organisation)s?")
    return text % {"organisation": organisation}


def question_of(survey: Survey, language: str, organisation: str, gettext: Any) -> str:
    texts = survey.questions or {}
    for candidate in (language, survey.default_language):
        entry = texts.get(candidate)
        if isinstance(entry, dict) and isinstance(entry.get("question"), str) and entry["question"]:
            return str(entry["question"])
    return default_question(survey, organisation, gettext)


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
    context = {
        "_": gettext,
        "language": language,
        "organisation": organisation_name,
        "name": contact.name,
        "question": question_of(survey, language, organisation_name, gettext),
        "scale": scale,
        "low_label": low_label,
        "high_label": high_label,
        "answer_url": f"{base}/r/{answer}",
        "unsubscribe_url": unsubscribe_url,
        "pixel_url": pixel_url,
        "reminder": reminder,
        "subject": subject_text % {"organisation": organisation_name},
    }
    env = environment()
    text_body = env.get_template("invitation.txt").render(context)
    html_body = env.get_template("invitation.html").render(context)

    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = context["subject"]
    msg["From"] = settings.mail_from
    msg["To"] = formataddr((contact.name or "", contact.email))
    msg["Date"] = format_datetime(utc_now())
    ident = message_id(invitation.id, settings, reminder=reminder)
    msg["Message-ID"] = ident
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text_body, cte="quoted-printable")
    msg.add_alternative(html_body, subtype="html", cte="quoted-printable")
    # After the content: setting content clears Content-* headers.
    msg["Content-Language"] = language
    return Composed(
        message_id=ident,
        sender=settings.from_address,
        recipient=contact.email,
        language=language,
        data=msg.as_bytes(),
    )
