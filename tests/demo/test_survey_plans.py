"""The demo's three surveys: asked in every demo language, on the scale of their metric."""

from __future__ import annotations

import pytest

from cxpulse import i18n
from cxpulse.collect import questions
from cxpulse.demo.comment_texts import LANGUAGES, TOPICS
from cxpulse.demo.survey_plans import DEMO_COLLECT_OPTIONS, SURVEY_PLANS, SurveyPlan
from cxpulse.store.survey_options import parse_options


def test_each_survey_is_asked_in_every_language_of_the_comments() -> None:
    assert [plan.slug for plan in SURVEY_PLANS] == [
        "support-csat",
        "relationship-nps",
        "returns-ces",
    ]
    for plan in SURVEY_PLANS:
        # Every language cxpulse speaks, not only those the comments are written in: a
        # language without its own text would ask the organisation's English question.
        assert set(LANGUAGES) <= set(plan.questions)
        assert set(plan.questions) == set(i18n.LANGUAGES)
        assert all(
            set(texts) == {"question", "comment_prompt"} for texts in plan.questions.values()
        )
        assert plan.scale_low <= plan.base <= plan.scale_high
        assert set(plan.topics) <= set(TOPICS)
        assert abs(sum(plan.channels.values()) - 1) < 1e-9


def test_collect_options_name_the_metrics_of_the_plans() -> None:
    assert set(DEMO_COLLECT_OPTIONS) <= {plan.metric for plan in SURVEY_PLANS}


@pytest.mark.parametrize("plan", SURVEY_PLANS, ids=lambda plan: plan.slug)
def test_every_language_asks_about_the_same_thing(plan: SurveyPlan) -> None:
    """The German page once asked "Wie zufrieden sind Sie mit Demo Shop?" where the English
    asked about customer service: no language may fall back to the generic question unless
    the English one is the generic question."""
    english = plan.questions["en"]["question"]
    generic_in_english = english == questions.default_question(plan.metric, "en", "Demo Shop")
    for language in i18n.LANGUAGES:
        shown = questions.question_in(
            plan.questions,
            plan.metric,
            language,
            "Demo Shop",
            source_language="en",
        )
        assert shown.language == language
        generic = questions.default_question(plan.metric, language, "Demo Shop")
        if not generic_in_english:
            assert shown.text != generic, (language, shown.text)


def test_every_reason_is_translated_into_every_language() -> None:
    offering = {m: parse_options(d) for m, d in DEMO_COLLECT_OPTIONS.items()}
    assert offering["csat"].reasons
    for metric, options in offering.items():
        if not options.reasons:
            continue
        for language in i18n.LANGUAGES[1:]:
            translated = options.reasons_in(language)
            assert len(translated) == len(options.reasons), (metric, language)
            assert translated != options.reasons, (metric, language)
            assert len(set(translated)) == len(translated)
