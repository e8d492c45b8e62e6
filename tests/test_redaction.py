"""Redaction of personal data in free text: what is replaced, what is left alone, and the
properties every input keeps (never raises, idempotent, no e-mail address survives)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxpulse.redaction import KINDS, Redacted, redact


@pytest.mark.parametrize(
    ("text", "expected", "kinds"),
    [
        ("mail me: ana.svensson+cx@example.co.uk!", "mail me: [email]!", ("email",)),
        ("write to josé@exämple.de", "write to [email]", ("email",)),
        ("ANA@EXAMPLE.COM and bo@x.io", "[email] and [email]", ("email",)),
        ("Call me on 070-123 45 67", "Call me on [phone]", ("phone",)),
        ("+46 70 123 45 67", "[phone]", ("phone",)),
        ("0046 70 123 45 67", "[phone]", ("phone",)),
        ("ring 020 7946 0018 after 5pm", "ring [phone] after 5pm", ("phone",)),
        ("(415) 555-2671", "[phone]", ("phone",)),
        ("bel 06-12345678", "bel [phone]", ("phone",)),
        ("+389 70 123 456", "[phone]", ("phone",)),
        ("јавете се на 070 123 456", "јавете се на [phone]", ("phone",)),
        ("Handy 0176 12345678", "Handy [phone]", ("phone",)),
        ("appelez le 01 23 45 67 89", "appelez le [phone]", ("phone",)),
        ("llámame al 612 345 678", "llámame al [phone]", ("phone",)),
        ("ligue (11) 98765-4321", "ligue [phone]", ("phone",)),
        ("card 4111 1111 1111 1111 exp 12/27", "card [card] exp 12/27", ("card",)),
        ("5555-5555-5555-4444", "[card]", ("card",)),
        ("amex 378282246310005", "amex [card]", ("card",)),
        ("order 123 4111 1111 1111 1111", "order 123 [card]", ("card",)),
        ("IBAN NL91 ABNA 0417 1643 00 thanks", "IBAN [iban] thanks", ("iban",)),
        ("iban: nl91abna0417164300", "iban: [iban]", ("iban",)),
        ("DE89370400440532013000", "[iban]", ("iban",)),
        ("GB82 WEST 1234 5698 7654 32.", "[iban].", ("iban",)),
        ("MK07 2501 2000 0058 984", "[iban]", ("iban",)),
        ("PT50 0002 0123 1234 5678 9015 4", "[iban]", ("iban",)),
        ("pnr 850709-9805", "pnr [personal id]", ("personal id",)),
        ("personnummer 19640823-3234", "personnummer [personal id]", ("personal id",)),
        ("mijn bsn is 111222333", "mijn bsn is [personal id]", ("personal id",)),
        ("burgerservicenummer: 123456782", "burgerservicenummer: [personal id]", ("personal id",)),
        ("1112.22.333", "[personal id]", ("personal id",)),
        (
            "ana@example.com, 070-123 45 67, 4111111111111111",
            "[email], [phone], [card]",
            ("email", "phone", "card"),
        ),
    ],
)
def test_personal_data_is_replaced(text: str, expected: str, kinds: tuple[str, ...]) -> None:
    assert redact(text) == Redacted(expected, kinds)


@pytest.mark.parametrize(
    "text",
    [
        "order 12345",
        "5 stars",
        "2024-03-05",
        "€19.99",
        "ticket #4821",
        "order 612345678",  # a valid Spanish mobile number, but named as an order
        "pedido nº 912345678",
        "order 111222333",  # passes the BSN eleven-test, but no BSN cue
        "reference 123456782 for my claim",
        "Fiz o pedido em 30-04-2018 e até hoje 09/06/2018 nada",
        "between 2024-03-05 and 2024-04-01 I paid 1,299.99",
        "paid 19.99 on 12/03/2024 at 14:30",
        "4111 1111 1111 1112",  # fails the Luhn check
        "NL91ABNA0417164301",  # fails the IBAN check
        "tracking 1Z999AA10123456784",
        "call 0701234567abc",
        "no digits and no at sign here",
        "",
        "@home @ 10",
    ],
)
def test_ordinary_text_and_numbers_are_left_alone(text: str) -> None:
    assert redact(text) == Redacted(text, ())


def test_bsn_cue_must_be_near_the_number() -> None:
    far = "BSN questions are welcome." + " filler" * 10 + " my number: 111222333"
    assert redact(far).kinds == ()
    assert redact("111222333 (bsn)").kinds == ("personal id",)


def test_kinds_follow_the_fixed_order() -> None:
    found = redact("4111111111111111 then ana@example.com then DE89370400440532013000")
    assert found.kinds == ("email", "card", "iban")
    assert set(found.kinds) <= set(KINDS)


def test_redacting_twice_changes_nothing() -> None:
    once = redact("ana@example.com 070-123 45 67 NL91ABNA0417164300 850709-9805")
    assert redact(once.text) == Redacted(once.text, ())


_SEPARATORS = st.sampled_from([" ", "-", ".", "/", "(", ")", "+", "@", "#", ",", "\n"])
_PIECES = st.one_of(
    st.text(max_size=8),
    st.text(alphabet="0123456789", min_size=1, max_size=12),
    _SEPARATORS,
    st.emails(),
    st.sampled_from(
        ["4111 1111 1111 1111", "070-123 45 67", "NL91 ABNA 0417 1643 00", "bsn", "[phone]"]
    ),
)
_TEXTS = st.lists(_PIECES, max_size=12).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS)
def test_redact_never_raises_and_is_idempotent(text: str) -> None:
    once = redact(text)
    assert set(once.kinds) <= set(KINDS)
    assert redact(once.text).text == once.text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=20), st.emails(), st.text(max_size=20))
def test_no_email_address_survives(before: str, email: str, after: str) -> None:
    redacted = redact(before + email + after)
    assert email not in redacted.text
    assert "email" in redacted.kinds


def _typical_comments() -> list[str]:
    olist = Path(__file__).resolve().parents[2] / "shared/datasets/olist"
    reviews = olist / "olist_order_reviews_dataset.csv"
    if reviews.exists():
        with reviews.open(encoding="utf-8") as handle:
            texts = [row["review_comment_message"] for row in csv.DictReader(handle)]
        comments = [text for text in texts if text][:2000]
    else:  # the same kinds of comment, in case the shared data set is not beside the repo
        comments = [
            "Fast delivery but rude support",
            "Fiz o pedido em 30-04-2018 e nada chegou",
            "order 12345 arrived with 5 stars",
            "Leveransen var sen, 3 dagar",
        ]
    return [*comments, "Call me on 070-123 45 67", "mail ana@example.com"]
