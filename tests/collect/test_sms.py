"""The SMS channel's rules (E.164 numbers, opt-out keywords, texts, Twilio's request
signature) and its client against a real HTTP receiver on loopback playing the provider."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from tests.sms_receiver import ACCOUNT, SENDER, sms_receiver

from cxpulse.collect import sms
from cxpulse.store.errors import Invalid


def test_numbers_are_stored_in_e164() -> None:
    assert sms.e164("phone", "+46 70-123 45 67") == "+46701234567"
    assert sms.e164("phone", "+31 6 12345678") == "+31612345678"
    for bad in ("0701234567", "+46 12", "call me", "", "+999 123"):
        with pytest.raises(Invalid, match="phone"):
            sms.e164("phone", bad)


@pytest.mark.parametrize(
    ("reply", "keyword"),
    [
        ("STOP", "stop"),
        ("stop.", "stop"),
        (" Stopp ", "stopp"),
        ("AVSLUTA", "avsluta"),
        ("uit", "uit"),
        ("AFMELDEN!", "afmelden"),
        ("Stoppen", "stoppen"),
        ("СТОП", "стоп"),
        ("ABMELDEN", "abmelden"),
        ("ARRÊT", "arret"),
        ("Baja", "baja"),
        ("PARAR", "parar"),
    ],
)
def test_opt_out_keywords_in_our_languages(reply: str, keyword: str) -> None:
    assert sms.opt_out_keyword(reply) == keyword


def test_other_replies_stop_nothing() -> None:
    for reply in ("stop sending me the bill", "thanks!", "", "10", "Stopwatch"):
        assert sms.opt_out_keyword(reply) is None


def test_texts() -> None:
    text = sms.invitation_text("Acme", "https://cx.example/r/abc", "sv")
    assert "Acme" in text
    assert "https://cx.example/r/abc" in text
    assert "STOPP" in text
    assert "STOP" in sms.invitation_text("Acme", "https://x", "xx")
    assert sms.opted_out_reply("avsluta") == "Du får inga fler meddelanden från oss."
    assert sms.twiml(None) == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    assert "<Message>a &lt;b&gt; &amp; c</Message>" in sms.twiml("a <b> & c")


def test_the_request_signature_is_twilios() -> None:
    url = "https://cx.example/api/v1/sms/tok/incoming"
    params = [("From", "+46701234567"), ("Body", "STOP"), ("AccountSid", ACCOUNT)]
    data = url + "AccountSid" + ACCOUNT + "BodySTOP" + "From+46701234567"
    expected = base64.b64encode(hmac.new(b"tkn", data.encode(), hashlib.sha1).digest()).decode()
    assert sms.request_signature("tkn", url, params) == expected
    assert sms.signature_matches("tkn", url, params, expected)
    assert not sms.signature_matches("tkn", url + "?x=1", params, expected)
    assert not sms.signature_matches("", url, params, sms.request_signature("", url, params))


def test_the_client_posts_twilios_form_with_basic_auth() -> None:
    with sms_receiver() as receiver:
        sent = sms.SmsClient(receiver.settings()).send("+46701234567", "Hej")
        assert sent.sid.startswith("SM")
        (posted,) = receiver.messages
        assert posted.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
        assert posted.form == {"To": "+46701234567", "From": SENDER, "Body": "Hej"}
        assert receiver.credentials_ok(posted)


def test_refusals_say_whether_to_try_again() -> None:
    with sms_receiver() as receiver:
        client = sms.SmsClient(receiver.settings())
        receiver.failures += [
            (400, {"code": 21211, "message": "The 'To' number is not valid.", "status": 400}),
            (400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"}),
            (429, {"code": 20429, "message": "Too Many Requests"}),
            (503, {}),
        ]
        outcomes = []
        for _ in range(4):
            with pytest.raises(sms.SmsError) as raised:
                client.send("+46701234567", "x")
            outcomes.append((raised.value.permanent, raised.value.opted_out))
        assert outcomes == [(True, False), (True, True), (False, False), (False, False)]
    with pytest.raises(sms.SmsError, match="unreachable") as down:
        sms.SmsClient(receiver.settings(timeout=1.0)).send("+46701234567", "x")
    assert not down.value.permanent
    with pytest.raises(sms.SmsError, match="not configured"):
        sms.SmsClient(sms.SmsSettings()).send("+46701234567", "x")
