"""The rules of the organisation's settings: names, language, industry, sender name, and
the accent colour with its WCAG contrast."""

from __future__ import annotations

import pytest

from cxpulse.store import organisation_checks as checks
from cxpulse.store.errors import Invalid


@pytest.mark.parametrize(
    ("first", "second", "ratio"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#767676", "#ffffff", 4.54),  # the lightest grey that passes AA on white
        ("#777777", "#ffffff", 4.48),
        ("#0b57d0", "#ffffff", 6.39),
    ],
)
def test_contrast_ratios_are_wcags(first: str, second: str, ratio: float) -> None:
    assert checks.contrast_ratio(first, second) == pytest.approx(ratio, abs=0.01)
    assert checks.contrast_ratio(second, first) == pytest.approx(ratio, abs=0.01)


def test_a_light_accent_warns_but_a_dark_one_does_not() -> None:
    light = checks.contrast("#ffcc00")
    assert not light.enough
    assert light.warning is not None
    assert "#ffcc00 has a contrast of 1.5:1" in light.warning
    assert "4.5:1" in light.warning
    dark = checks.contrast("#0b57d0")
    assert dark.enough
    assert dark.warning is None


@pytest.mark.parametrize("value", ["#0B57D0", " #0b57d0 "])
def test_accent_colours_are_stored_lower_case(value: str) -> None:
    assert checks.accent_colour(value) == "#0b57d0"
    assert checks.accent_colour("") is None
    assert checks.accent_colour(None) is None


@pytest.mark.parametrize(
    "value", ["red", "#fff", "#12345g", "0b57d0", "#0b57d0;color:red", "#0b57d00"]
)
def test_other_colours_are_refused(value: str) -> None:
    with pytest.raises(Invalid, match="#rrggbb"):
        checks.accent_colour(value)


def test_industries_are_the_acsi_list_matched_without_case() -> None:
    names = checks.industries()
    assert names == sorted(names, key=str.casefold)
    chosen = names[0]
    assert checks.industry(chosen.upper()) == chosen
    assert checks.industry("") is None
    with pytest.raises(Invalid, match="not an ACSI industry"):
        checks.industry("Dragon taming")


def test_languages_are_those_cxpulse_speaks() -> None:
    assert checks.language("sv") == "sv"
    for bad in ("", "xx", "EN", None):
        with pytest.raises(Invalid, match="en, sv, nl"):
            checks.language(bad)


@pytest.mark.parametrize("value", ["Acme\r\nBcc: x@evil.example", "Acme\tSupport", "A\u2028B"])
def test_sender_names_and_names_are_one_line(value: str) -> None:
    with pytest.raises(Invalid, match="one line"):
        checks.sender_name(value)
    with pytest.raises(Invalid, match="one line"):
        checks.name(value)
    assert checks.sender_name("  Acme Support ") == "Acme Support"
    with pytest.raises(Invalid, match="must not be blank"):
        checks.name("  ")


def test_darker_scales_every_channel() -> None:
    assert checks.darker("#ff8000") == "#cc6600"
    assert checks.darker("#000000") == "#000000"
