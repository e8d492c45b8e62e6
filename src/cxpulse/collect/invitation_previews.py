"""The invitation email before it is sent: shown in each language its recipients need, and
sent once, now, to the person preparing it ("send me a test").

Both compose the email with ``mailer.compose``, the worker's own function, with the
organisation's branding (``mailer.Branding``), for an invitation and a contact that are never
stored (id 0): the very templates, question, scale and unsubscribe footer the recipients
will get. Their links are signed for invitation 0, which
does not exist, so following one from a test email records nothing. The test goes out over
``SmtpConnection``, the worker's path to the SMTP server, with its two steps done at once.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage

from cxpulse import i18n
from cxpulse.collect.links import LinkSigner
from cxpulse.collect.mailer import Branding, Composed, HeaderInjection, compose, language_of
from cxpulse.collect.smtp import (
    DeliveryUnknown,
    SmtpConnection,
    SmtpRefused,
    SmtpSettings,
    SmtpUnavailable,
)
from cxpulse.store.models import Contact, Invitation, Organisation, Survey

SAMPLE_NAME = "Alex Example"
SAMPLE_ADDRESS = "alex@example.com"


@dataclass(frozen=True)
class Preview:
    language: str
    language_name: str
    subject: str
    sender: str
    text: str
    html: str


class SampleNotSent(Exception):
    """The test email did not reach the SMTP server; the message says why, in words."""


def languages_needed(
    survey: Survey, recipients: Iterable[tuple[str | None, str | None]]
) -> list[str]:
    """The languages the emails of ``recipients`` will be written in, as the worker picks
    them: each is ``(the invitation's language, the contact's locale)``."""
    found = set()
    for language, locale in recipients:
        invitation = Invitation(language=language)
        contact = Contact(locale=locale)
        found.add(language_of(invitation, contact, survey))
    if not found:
        found.add(language_of(Invitation(), None, survey))
    return sorted(found, key=lambda code: (code != survey.default_language, code))


def sample(
    survey: Survey,
    organisation: Organisation,
    language: str,
    *,
    links: LinkSigner,
    settings: SmtpSettings,
    to_email: str = SAMPLE_ADDRESS,
    to_name: str | None = SAMPLE_NAME,
) -> Composed:
    """The invitation email in ``language`` to ``to_email``, never stored."""
    invitation = Invitation(
        id=0,
        organisation_id=organisation.id,
        survey_id=survey.id,
        contact_id=0,
        language=i18n.normalise(language),
    )
    contact = Contact(id=0, organisation_id=organisation.id, email=to_email, name=to_name)
    return compose(
        invitation,
        contact,
        survey,
        organisation.name,
        links=links,
        settings=settings,
        branding=Branding.of(organisation, settings.public_url),
    )


def _parts(data: bytes) -> tuple[str, str, str, str]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    return (
        str(message.get("Subject", "")),
        str(message.get("From", "")),
        str(plain.get_content()) if plain is not None else "",
        str(html.get_content()) if html is not None else "",
    )


def preview(
    survey: Survey,
    organisation: Organisation,
    language: str,
    *,
    links: LinkSigner,
    settings: SmtpSettings,
) -> Preview:
    """The email in ``language`` as a sample recipient gets it: subject, sender, bodies."""
    composed = sample(survey, organisation, language, links=links, settings=settings)
    subject, sender, text, html = _parts(composed.data)
    return Preview(
        language=composed.language,
        language_name=i18n.LANGUAGE_NAMES.get(composed.language, composed.language),
        subject=subject,
        sender=sender,
        text=text,
        html=html,
    )


def send_test(
    survey: Survey,
    organisation: Organisation,
    language: str,
    *,
    to_email: str,
    to_name: str | None,
    links: LinkSigner,
    settings: SmtpSettings,
) -> Composed:
    """Send the email in ``language`` to ``to_email`` now; ``SampleNotSent`` saying why not."""
    try:
        composed = sample(
            survey,
            organisation,
            language,
            links=links,
            settings=settings,
            to_email=to_email,
            to_name=to_name,
        )
    except HeaderInjection as error:
        raise SampleNotSent(f"the email could not be written: {error}") from None
    connection = SmtpConnection(settings)
    try:
        connection.start(composed.sender, composed.recipients, composed.data)
        connection.complete()
    except SmtpRefused as error:
        raise SampleNotSent(f"the mail server refused it ({error})") from None
    except SmtpUnavailable as error:
        raise SampleNotSent(f"the mail server could not be reached ({error})") from None
    except DeliveryUnknown as error:
        raise SampleNotSent(f"the mail server did not confirm it ({error})") from None
    finally:
        connection.close()
    return composed
