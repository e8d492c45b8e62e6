"""The envelope of cxpulse's own emails: the same headers in the same order, the optional
ones only when asked for."""

from __future__ import annotations

from email import message_from_bytes

from cxpulse.collect.automated_email import automated_email
from cxpulse.collect.mailer import Branding
from cxpulse.collect.smtp import SmtpSettings

SMTP = SmtpSettings(mail_from="cxpulse <alerts@cx.example>", public_url="https://cx.example")


def _header_names(data: bytes) -> list[str]:
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0] for line in head.split("\r\n") if not line.startswith(" ")]


def test_a_plain_email_has_the_configured_sender_and_no_optional_header() -> None:
    composed = automated_email(
        SMTP,
        ident="<cxpulse.alert.7@cx.example>",
        subject="cxpulse alert: Détour",
        to=("Ana", "ana@acme.example"),
        text="Hello",
        html="<p>Hello</p>",
    )
    assert (composed.message_id, composed.sender) == (
        "<cxpulse.alert.7@cx.example>",
        "alerts@cx.example",
    )
    assert (composed.recipient, composed.language) == ("ana@acme.example", "en")
    assert _header_names(composed.data) == [
        "Subject",
        "From",
        "To",
        "Date",
        "Message-ID",
        "Auto-Submitted",
        "MIME-Version",
        "Content-Type",
    ]
    message = message_from_bytes(composed.data)
    assert message["From"] == "cxpulse <alerts@cx.example>"
    assert message["To"] == "Ana <ana@acme.example>"
    assert message["Auto-Submitted"] == "auto-generated"


def test_a_customer_email_says_its_language_sender_and_how_to_unsubscribe() -> None:
    composed = automated_email(
        SMTP,
        ident="<cxpulse.promoter-email.3@cx.example>",
        subject="Merci",
        to=("", "fay@customer.example"),
        text="Merci",
        html="<p>Merci</p>",
        language="fr",
        branding=Branding(sender_name="Acme", reply_to="help@acme.example"),
        content_language=True,
        unsubscribe_url="https://cx.example/u/abc",
    )
    assert composed.language == "fr"
    assert _header_names(composed.data)[:10] == [
        "Subject",
        "From",
        "Reply-To",
        "To",
        "Date",
        "Message-ID",
        "Content-Language",
        "Auto-Submitted",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    ]
    message = message_from_bytes(composed.data)
    assert message["From"] == "Acme <alerts@cx.example>"
    assert message["Content-Language"] == "fr"
    assert message["List-Unsubscribe"] == "<https://cx.example/u/abc>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
