"""What the widget shows and accepts, apart from HTTP (``cxpulse.collect.widget_submit``).

The routes (CORS, storage, rate limit) are tested in ``tests/web/test_widget.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.collect.widget_submit import (
    ANSWER_FIELDS,
    MAX_PAGE_LENGTH,
    MAX_PROPERTIES,
    WIDGET_TEXTS,
    WidgetAnswer,
    page_address,
    parse_answer,
    shown_language,
    thanks,
    thanks_message,
    widget_config,
)
from cxpulse.i18n import LANGUAGES
from cxpulse.store.models import MAX_COMMENT_LENGTH, Survey
from cxpulse.store.survey_options import CollectOptions, parse_options


def _survey(metric: str = "csat", low: int = 1, high: int = 5, language: str = "en") -> Survey:
    return Survey(
        slug="web-csat",
        metric=metric,
        scale_low=low,
        scale_high=high,
        presentation="numbers",
        default_language=language,
        questions={"sv": {"question": "Hur gick kassan?"}},
    )


OPTIONS = parse_options(
    {"reasons": ["Slow", "Price"], "reasons_i18n": {"sv": ["Långsamt", "Pris"]}}
)


def _answer(document: object, survey: Survey | None = None) -> WidgetAnswer:
    parsed = parse_answer(survey or _survey(), OPTIONS, document)
    assert isinstance(parsed, WidgetAnswer), parsed
    return parsed


def _problems(document: object, survey: Survey | None = None) -> list[Any]:
    parsed = parse_answer(survey or _survey(), OPTIONS, document)
    assert isinstance(parsed, list), parsed
    return parsed


# -- the prompt ------------------------------------------------------------------------------


def test_every_language_has_every_widget_text() -> None:
    assert set(WIDGET_TEXTS) == set(LANGUAGES)
    for texts in WIDGET_TEXTS.values():
        assert set(texts) == set(WIDGET_TEXTS["en"])
        assert all(value.strip() for value in texts.values())


def test_shown_language_follows_the_query_then_the_browser_then_the_survey() -> None:
    survey = _survey(language="nl")
    assert shown_language(survey, query="de", accept_language="fr") == "de"
    assert shown_language(survey, query=None, accept_language="fr-CA,fr;q=0.9") == "fr"
    assert shown_language(survey, query=None, accept_language=None) == "nl"
    assert shown_language(survey, query="xx", accept_language="yy") == "nl"


def test_thanks_is_translated() -> None:
    assert thanks("en") == "Thank you!"
    assert thanks("sv") != "Thank you!"


def test_config_of_a_csat_prompt_in_swedish() -> None:
    config = widget_config(_survey(), "acme", "Acme", OPTIONS, "sv")
    assert config["survey"] == "acme/web-csat"
    assert (config["metric"], config["language"]) == ("csat", "sv")
    assert config["question"] == "Hur gick kassan?"  # its own, as written
    assert config["scale"] == {"low": 1, "high": 5}
    assert config["values"] == [1, 2, 3, 4, 5]
    assert config["reasons"] == ["Långsamt", "Pris"]
    assert config["comment"] is True
    assert config["comment_prompt"]
    assert config["max_comment_length"] == MAX_COMMENT_LENGTH
    assert config["texts"]["close"] == WIDGET_TEXTS["sv"]["close"]
    assert config["texts"]["thanks"] == thanks("sv")
    json.dumps(config)  # what the script fetches


def test_config_without_a_comment_box_has_no_comment_prompt() -> None:
    config = widget_config(
        _survey("nps", 0, 10), "acme", "Acme", CollectOptions(comment=False), "en"
    )
    assert (config["comment"], config["comment_prompt"]) == (False, None)
    assert config["values"] == list(range(11))
    assert config["reasons"] == []
    # The survey wrote its question in Swedish only: English shows that one, marked sv.
    assert (config["question"], config["question_language"]) == ("Hur gick kassan?", "sv")


def test_config_asks_consent_only_when_the_survey_does() -> None:
    asks = widget_config(_survey(), "acme", "Acme", CollectOptions(), "de")
    assert asks["consent"] == "Darf Acme Sie dazu kontaktieren?"
    quiet = widget_config(_survey(), "acme", "Acme", CollectOptions(contact_consent=False), "de")
    assert quiet["consent"] is None


def test_consent_is_kept_only_after_a_low_score_on_a_survey_that_asks() -> None:
    assert _answer({"score": 1, "contact_ok": True}).consent is True
    assert _answer({"score": 2, "contact_ok": False}).consent is False
    assert _answer({"score": 5, "contact_ok": True}).consent is None
    assert _answer({"score": 1}).consent is None
    quiet = parse_answer(
        _survey(), CollectOptions(contact_consent=False), {"score": 1, "contact_ok": True}
    )
    assert isinstance(quiet, WidgetAnswer)
    assert quiet.consent is None
    assert parse_answer(_survey(), OPTIONS, {"score": 1, "contact_ok": "yes"}) == [
        (("contact_ok",), "must be true, false or null")
    ]


def test_thanks_message_by_band_and_consent() -> None:
    survey = _survey()
    low = thanks_message(survey, OPTIONS, "Acme", "en", 1, True)
    assert low.startswith("Thank you! We are sorry it was not better.")
    assert "You allowed Acme to contact you" in low
    assert "allowed" not in thanks_message(survey, OPTIONS, "Acme", "en", 1, False)
    assert "helps Acme" in thanks_message(survey, OPTIONS, "Acme", "en", 3, None)
    assert "glad" in thanks_message(survey, OPTIONS, "Acme", "en", 5, None)
    own = parse_options({"thanks": {"en": {"low": "We call you back."}}})
    assert thanks_message(survey, own, "Acme", "sv", 1, None) == "Tack! We call you back."


# -- page addresses --------------------------------------------------------------------------


def test_page_address_keeps_scheme_host_port_and_path() -> None:
    assert page_address(" https://Shop.Example/Cart?order=42#pay ") == "https://shop.example/Cart"
    assert page_address("http://shop.example:8080") == "http://shop.example:8080/"
    for bad in ("", "shop.example/cart", "mailto:a@b.se", "https:///path", "data:text/html,x"):
        with pytest.raises(ValueError, match="http"):
            page_address(bad)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["http", "https", "HTTPS"]),
    st.from_regex(r"[A-Za-z0-9]{1,10}(\.[A-Za-z0-9]{1,10}){0,2}", fullmatch=True),
    st.text(alphabet="abc/-_.%", max_size=20),
    st.text(alphabet="abc=&@.", max_size=20),
    st.text(alphabet="abc=", max_size=10),
)
def test_page_address_never_keeps_query_or_fragment(
    scheme: str, host: str, path: str, query: str, fragment: str
) -> None:
    address = page_address(f"{scheme}://{host}/{path}?{query}#{fragment}")
    assert "?" not in address
    assert "#" not in address
    assert address.startswith(f"{scheme.lower()}://{host.lower()}/")


# -- answers ---------------------------------------------------------------------------------


def test_a_full_answer_is_checked_and_kept() -> None:
    answer = _answer(
        {
            "score": 2,
            "comment": "  slow checkout  ",
            "language": "sv",
            "reasons": ["Pris", "Långsamt", "Pris"],
            "properties": {"plan": "gold", "seats": 3, "beta": True, "gone": None},
            "page": "https://shop.example/cart?order=42",
            "key": "k3y_0f-the-prompt",
        }
    )
    assert answer == WidgetAnswer(
        score=2.0,
        comment="slow checkout",
        language="sv",
        properties={
            "plan": "gold",
            "seats": "3",
            "beta": "true",
            "page": "https://shop.example/cart",
            "reasons": "Pris; Långsamt",
        },
        key="k3y_0f-the-prompt",
    )


def test_a_bare_score_takes_the_survey_language() -> None:
    assert _answer({"score": 5}, _survey(language="de-AT")) == WidgetAnswer(
        5.0, None, "de", {}, None
    )
    assert _answer({"score": 5}, _survey(language="xx")).language == "en"


@pytest.mark.parametrize(
    ("document", "problems"),
    [
        ({}, [(("score",), "is required")]),
        ({"score": None}, [(("score",), "is required")]),
        ({"score": True}, [(("score",), "must be a number, not bool")]),
        ({"score": "5"}, [(("score",), "must be a number, not str")]),
        ({"score": 2.5}, [(("score",), "must be a whole number from 1 to 5")]),
        ({"score": 0}, [(("score",), "must be a whole number from 1 to 5")]),
        ({"score": 10**400}, [(("score",), "must be a whole number from 1 to 5")]),
        ({"score": float("nan")}, [(("score",), "must be a whole number from 1 to 5")]),
        ({"score": 3, "comment": 7}, [(("comment",), "must be text, not int")]),
        (
            {"score": 3, "comment": "x" * (MAX_COMMENT_LENGTH + 1)},
            [
                (
                    ("comment",),
                    f"is {MAX_COMMENT_LENGTH + 1} characters long; "
                    f"at most {MAX_COMMENT_LENGTH} are allowed",
                )
            ],
        ),
        (
            {"score": 3, "language": "sv-SE"},
            [(("language",), "must be one of " + ", ".join(LANGUAGES))],
        ),
        ({"score": 3, "reasons": "Slow"}, [(("reasons",), "must be a list of texts")]),
        ({"score": 3, "reasons": [1]}, [(("reasons",), "must be a list of texts")]),
        (
            {"score": 3, "reasons": ["Slow", "Rude"]},
            [(("reasons",), "'Rude' is not among the survey's reasons")],
        ),
        (
            {"score": 3, "properties": ["a"]},
            [(("properties",), "must be an object of names to values")],
        ),
        (
            {"score": 3, "properties": {f"p{i}": i for i in range(MAX_PROPERTIES + 1)}},
            [(("properties",), f"has more than {MAX_PROPERTIES} names")],
        ),
        (
            {"score": 3, "properties": {"plan": [1]}},
            [(("properties", "plan"), "must be text, a number or a boolean, not list")],
        ),
        ({"score": 3, "page": 5}, [(("page",), "must be text, not int")]),
        ({"score": 3, "page": "/cart"}, [(("page",), "must be the http(s) address of the page")]),
        (
            {"score": 3, "page": "https://shop.example/" + "p" * MAX_PAGE_LENGTH},
            [(("page",), f"is longer than {MAX_PAGE_LENGTH} characters without query")],
        ),
        ({"score": 3, "key": "short"}, [(("key",), "must be 8 to 100 letters, digits, - or _")]),
        (
            {"score": 3, "key": "has space!"},
            [(("key",), "must be 8 to 100 letters, digits, - or _")],
        ),
        ({"score": 3, "url": "x"}, [(("url",), "unknown field")]),
        # The store's rules of text and names (store._values), in the store's words.
        (
            {"score": 3, "comment": "a\x00b"},
            [(("comment",), "holds the control character U+0000 at position 2; remove it")],
        ),
        (
            {"score": 3, "properties": {"plan": "\x1b[2J"}},
            [
                (
                    ("properties", "plan"),
                    "holds the control character U+001B at position 1; remove it",
                )
            ],
        ),
        (
            {"score": 3, "properties": {"a.b\n": "x"}},
            [
                (
                    ("properties", "a.b\n", "[key]"),
                    "holds the control character U+000A at position 4; remove it",
                )
            ],
        ),
        (
            {"score": 3, "properties": {" ": "x"}},
            [(("properties", " ", "[key]"), "must not be blank")],
        ),
        (
            {"score": 3, "page": "https://shop.example/\x00"},
            [(("page",), "holds the control character U+0000 at position 22; remove it")],
        ),
    ],
)
def test_each_problem_names_its_field(document: dict[str, Any], problems: list[Any]) -> None:
    assert _problems(document) == problems


def test_a_body_that_is_not_an_object_is_refused_whole() -> None:
    documents: tuple[object, ...] = (None, [], "score=5", 5)
    for document in documents:
        assert _problems(document) == [((), "must be a JSON object with at least a score")]


def test_all_problems_are_listed_at_once_unknown_fields_first() -> None:
    problems = _problems({"zeta": 1, "alpha": 2, "score": 9, "key": "?", "language": "xx"})
    assert [location for location, _ in problems] == [
        ("alpha",),
        ("zeta",),
        ("score",),
        ("language",),
        ("key",),
    ]


def test_reasons_count_only_with_a_low_score_and_cannot_be_forged() -> None:
    low = _answer({"score": 1, "reasons": ["Slow"], "properties": {"reasons": "Price"}})
    assert low.properties == {"reasons": "Slow"}
    high = _answer({"score": 5, "reasons": ["Slow"], "properties": {"reasons": "Price"}})
    assert high.properties == {}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(sorted(ANSWER_FIELDS)) | st.text(max_size=8), _JSON, max_size=8)
    | _JSON
)
def test_any_json_body_gives_an_answer_or_problems_never_an_error(document: object) -> None:
    parsed = parse_answer(_survey("nps", 0, 10), OPTIONS, document)
    if isinstance(parsed, WidgetAnswer):
        assert 0 <= parsed.score <= 10
        assert parsed.score == int(parsed.score)
        assert parsed.language in LANGUAGES
        assert all(isinstance(v, str) for v in parsed.properties.values())
    else:
        assert parsed
        assert all(isinstance(message, str) and message for _, message in parsed)
