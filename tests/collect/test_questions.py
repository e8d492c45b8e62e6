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
    assert questions.question_for(written, "csat", "de", "Acme") == (
        "Wie zufrieden sind Sie mit Acme?"
    )
    assert questions.question_for(written, "csat", "nl", "Acme").startswith("Hoe tevreden")


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
    assert choices[0].face == "★"
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
