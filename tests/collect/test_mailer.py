"""Composed emails: both parts, headers, links per scale value, languages, escaping."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage

import pytest

from cxpulse import i18n
from cxpulse.collect import questions
from cxpulse.collect.links import LinkSigner
from cxpulse.collect.mailer import (
    HeaderInjection,
    compose,
    header_text,
    language_of,
    multipart_alternative,
)
from cxpulse.collect.questions import EMOJI_FACES, THUMB_FACES
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store.models import Contact, Invitation, Survey

SETTINGS = SmtpSettings(mail_from="Acme <surveys@acme.example>", public_url="https://cx.example")
LINKS = LinkSigner("key")


def _survey(**fields: object) -> Survey:
    values: dict[str, object] = {
        "id": 7,
        "organisation_id": 1,
        "slug": "csat",
        "name": "CSAT",
        "metric": "csat",
        "scale_low": 1,
        "scale_high": 5,
        "questions": {},
        "default_language": "en",
        "presentation": "numbers",
        "collect_options": {},
    }
    values.update(fields)
    return Survey(**values)


def _compose(invitation: Invitation, contact: Contact, survey: Survey) -> bytes:
    return compose(invitation, contact, survey, "Acme", links=LINKS, settings=SETTINGS).data


def _parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _bodies(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    return str(plain.get_content()), str(html.get_content())


def test_an_invitation_email_has_both_parts_and_the_list_headers() -> None:
    invitation = Invitation(id=41, survey_id=7, language=None)
    contact = Contact(id=3, email="ana@example.com", name="Ana Ödegaard", locale=None)
    composed = compose(invitation, contact, _survey(), "Acme & Co", links=LINKS, settings=SETTINGS)
    message = _parse(composed.data)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Message-ID"] == "<cxpulse.invitation.41@acme.example>"
    assert message["From"] == "Acme <surveys@acme.example>"
    assert message["To"] == "Ana Ödegaard <ana@example.com>"
    assert message["Subject"] == "Acme & Co would like your feedback"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain, html = _bodies(message)
    answer_links = re.findall(r'href="(https://cx\.example/r/[^"]+)"', html)
    assert [link.rsplit("=", 1)[1] for link in answer_links] == ["1", "2", "3", "4", "5"]
    token = answer_links[0].split("/r/")[1].split("?")[0]
    claims = LINKS.verify(token, "answer")
    assert (claims.invitation_id, claims.survey_id) == (41, 7)
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe in html
    assert unsubscribe in plain
    assert LINKS.verify(unsubscribe.split("/u/")[1], "unsubscribe").invitation_id == 41
    assert "Acme &amp; Co" in html
    assert "Hello Ana Ödegaard," in plain
    assert "/o/" not in html  # no tracking pixel unless asked for
    assert composed.sender == "surveys@acme.example"
    assert composed.recipient == "ana@example.com"


def test_reminders_have_their_own_message_id_and_words() -> None:
    invitation = Invitation(id=41, survey_id=7, language="fr")
    contact = Contact(id=3, email="a@example.com", name=None, locale=None)
    composed = compose(
        invitation, contact, _survey(), "Acme", links=LINKS, settings=SETTINGS, reminder=True
    )
    message = _parse(composed.data)
    assert message["Message-ID"] == "<cxpulse.reminder.41@acme.example>"
    assert message["Subject"] == "Rappel : Acme aimerait avoir votre avis"
    plain, _ = _bodies(message)
    assert plain.startswith("Bonjour,")
    assert "Nous vous avons écrit il y a quelques jours." in plain


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_language_is_translated(language: str) -> None:
    invitation = Invitation(id=1, survey_id=7, language=language)
    contact = Contact(id=1, email="a@example.com", name="Ana", locale=None)
    survey = _survey(metric="nps", scale_low=0, scale_high=10)
    message = _parse(
        compose(invitation, contact, survey, "Acme", links=LINKS, settings=SETTINGS).data
    )
    assert message["Content-Language"] == language
    gettext, _ = i18n.gettext_for("emails", language)
    plain, html = _bodies(message)
    # The very question of the answer page, in the same language.
    assert questions.default_question("nps", language, "Acme") in plain
    assert gettext("Not at all likely") in plain
    assert len(re.findall(r"/r/[^?]+\?score=\d+", html)) == 11
    if language != "en":
        assert gettext("Unsubscribe") != "Unsubscribe"
        assert message["Subject"] != "Acme would like your feedback"


def test_the_language_is_the_invitations_else_the_contacts_else_the_surveys() -> None:
    survey = _survey(default_language="nl")
    contact = Contact(id=1, email="a@example.com", locale="sv-SE")
    assert language_of(Invitation(language="de"), contact, survey) == "de"
    assert language_of(Invitation(language=None), contact, survey) == "sv"
    assert language_of(Invitation(language=None), Contact(locale="xx"), survey) == "nl"


def test_the_surveys_question_presentation_and_pixel() -> None:
    survey = _survey(
        questions={"es": {"question": "¿Qué tal <fue>?"}},
        presentation="stars",
        collect_options={"track_opens": True},
    )
    invitation = Invitation(id=5, survey_id=7, language="es")
    contact = Contact(id=1, email="a@example.com", name=None)
    message = _parse(
        compose(invitation, contact, survey, "Acme", links=LINKS, settings=SETTINGS).data
    )
    plain, html = _bodies(message)
    assert "¿Qué tal &lt;fue&gt;?" in html
    assert "¿Qué tal <fue>?" in plain
    assert "★★★★★ 5</a>" in html
    [pixel] = re.findall(r'<img src="https://cx\.example/o/([^"]+)\.gif"', html)
    assert LINKS.verify(pixel, "open").invitation_id == 5


@pytest.mark.parametrize(
    "address", ["a@b.se\nBcc:x@y.se", "victim@x.se\n\nText", "a@b.se\r\nBcc: x@y.se"]
)
def test_an_address_with_a_line_break_is_refused_not_sent(address: str) -> None:
    # The store refuses such addresses; this guards rows stored before it did.
    contact = Contact(id=1, email=address, name="Ann")
    with pytest.raises(HeaderInjection):
        _compose(Invitation(id=5, survey_id=7), contact, _survey())


def test_header_values_may_only_break_lines_by_folding() -> None:
    for value in ("x\r\nBcc: y@z.se", "x\nBcc: y@z.se", "x\rBcc: y@z.se", "x\r\n\r\nbody"):
        with pytest.raises(HeaderInjection):
            multipart_alternative([("Subject", value)], "text", "<p>html</p>")
    # A long non-ASCII subject is folded with CRLF and a space: that is allowed.
    folded = header_text("Ärende " * 30)
    assert "\r\n " in folded
    message = _parse(multipart_alternative([("Subject", folded)], "text", "<p>html</p>"))
    assert str(message["Subject"]).startswith("Ärende Ärende")


@pytest.mark.parametrize(
    ("presentation", "low", "high", "faces"),
    [("emoji", 1, 5, EMOJI_FACES), ("thumbs", 0, 1, THUMB_FACES)],
)
def test_the_email_shows_the_answer_pages_faces_with_their_numbers(
    presentation: str, low: int, high: int, faces: tuple[str, ...]
) -> None:
    survey = _survey(presentation=presentation, scale_low=low, scale_high=high)
    contact = Contact(id=1, email="a@example.com", name=None)
    _plain, html = _bodies(_parse(_compose(Invitation(id=5, survey_id=7), contact, survey)))
    shown = re.findall(r'title="\d+"[^>]*>([^<]*)</a>', html)
    assert shown == [f"{face} {value}" for value, face in enumerate(faces, start=low)]


def test_star_links_read_as_their_number() -> None:
    survey = _survey(presentation="stars")
    contact = Contact(id=1, email="a@example.com", name=None)
    _plain, html = _bodies(_parse(_compose(Invitation(id=5, survey_id=7), contact, survey)))
    shown = re.findall(r'title="\d+"[^>]*>([^<]*)</a>', html)
    assert shown == [f"{'★' * n} {n}" for n in range(1, 6)]
    numbers = _bodies(_parse(_compose(Invitation(id=5, survey_id=7), contact, _survey())))[1]
    assert re.findall(r'title="\d+"[^>]*>([^<]*)</a>', numbers) == ["1", "2", "3", "4", "5"]
