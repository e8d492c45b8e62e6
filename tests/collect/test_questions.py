"""Default question texts per metric and language, and the choices of each presentation."""

from __future__ import annotations

import pytest

from cxpulse.collect import questions
from cxpulse.i18n import LANGUAGES, gettext_for
from cxpulse.metrics import Metric, MetricSpec, Scale


@pytest.mark.parametrize("metric", list(Metric))
def test_every_metric_has_a_question_in_every_language(metric: Metric) -> None:
    texts = {
        language: questions.default_question(metric, language, "Acme") for language in LANGUAGES
    }
    assert all("Acme" in text for text in texts.values())
    # Really translated: no two languages share a text.
    assert len(set(texts.values())) == len(LANGUAGES)


def test_unknown_language_falls_back_to_english() -> None:
    assert questions.default_question("nps", "ja", "Acme") == (
        "How likely are you to recommend Acme to a friend or colleague?"
    )


def test_the_organisations_own_question_wins_where_written() -> None:
    written = {"sv": {"question": "Vad tycker du?"}, "de": {"question": "  "}}
    assert questions.question_for(written, "csat", "sv", "Acme") == "Vad tycker du?"
    # No German text of its own: the organisation's question (in Swedish), not another one.
    assert questions.question_in(written, "csat", "de", "Acme") == questions.Worded(
        "Vad tycker du?", "sv"
    )


CUSTOMER_SERVICE = {
    "en": {"question": "How satisfied are you with our customer service?"},
    "sv": {"question": "Hur nöjd är du med vår kundtjänst?"},
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_of_a_customised_survey_asks_the_same_question(language: str) -> None:
    shown = questions.question_in(CUSTOMER_SERVICE, "csat", language, "Acme", source_language="en")
    if language in CUSTOMER_SERVICE:
        assert shown == questions.Worded(CUSTOMER_SERVICE[language]["question"], language)
    else:
        # Never the generic "How satisfied are you with Acme?" in another language.
        assert shown == questions.Worded(CUSTOMER_SERVICE["en"]["question"], "en")
        assert shown.text != questions.default_question("csat", language, "Acme")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_survey_that_kept_the_default_question_gets_it_translated(language: str) -> None:
    kept = {"en": {"question": questions.default_question("nps", "en", "Acme")}}
    shown = questions.question_in(kept, "nps", language, "Acme", source_language="en")
    assert shown == questions.Worded(questions.default_question("nps", language, "Acme"), language)


def test_the_source_language_is_the_surveys_default_language() -> None:
    written = {"en": {"question": "English?"}, "nl": {"question": "Nederlands?"}}
    assert questions.question_in(written, "csat", "de", "A", source_language="nl").text == (
        "Nederlands?"
    )
    assert questions.question_in(written, "csat", "de", "A").text == "English?"


def test_comment_prompt_follows_the_same_rule() -> None:
    written = {"en": {"question": "Q?", "comment_prompt": "What could we do better?"}}
    assert questions.comment_prompt_in(written, "de", source_language="en") == (
        questions.Worded("What could we do better?", "en")
    )
    assert questions.comment_prompt_in({}, "de") == questions.Worded(
        "Möchten Sie uns noch etwas mitteilen? (optional)", "de"
    )


def test_bands_follow_the_surveys_thresholds() -> None:
    nps = MetricSpec.default("nps", Scale(0, 10))
    assert [questions.band(v, nps) for v in (0, 6, 7, 8, 9, 10)] == [
        "low",
        "low",
        "middle",
        "middle",
        "high",
        "high",
    ]
    csat = MetricSpec.default("csat", Scale(1, 5))
    assert [questions.band(v, csat) for v in range(1, 6)] == [
        "low",
        "low",
        "middle",
        "high",
        "high",
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_default_thanks_differ_by_band_and_are_translated(language: str) -> None:
    texts = {band: questions.thanks_in({}, band, language, "Acme").text for band in questions.BANDS}
    assert len(set(texts.values())) == 3
    assert all("Acme" in text for text in texts.values())
    if language != "en":
        english = {band: questions.thanks_in({}, band, "en", "Acme").text for band in texts}
        assert all(texts[band] != english[band] for band in texts), texts


def test_the_surveys_own_thanks_win_and_follow_the_question_rule() -> None:
    own = {"en": {"low": "Sorry! Our team lead calls you within a day."}}
    assert questions.thanks_in(own, "low", "en", "Acme").text.startswith("Sorry! Our team")
    assert questions.thanks_in(own, "low", "sv", "Acme", source_language="en") == (
        questions.Worded("Sorry! Our team lead calls you within a day.", "en")
    )
    # Bands it did not word keep the default, translated.
    middle = questions.thanks_in(own, "middle", "sv", "Acme", source_language="en")
    assert middle.language == "sv"
    assert "Acme" in middle.text


def _choices(
    metric: str, scale: Scale, presentation: str, language: str = "en"
) -> list[questions.Choice]:
    gettext, ngettext = gettext_for("pages", language)
    spec = MetricSpec.default(metric, scale)
    return questions.choices(spec, presentation, gettext, ngettext)


def test_nps_numbers_with_end_labels_and_detractor_band() -> None:
    choices = _choices("nps", Scale(0, 10), "numbers")
    assert [c.value for c in choices] == list(range(11))
    assert choices[0].label == "0 – Not at all likely"
    assert choices[10].label == "10 – Extremely likely"
    assert [c.value for c in choices if c.low] == [0, 1, 2, 3, 4, 5, 6]
    assert [c.value for c in choices if c.top] == [9, 10]


def test_csat_bottom_two_box_is_low() -> None:
    choices = _choices("csat", Scale(1, 5), "stars")
    assert [c.value for c in choices if c.low] == [1, 2]
    # One star per button (five buttons of 1-5 stars overflow a phone); the label counts.
    assert {c.face for c in choices} == {"★"}
    assert [c.label for c in choices[:2]] == ["1 star", "2 stars"]


def test_ces_agreement_labels_on_seven_and_five_points() -> None:
    seven = _choices("ces", Scale(1, 7), "numbers")
    assert [c.words for c in seven][::3] == [
        "Strongly disagree",
        "Neither agree nor disagree",
        "Strongly agree",
    ]
    five = _choices("ces", Scale(1, 5), "numbers", "nl")
    assert five[-1].words == "Helemaal mee eens"


def test_emoji_and_thumbs_have_words_for_screen_readers() -> None:
    emoji = _choices("csat", Scale(1, 5), "emoji", "mk")
    assert emoji[-1].label == "Многу задоволен"
    assert all(c.words for c in emoji)
    thumbs = _choices("csat", Scale(0, 1), "thumbs")
    assert [(c.face, c.label, c.low) for c in thumbs] == [
        ("👎", "Not good", True),
        ("👍", "Good", False),
    ]


def test_a_presentation_that_does_not_fit_the_scale_shows_numbers() -> None:
    assert questions.effective_presentation("stars", Scale(0, 10)) == "numbers"
    assert questions.effective_presentation("thumbs", Scale(1, 5)) == "numbers"
    assert len(_choices("nps", Scale(0, 10), "emoji")) == 11
