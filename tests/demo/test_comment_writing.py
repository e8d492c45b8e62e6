"""The comment of a generated response: its mood follows the score, its text the language."""

from __future__ import annotations

import random
import re

import pytest

from cxpulse.demo.comment_texts import COMMENTS, Polarity
from cxpulse.demo.comment_writing import polarity_of, write_comment
from cxpulse.demo.score_drivers import PORTAL_LAUNCH_AT
from cxpulse.demo.survey_plans import CES_SURVEY, CSAT_SURVEY, NPS_SURVEY

CYRILLIC = re.compile(r"[\u0400-\u04FF]")


@pytest.mark.parametrize(
    ("score", "mood"),
    [
        (0, "negative"),
        (4, "negative"),
        (5, "mixed"),
        (7, "mixed"),
        (8, "positive"),
        (10, "positive"),
    ],
)
def test_the_mood_follows_the_place_of_the_score_on_the_scale(score: int, mood: str) -> None:
    assert polarity_of(NPS_SURVEY, score) == mood


def test_csat_moods() -> None:
    assert [polarity_of(CSAT_SURVEY, score) for score in range(1, 6)] == [
        "negative",
        "negative",
        "mixed",
        "positive",
        "positive",
    ]


def test_comments_are_deterministic_sometimes_absent_and_in_the_language() -> None:
    def run(seed: int, language: str) -> list[str | None]:
        rng = random.Random(seed)
        return [write_comment(NPS_SURVEY, 2, language, None, 0.3, rng) for _ in range(200)]

    assert run(1, "en") == run(1, "en")
    comments = run(1, "mk")
    written = [c for c in comments if c is not None]
    # Half of the complaints come with a comment.
    assert 60 < len(written) < 140
    assert all(CYRILLIC.search(c) for c in written)
    assert not any(c is not None and CYRILLIC.search(c) for c in run(2, "sv"))


def sentences(polarity: Polarity) -> str:
    """A pattern matching any English sentence of ``polarity``, its slots filled."""
    texts = [text for moods in COMMENTS["en"].values() for text in moods[polarity]]
    patterns = [
        re.escape(text).replace(r"\{days\}", r"\d+").replace(r"\{agent\}", r"\w+") for text in texts
    ]
    return "(?:" + "|".join(patterns) + ")"


def test_a_low_score_brings_complaints_only() -> None:
    complaint = sentences("negative")
    rng = random.Random(4)
    written = [write_comment(CES_SURVEY, 1, "en", "Marko", 0.9, rng) for _ in range(100)]
    assert any(written)
    for comment in filter(None, written):
        assert re.fullmatch(f"{complaint}(?: {complaint})?", comment), comment


def test_a_middling_score_brings_praise_and_a_complaint() -> None:
    praise, complaint = sentences("positive"), sentences("negative")
    rng = random.Random(6)
    written = [write_comment(CES_SURVEY, 4, "en", None, 0.2, rng) for _ in range(100)]
    assert any(written)
    for comment in filter(None, written):
        assert re.fullmatch(f"{praise} {complaint}|{complaint} {praise}", comment), comment


def test_the_new_portal_is_praised_only_after_it_launched() -> None:
    rng = random.Random(5)
    before = [
        write_comment(CES_SURVEY, 7, "en", None, PORTAL_LAUNCH_AT / 2, rng) for _ in range(400)
    ]
    after = [write_comment(CES_SURVEY, 7, "en", None, PORTAL_LAUNCH_AT, rng) for _ in range(400)]
    assert not any(c and "portal" in c.lower() for c in before)
    assert any(c and "portal" in c.lower() for c in after)
