"""Collection options of a survey: defaults, checks with the field named, translations."""

from __future__ import annotations

import pytest

from cxpulse.store.survey_options import (
    CollectOptions,
    OptionError,
    normalise_origin,
    parse_options,
)


def test_defaults() -> None:
    options = parse_options(None)
    assert options == CollectOptions()
    assert options.comment is True
    assert options.reasons == ()
    assert options.link_days == 30


def test_reasons_in_a_language_fall_back_when_incomplete() -> None:
    options = parse_options(
        {
            "reasons": ["Slow", "Rude"],
            "reasons_i18n": {"sv": ["Långsam", "Otrevlig"], "nl": ["Traag"]},
        }
    )
    assert options.reasons_in("sv") == ("Långsam", "Otrevlig")
    assert options.reasons_in("nl") == ("Slow", "Rude")
    assert options.reasons_in("de") == ("Slow", "Rude")


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"comment": "yes"}, "comment"),
        ({"link_days": 0}, "link_days"),
        ({"link_days": True}, "link_days"),
        ({"reasons": ["x" * 81]}, "reasons"),
        ({"reasons": [""]}, "reasons"),
        ({"review_url": "javascript:alert(1)"}, "review_url"),
        ({"allowed_origins": ["https://shop.example/path"]}, "allowed_origins"),
        ({"review_url": "http://[::1"}, "review_url"),
        ({"allowed_origins": ["http://[::1"]}, "allowed_origins"),
        ({"allowed_origins": ["http://shop.example:port"]}, "allowed_origins"),
        # Control characters: the one rule of text (store._values.text_problem).
        ({"reasons": ["Slow\x00"]}, "reasons"),
        ({"reasons_i18n": {"sv": ["L\x1bångsam"]}}, "reasons_i18n.sv"),
        ({"reasons_i18n": {"s\x00v": ["Långsam"]}}, "reasons_i18n"),
        ({"review_url": "https://reviews.example/\x7f"}, "review_url"),
        ({"allowed_origins": ["https://sh\x01op.example"]}, "allowed_origins"),
        ({"contact_consent": "yes"}, "contact_consent"),
        ({"thanks": ["Sorry"]}, "thanks"),
        ({"thanks": {"en": "Sorry"}}, "thanks.en"),
        ({"thanks": {"en": {"bad": "Sorry"}}}, "thanks.en.bad"),
        ({"thanks": {"en": {"low": "x" * 501}}}, "thanks.en.low"),
        ({"thanks": {"en": {"low": "So\x00rry"}}}, "thanks.en.low"),
        ({"thanks": {"e\x00n": {"low": "Sorry"}}}, "thanks"),
    ],
)
def test_bad_options_name_their_field(document: dict[str, object], field: str) -> None:
    with pytest.raises(OptionError) as caught:
        parse_options(document)
    assert caught.value.field == field


def test_origins_are_normalised_and_round_trip() -> None:
    assert normalise_origin("HTTPS://Shop.Example:443/") == "https://shop.example"
    options = parse_options({"allowed_origins": ["https://shop.example", "https://SHOP.example"]})
    assert options.allowed_origins == ("https://shop.example",)
    assert options.allows_origin("https://shop.example:443")
    assert not options.allows_origin("https://evil.example")
    assert parse_options(options.to_document()) == options


def test_thanks_and_consent_round_trip_and_default() -> None:
    assert CollectOptions().contact_consent is True
    assert CollectOptions().thanks == {}
    document = {
        "thanks": {"en": {"low": "  Sorry! We call you.  ", "middle": "", "high": None}},
        "contact_consent": False,
    }
    options = parse_options(document)
    assert options.thanks == {"en": {"low": "Sorry! We call you."}}
    assert options.contact_consent is False
    assert parse_options(options.to_document()) == options
