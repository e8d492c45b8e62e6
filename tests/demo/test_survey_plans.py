"""The demo's three surveys: asked in every demo language, on the scale of their metric."""

from __future__ import annotations

from cxpulse.demo.comment_texts import LANGUAGES, TOPICS
from cxpulse.demo.survey_plans import DEMO_COLLECT_OPTIONS, SURVEY_PLANS


def test_each_survey_is_asked_in_every_language_of_the_comments() -> None:
    assert [plan.slug for plan in SURVEY_PLANS] == [
        "support-csat",
        "relationship-nps",
        "returns-ces",
    ]
    for plan in SURVEY_PLANS:
        assert set(plan.questions) == set(LANGUAGES)
        assert all(
            set(texts) == {"question", "comment_prompt"} for texts in plan.questions.values()
        )
        assert plan.scale_low <= plan.base <= plan.scale_high
        assert set(plan.topics) <= set(TOPICS)
        assert abs(sum(plan.channels.values()) - 1) < 1e-9


def test_collect_options_name_the_metrics_of_the_plans() -> None:
    assert set(DEMO_COLLECT_OPTIONS) <= {plan.metric for plan in SURVEY_PLANS}
