"""An organisation's branding in its emails: the logo as an <img> with an absolute URL, the
accent colour on the answer buttons, the sender name in From and the Reply-To header; no
branding leaves an email as it was."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from tests.store.logo_samples import png

from cxpulse.collect.links import LinkSigner
from cxpulse.collect.mailer import Branding, compose, sender_headers
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store.models import Contact, Invitation, Organisation, Survey
from cxpulse.store.organisation_settings import logo_version

SETTINGS = SmtpSettings(mail_from="Acme <surveys@acme.example>", public_url="https://cx.example")
LINKS = LinkSigner("key")


def _survey() -> Survey:
    return Survey(
        id=7,
        organisation_id=1,
        slug="csat",
        name="CSAT",
        metric="csat",
        scale_low=1,
        scale_high=5,
        questions={},
        default_language="en",
        presentation="numbers",
        collect_options={},
    )


def _organisation(**fields: object) -> Organisation:
    values: dict[str, object] = {"id": 1, "slug": "acme", "name": "Acme & Co"}
    values.update(fields)
    return Organisation(**values)


def _message(branding: Branding | None) -> EmailMessage:
    composed = compose(
        Invitation(id=41, survey_id=7, language=None),
        Contact(id=3, email="ana@example.com", name="Ana", locale=None),
        _survey(),
        "Acme & Co",
        links=LINKS,
        settings=SETTINGS,
        branding=branding,
    )
    message = email.message_from_bytes(composed.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def test_a_branded_invitation_shows_the_logo_and_the_accent_and_answers_to_reply_to() -> None:
    logo = png(300, 100)
    organisation = _organisation(
        accent_colour="#aa0000",
        logo=logo,
        logo_type="image/png",
        sender_name="Acme Support",
        reply_to="help@acme.example",
    )
    message = _message(Branding.of(organisation, SETTINGS.public_url))
    assert message["From"] == "Acme Support <surveys@acme.example>"
    assert message["Reply-To"] == "help@acme.example"
    html = _html(message)
    url = f"https://cx.example/brand/acme/logo?v={logo_version(logo)}"
    assert f'<img src="{url}" alt="Acme &amp; Co" width="192" height="64"' in html
    # Every answer button and the unsubscribe link in the accent colour.
    assert html.count("border:2px solid #aa0000") == 5
    assert "color:#1f4e8c" not in html


def test_without_a_sender_name_the_configured_name_then_the_organisations() -> None:
    """The operator's CXPULSE_MAIL_FROM names the sender for the whole installation;
    without a display name there, the organisation's name does."""
    message = _message(Branding.of(_organisation(), SETTINGS.public_url))
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Acme", "surveys@acme.example")
    assert message["Reply-To"] is None
    assert "<img src=" not in _html(message)
    bare = SmtpSettings(mail_from="surveys@acme.example", public_url="https://cx.example")
    headers = dict(sender_headers(bare, Branding.of(_organisation(), bare.public_url)))
    assert headers["From"] == "Acme & Co <surveys@acme.example>"


def test_no_branding_keeps_the_configured_sender_and_cxpulses_colour() -> None:
    message = _message(None)
    assert message["From"] == "Acme <surveys@acme.example>"
    assert message["Reply-To"] is None
    assert "border:2px solid #1f4e8c" in _html(message)


def test_a_malformed_stored_colour_never_reaches_a_style() -> None:
    branding = Branding(accent_colour="red;background:url(https://evil.example)")
    html = _html(_message(branding))
    assert "evil.example" not in html
    assert "border:2px solid #1f4e8c" in html
