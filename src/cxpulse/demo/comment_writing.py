"""The comment of a generated response: whether there is one, its mood (from the score), its
topics (from the survey's plan) and its sentences, drawn from ``cxpulse.demo.comment_texts``.
"""

from __future__ import annotations

import random
from typing import Final

from cxpulse.demo.comment_texts import (
    AGENT_NAMES,
    COMMENTS,
    DAYS,
    NEW_PORTAL_TEMPLATE,
    Polarity,
    agent_name,
)
from cxpulse.demo.score_drivers import PORTAL_LAUNCH_AT, PRICE_INCREASE_AT, pick
from cxpulse.demo.survey_plans import NPS_SURVEY, SurveyPlan

COMMENT_RATE: Final[dict[str, float]] = {"positive": 0.3, "mixed": 0.35, "negative": 0.55}
"""Share of the answers of each mood that come with a comment: complaints are written more."""


def polarity_of(plan: SurveyPlan, score: float) -> str:
    """``positive``, ``mixed`` or ``negative``: the mood of a comment left with ``score``."""
    position = (score - plan.scale_low) / (plan.scale_high - plan.scale_low)
    if position >= 0.75:
        return "positive"
    if position <= 0.4:
        return "negative"
    return "mixed"


def write_comment(
    plan: SurveyPlan,
    score: float,
    language: str,
    agent: str | None,
    t: float,
    rng: random.Random,
) -> str | None:
    """The comment left with ``score`` in ``language``, or None (most answers have none).

    ``agent`` is the support agent who helped (named in support sentences; a random agent
    when None), ``t`` the moment as a fraction of the period (for the price increase and the
    returns portal).
    """
    mood = polarity_of(plan, score)
    if rng.random() >= COMMENT_RATE[mood]:
        return None
    topics = dict(plan.topics)
    if plan is NPS_SURVEY and t >= PRICE_INCREASE_AT and mood != "positive":
        topics["price"] = topics.get("price", 0.0) * 2.5
    if mood == "mixed":
        # Praise of one thing, a complaint about another ("Thanks!" would read oddly here).
        first = pick(rng, topics)
        second = pick(rng, {k: v for k, v in topics.items() if k != first})
        parts = [
            _sentence(first, "positive", language, agent, t, rng),
            _sentence(second, "negative", language, agent, t, rng),
        ]
        rng.shuffle(parts)
        return " ".join(parts)
    topics["general"] = 0.1
    first = pick(rng, topics)
    polarity: Polarity = "positive" if mood == "positive" else "negative"
    parts = [_sentence(first, polarity, language, agent, t, rng)]
    if first != "general" and rng.random() < 0.25:
        others = {k: v for k, v in topics.items() if k not in (first, "general")}
        if others:
            parts.append(_sentence(pick(rng, others), polarity, language, agent, t, rng))
    return " ".join(parts)


def _sentence(
    topic: str,
    polarity: Polarity,
    language: str,
    agent: str | None,
    t: float,
    rng: random.Random,
) -> str:
    templates = list(enumerate(COMMENTS[language][topic][polarity]))
    if t < PORTAL_LAUNCH_AT:
        templates = [
            (n, text) for n, text in templates if (topic, polarity, n) != NEW_PORTAL_TEMPLATE
        ]
    _, template = rng.choice(templates)
    low, high = DAYS.get((topic, polarity), (2, 5))
    name = agent or rng.choice(list(AGENT_NAMES))
    return template.format(days=rng.randint(low, high), agent=agent_name(name, language))
