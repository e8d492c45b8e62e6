"""The rules of follow-up questions and answers (``collect.follow_ups``), pure: every field
at fault is named, and answers are checked against their question."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from cxpulse.collect.follow_ups import (
    MAX_QUESTIONS,
    MAX_TEXT_ANSWER,
    InvalidQuestion,
    check_answer,
    check_answers,
    check_question,
    label_in,
)


def _fields(raw: dict[str, Any], **kw: Any) -> dict[str, str]:
    with pytest.raises(InvalidQuestion) as caught:
        check_question(raw, default_language="en", **kw)
    return {p.field: p.text for p in caught.value.problems}


RATING = {"kind": "rating", "key": "delivery", "labels": {"en": "How was the delivery?"}}


def test_a_rating_defaults_to_one_to_five_and_keeps_its_labels() -> None:
    draft = check_question(
        {**RATING, "labels": {"en": " How was it? ", "sv": "Hur var det?", "de": ""}},
        default_language="en",
    )
    assert (draft.kind, draft.key, draft.scale_low, draft.scale_high) == (
        "rating",
        "delivery",
        1,
        5,
    )
    assert draft.labels == {"en": "How was it?", "sv": "Hur var det?"}
    assert draft.choices == ()


def test_key_kind_labels_and_scale_are_each_named() -> None:
    problems = _fields(
        {
            "kind": "rating",
            "key": "Delivery time",
            "labels": {"xx": "?", "sv": "a\x00b"},
            "scale_low": 2,
            "scale_high": 11,
        }
    )
    assert set(problems) == {"key", "labels.xx", "labels.sv", "scale_low", "scale_high"}
    assert "lower-case" in problems["key"]
    assert "U+0000" in problems["labels.sv"]
    assert _fields({"kind": "poll", "key": "a", "labels": {"en": "x"}}) == {
        "kind": "must be one of rating, choice, text"
    }
    assert "three points" in _fields({**RATING, "scale_low": 1, "scale_high": 2})["scale_high"]


def test_the_default_language_needs_a_label() -> None:
    problems = _fields({**RATING, "labels": {"sv": "Hur var leveransen?"}})
    assert problems == {"labels.en": "is required: the survey's default language"}
    assert _fields({**RATING, "labels": {}}) == {"labels": "give the text in at least one language"}
    assert "characters long" in _fields({**RATING, "labels": {"en": "x" * 301}})["labels.en"]


def test_choices_need_two_unique_keys_with_labels() -> None:
    good = check_question(
        {
            "kind": "choice",
            "key": "found_us",
            "labels": {"en": "How did you find us?"},
            "choices": [
                {"key": "friend", "labels": {"en": "A friend"}},
                {"key": "search", "labels": {"en": "Search", "sv": "Sökning"}},
            ],
        },
        default_language="en",
    )
    assert good.choices_document()[1] == {
        "key": "search",
        "labels": {"en": "Search", "sv": "Sökning"},
    }
    problems = _fields(
        {
            "kind": "choice",
            "key": "found_us",
            "labels": {"en": "?"},
            "choices": [{"key": "a", "labels": {"en": "A"}}, {"key": "a", "labels": {}}],
            "scale_high": 5,
        }
    )
    assert set(problems) == {"choices.1.key", "choices.1.labels", "scale_high"}
    assert _fields({**RATING, "kind": "choice", "choices": []}) == {
        "choices": "give at least two choices"
    }


def test_keys_are_unique_and_five_is_the_most() -> None:
    assert "another question" in _fields(RATING, other_keys=["delivery"])["key"]
    assert "at most 5" in _fields(RATING, others=MAX_QUESTIONS)["survey"]
    check_question(RATING, default_language="en", others=MAX_QUESTIONS - 1)


@dataclass
class Question:
    id: int
    kind: str
    key: str
    choices: list[Any] = field(default_factory=list)
    scale_low: int | None = None
    scale_high: int | None = None


RATE = Question(1, "rating", "delivery", scale_low=1, scale_high=5)
PICK = Question(2, "choice", "found_us", [{"key": "friend"}, {"key": "search"}])
SAY = Question(3, "text", "improve")


def test_answers_in_scale_in_the_list_and_short() -> None:
    assert check_answer(RATE, "4").score == 4.0  # type: ignore[union-attr]
    assert check_answer(RATE, 5).score == 5.0  # type: ignore[union-attr]
    assert check_answer(PICK, "search").choice == "search"  # type: ignore[union-attr]
    assert check_answer(SAY, "  Faster  ").text == "Faster"  # type: ignore[union-attr]
    for blank in (None, "", "   "):
        assert check_answer(RATE, blank) is None
    for wrong in ("6", "0", "4.5", "x", True, float("nan")):
        problem = check_answer(RATE, wrong)
        assert problem is not None
        assert getattr(problem, "text", "") == "Choose a number from 1 to 5."
    assert getattr(check_answer(PICK, "other"), "message", "") == "Choose one of the options."
    assert "at most 500" in getattr(check_answer(SAY, "x" * (MAX_TEXT_ANSWER + 1)), "text", "")
    assert "position 2" in getattr(check_answer(SAY, "a\x07b"), "text", "")


def test_check_answers_names_every_key_and_skips_blanks() -> None:
    found = check_answers([RATE, PICK, SAY], {"delivery": "3", "found_us": "", "improve": "ok"})
    assert [(a.question_id, a.score, a.text) for a in found] == [(1, 3.0, None), (3, None, "ok")]
    with pytest.raises(InvalidQuestion) as caught:
        check_answers([RATE, PICK], {"delivery": "9", "found_us": "tv", "nope": 1}, strict=True)
    assert {p.field for p in caught.value.problems} == {"delivery", "found_us", "nope"}


def test_label_in_falls_back_to_the_default_language() -> None:
    labels = {"en": "Delivery", "sv": "Leverans"}
    assert label_in(labels, "sv", "en") == "Leverans"
    assert label_in(labels, "de", "en") == "Delivery"
    assert label_in({"fr": "Livraison"}, "de", "en") == "Livraison"
