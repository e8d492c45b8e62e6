"""The demo's follow-up questions: the relationship NPS survey asks two attribute ratings
(delivery, support, 1-5) and one choice (how the customer found the shop), and about a third
of its respondents answer them, in keeping with their score (promoters rate higher).

Deterministic: one seeded random generator, answers in response id order. Fast: one read of
the scores and one multi-row insert.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy.orm import Session

from cxpulse.collect import follow_up_changes
from cxpulse.store import response_answers, survey_questions
from cxpulse.store.response_answers import NewAnswer

SURVEY_SLUG = "relationship-nps"
ANSWER_SHARE = 0.35
QUESTIONS: tuple[dict[str, Any], ...] = (
    {
        "kind": "rating",
        "key": "delivery",
        "labels": {
            "en": "How would you rate the delivery?",
            "sv": "Hur skulle du betygsätta leveransen?",
            "de": "Wie bewerten Sie die Lieferung?",
        },
    },
    {
        "kind": "rating",
        "key": "support",
        "labels": {
            "en": "How would you rate our customer support?",
            "sv": "Hur skulle du betygsätta vår kundtjänst?",
            "de": "Wie bewerten Sie unseren Kundenservice?",
        },
    },
    {
        "kind": "choice",
        "key": "found_us",
        "labels": {
            "en": "How did you first hear of us?",
            "sv": "Hur hörde du först talas om oss?",
            "de": "Wie haben Sie von uns erfahren?",
        },
        "choices": [
            {
                "key": "friend",
                "labels": {"en": "From a friend", "sv": "Från en vän", "de": "Von Freunden"},
            },
            {
                "key": "search",
                "labels": {"en": "A web search", "sv": "En webbsökning", "de": "Websuche"},
            },
            {
                "key": "social",
                "labels": {"en": "Social media", "sv": "Sociala medier", "de": "Soziale Medien"},
            },
            {"key": "advert", "labels": {"en": "An advert", "sv": "En annons", "de": "Werbung"}},
        ],
    },
)
# Promoters come by recommendation more often; detractors more often through adverts.
_FOUND_WEIGHTS = {
    "high": (45, 25, 20, 10),
    "middle": (25, 35, 20, 20),
    "low": (15, 35, 20, 30),
}


def _rating(score: float, rng: random.Random, lift: float) -> float:
    """1-5 in keeping with a 0-10 score: its fifth, moved a little either way."""
    centre = 1 + score * 0.4 + lift
    return float(min(5, max(1, round(rng.gauss(centre, 0.8)))))


def seed_follow_ups(session: Session, organisation_id: int, survey_id: int, seed: int) -> int:
    """Add the questions and their answers once (a survey with questions is left alone);
    returns how many answers were added."""
    if survey_questions.list_questions(session, organisation_id, survey_id):
        return 0
    delivery, support, found_us = (
        follow_up_changes.create_question(session, organisation_id, survey_id, raw)
        for raw in QUESTIONS
    )
    keys = [c["key"] for c in QUESTIONS[2]["choices"]]
    rng = random.Random(f"{seed}:follow-ups")  # noqa: S311 (demo data, not secrets)
    rows: list[tuple[int, NewAnswer]] = []
    for response_id, score in response_answers.survey_scores(session, organisation_id, survey_id):
        if rng.random() >= ANSWER_SHARE:
            continue
        rows.append((response_id, NewAnswer(delivery.id, score=_rating(score, rng, 0.3))))
        if rng.random() < 0.8:  # support: only those who needed it
            rows.append((response_id, NewAnswer(support.id, score=_rating(score, rng, -0.2))))
        if rng.random() < 0.7:
            band = "high" if score >= 9 else "low" if score <= 6 else "middle"
            choice = rng.choices(keys, weights=_FOUND_WEIGHTS[band])[0]
            rows.append((response_id, NewAnswer(found_us.id, choice=choice)))
    return response_answers.add_many(session, organisation_id, survey_id, rows)
