"""The settings page's test email: sent now through a real SMTP server, in the organisation's
branding; every failure (nobody listening, a refused message) put in words, never raised."""

from __future__ import annotations

from tests.smtp_server import free_port, smtp_server
from tests.store.logo_samples import png

from cxpulse.collect import sample_email
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store.models import Organisation


def _organisation() -> Organisation:
    return Organisation(
        id=1,
        slug="acme",
        name="Acme",
        accent_colour="#0055aa",
        logo=png(20, 20),
        logo_type="image/png",
        sender_name="Acme Support",
        reply_to="help@acme.example",
    )


def test_the_test_email_arrives_branded_and_the_servers_answer_is_kept() -> None:
    with smtp_server() as server:
        settings = server.settings()
        composed = sample_email.compose_sample(_organisation(), "ana@acme.example", settings)
        outcome = sample_email.send_now(composed, settings)
        [received] = server.wait_for(1)
    assert outcome.accepted
    assert outcome.code == 250
    assert outcome.reply == "Message accepted"
    assert "accepted the message for ana@acme.example" in outcome.summary
    assert received.recipients == ["ana@acme.example"]
    message = received.parsed()
    assert message["From"] == "Acme Support <surveys@acme.example>"
    assert message["Reply-To"] == "help@acme.example"
    html = message.get_body(("html",))
    assert html is not None
    content = str(html.get_content())
    assert "background:#0055aa" in content
    assert 'src="https://cx.example/brand/acme/logo?v=' in content


def test_a_refusal_is_told_with_the_servers_code() -> None:
    with smtp_server() as server:
        server.refuse_next(1, "554 5.7.1 Message rejected as spam")
        settings = server.settings()
        composed = sample_email.compose_sample(_organisation(), "ana@acme.example", settings)
        outcome = sample_email.send_now(composed, settings)
    assert not outcome.accepted
    assert outcome.code == 554
    assert outcome.summary == (
        "The SMTP server refused the message permanently: 554 5.7.1 Message rejected as spam"
    )


def test_no_server_listening_is_told_in_words() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), mail_from="a@acme.example")
    composed = sample_email.compose_sample(_organisation(), "ana@acme.example", settings)
    outcome = sample_email.send_now(composed, settings)
    assert not outcome.accepted
    assert outcome.code is None
    assert outcome.summary == (
        f"Could not reach the SMTP server 127.0.0.1:{settings.port}: the connection was "
        "refused: is an SMTP server listening there?"
    )
