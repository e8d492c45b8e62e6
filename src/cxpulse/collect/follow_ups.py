"""The rules of follow-up questions and their answers, pure: the same at every door (the REST
API, the questions page, the respondent's thank-you form, the demo).

A survey asks its main score, then up to ``MAX_QUESTIONS`` optional follow-up questions:

- ``rating``: an attribute rated on a small scale (delivery, support ...), ``scale_low`` to
  ``scale_high``, whole numbers, 0 or 1 to at most 10;
- ``choice``: one of ``choices`` (``[{"key": ..., "labels": {language: text}}]``);
- ``text``: a short text of at most ``MAX_TEXT_ANSWER`` characters.

Every question has a ``key`` (its name in exports, ``q_<key>``, and in the API) and a label
per language (``{language: text}``), one at least in the survey's default language.

``check_question`` returns a ``QuestionDraft`` or raises ``InvalidQuestion`` naming every
problem's field (``labels.sv``, ``choices.1.key`` ...); ``check_answers`` does the same for
the answers of one response. Answer messages are msgids of the ``pages`` translation domain
with ``%(name)s`` parameters, so the respondent's page can show them in the respondent's
language while the API shows them in English.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from cxpulse import i18n
from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid

MAX_QUESTIONS: Final = 5
MAX_LABEL_LENGTH: Final = 300
MAX_CHOICES: Final = 10
MAX_TEXT_ANSWER: Final = 500
KINDS: Final = ("rating", "choice", "text")
SCALE_LOWS: Final = (0, 1)
SCALE_HIGHEST: Final = 10
DEFAULT_SCALE: Final = (1, 5)
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
KEY_RULE: Final = (
    "use 1 to 40 lower-case letters, digits and underscores, starting with a letter, "
    "such as 'delivery'"
)


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field: ``message % params`` in English."""

    field: str
    message: str
    params: Mapping[str, int | str] = dataclasses.field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.message % dict(self.params) if self.params else self.message


class InvalidQuestion(ValueError):
    """A question or answers that cannot be stored; ``problems`` names every field at fault."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.text}" for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class ChoiceDraft:
    key: str
    labels: dict[str, str]


@dataclass(frozen=True)
class QuestionDraft:
    """A checked question, ready to store."""

    kind: str
    key: str
    labels: dict[str, str]
    choices: tuple[ChoiceDraft, ...] = ()
    scale_low: int | None = None
    scale_high: int | None = None

    def choices_document(self) -> list[dict[str, Any]]:
        return [{"key": c.key, "labels": dict(c.labels)} for c in self.choices]


class QuestionLike(Protocol):
    """What the answer rules read of a stored question (``models.SurveyQuestion``)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def choices(self) -> list[Any]: ...
    @property
    def scale_low(self) -> int | None: ...
    @property
    def scale_high(self) -> int | None: ...


# -- questions ---------------------------------------------------------------------------------


def _labels(
    name: str, raw: object, default_language: str, problems: list[Problem]
) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not raw:
        problems.append(Problem(name, "give the text in at least one language"))
        return {}
    labels: dict[str, str] = {}
    for language, text in raw.items():
        where = f"{name}.{language}"
        if language not in i18n.LANGUAGES:
            spoken = ", ".join(i18n.LANGUAGES)
            problems.append(Problem(where, f"is not a language of the pages ({spoken})"))
            continue
        if text is None or (isinstance(text, str) and not text.strip()):
            continue  # an empty box on the page: no text in that language
        try:
            labels[language] = values.required_text(where, text, MAX_LABEL_LENGTH)
        except Invalid as error:
            problems.append(Problem(where, error.message))
    if not labels and not any(p.field.startswith(f"{name}.") for p in problems):
        problems.append(Problem(name, "give the text in at least one language"))
    elif default_language in i18n.LANGUAGES and default_language not in labels and labels:
        problems.append(
            Problem(f"{name}.{default_language}", "is required: the survey's default language")
        )
    return labels


def _key(name: str, raw: object, problems: list[Problem]) -> str:
    if not isinstance(raw, str) or not _KEY.fullmatch(raw):
        problems.append(Problem(name, KEY_RULE))
        return ""
    return raw


def _scale(raw: Mapping[str, Any], problems: list[Problem]) -> tuple[int, int]:
    low = raw.get("scale_low")
    high = raw.get("scale_high")
    low = DEFAULT_SCALE[0] if low is None else low
    high = DEFAULT_SCALE[1] if high is None else high
    ok = True
    if isinstance(low, bool) or not isinstance(low, int) or low not in SCALE_LOWS:
        problems.append(Problem("scale_low", "must be 0 or 1"))
        ok = False
    if isinstance(high, bool) or not isinstance(high, int) or not 2 <= high <= SCALE_HIGHEST:
        problems.append(Problem("scale_high", f"must be a whole number from 2 to {SCALE_HIGHEST}"))
        ok = False
    if ok and high - low < 2:
        problems.append(Problem("scale_high", "a scale needs at least three points"))
    return (low, high) if ok else (0, 0)


def _choices(
    raw: object, default_language: str, problems: list[Problem]
) -> tuple[ChoiceDraft, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) < 2:
        problems.append(Problem("choices", "give at least two choices"))
        return ()
    if len(raw) > MAX_CHOICES:
        problems.append(Problem("choices", f"at most {MAX_CHOICES} choices are allowed"))
        return ()
    found: list[ChoiceDraft] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            problems.append(Problem(f"choices.{index}", "must be an object with key and labels"))
            continue
        key = _key(f"choices.{index}.key", item.get("key"), problems)
        if key and key in seen:
            problems.append(Problem(f"choices.{index}.key", f"'{key}' is used twice"))
        seen.add(key)
        labels = _labels(f"choices.{index}.labels", item.get("labels"), default_language, problems)
        found.append(ChoiceDraft(key, labels))
    return tuple(found)


def check_question(
    raw: Mapping[str, Any],
    *,
    default_language: str,
    other_keys: Sequence[str] = (),
    others: int = 0,
) -> QuestionDraft:
    """The question ``raw`` describes (kind, key, labels, choices, scale_low, scale_high),
    checked against the survey's ``other_keys`` (keys are unique per survey) and the number of
    ``others`` it already has; raises ``InvalidQuestion`` listing every problem."""
    problems: list[Problem] = []
    if others >= MAX_QUESTIONS:
        problems.append(
            Problem("survey", f"a survey has at most {MAX_QUESTIONS} follow-up questions")
        )
    kind = raw.get("kind")
    if kind not in KINDS:
        problems.append(Problem("kind", f"must be one of {', '.join(KINDS)}"))
    key = _key("key", raw.get("key"), problems)
    if key and key in other_keys:
        problems.append(Problem("key", f"another question of this survey is called '{key}'"))
    labels = _labels("labels", raw.get("labels"), default_language, problems)
    choices: tuple[ChoiceDraft, ...] = ()
    low: int | None = None
    high: int | None = None
    if kind == "rating":
        low, high = _scale(raw, problems)
    elif kind == "choice":
        choices = _choices(raw.get("choices"), default_language, problems)
    if kind in ("choice", "text"):
        for name in ("scale_low", "scale_high"):
            if raw.get(name) is not None:
                problems.append(Problem(name, "only a rating question has a scale"))
    if kind in ("rating", "text") and raw.get("choices"):
        problems.append(Problem("choices", "only a choice question has choices"))
    if problems:
        raise InvalidQuestion(problems)
    assert isinstance(kind, str)
    return QuestionDraft(kind, key, labels, choices, low, high)


def label_in(labels: Mapping[str, Any], language: str, default_language: str) -> str:
    """The label in ``language``, else in the default language, else any."""
    for candidate in (language, default_language, *labels):
        text = labels.get(candidate)
        if isinstance(text, str) and text.strip():
            return text
    return ""


def choice_keys(question: QuestionLike) -> list[str]:
    return [str(c.get("key")) for c in question.choices or () if isinstance(c, Mapping)]


# -- answers -----------------------------------------------------------------------------------

OUT_OF_SCALE: Final = "Choose a number from %(low)d to %(high)d."
NOT_A_CHOICE: Final = "Choose one of the options."
TOO_LONG: Final = "Your answer is too long; at most %(limit)d characters fit."
BAD_CHARACTER: Final = (
    "Your answer holds an invisible character at position %(position)d; remove it."
)
ANSWER_MESSAGES: Final = (OUT_OF_SCALE, NOT_A_CHOICE, TOO_LONG, BAD_CHARACTER)
"""The msgids a respondent may see (the ``pages`` catalogues translate them)."""


@dataclass(frozen=True)
class AnswerValue:
    """One checked answer: exactly one of score, choice and text is set."""

    question_id: int
    score: float | None = None
    choice: str | None = None
    text: str | None = None


def _rating(question: QuestionLike, raw: object) -> AnswerValue | Problem:
    low = question.scale_low if question.scale_low is not None else DEFAULT_SCALE[0]
    high = question.scale_high if question.scale_high is not None else DEFAULT_SCALE[1]
    wrong = Problem(question.key, OUT_OF_SCALE, {"low": low, "high": high})
    number: float
    if isinstance(raw, bool):
        return wrong
    if isinstance(raw, int | float):
        number = float(raw)
    elif isinstance(raw, str):
        try:
            number = float(raw.strip())
        except ValueError:
            return wrong
    else:
        return wrong
    if not math.isfinite(number) or not number.is_integer() or not low <= number <= high:
        return wrong
    return AnswerValue(question.id, score=number)


def _text(question: QuestionLike, raw: object) -> AnswerValue | Problem | None:
    if not isinstance(raw, str):
        return Problem(question.key, "must be text")
    found = values.refused_character(raw)
    if found is not None:
        return Problem(question.key, BAD_CHARACTER, {"position": found[1]})
    cleaned = raw.strip()
    if not cleaned:
        return None
    if len(cleaned) > MAX_TEXT_ANSWER:
        return Problem(question.key, TOO_LONG, {"limit": MAX_TEXT_ANSWER})
    return AnswerValue(question.id, text=cleaned)


def check_answer(question: QuestionLike, raw: object) -> AnswerValue | Problem | None:
    """The answer ``raw`` gives ``question``, a problem, or None when it was left blank (every
    follow-up question is optional)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if question.kind == "rating":
        return _rating(question, raw)
    if question.kind == "choice":
        if isinstance(raw, str) and raw in choice_keys(question):
            return AnswerValue(question.id, choice=raw)
        return Problem(question.key, NOT_A_CHOICE)
    return _text(question, raw)


def check_answers(
    questions: Sequence[QuestionLike], raw: Mapping[str, object], *, strict: bool = False
) -> list[AnswerValue]:
    """The answers ``raw`` (by question key) gives the survey's ``questions``, blanks left
    out; raises ``InvalidQuestion`` naming each key at fault. ``strict``: a key that is not
    a question of the survey is a problem too (the API), not ignored (a page)."""
    problems: list[Problem] = []
    found: list[AnswerValue] = []
    known = {q.key for q in questions}
    if strict:
        problems += [
            Problem(str(k), "is not a question of this survey") for k in raw if k not in known
        ]
    for question in questions:
        result = check_answer(question, raw.get(question.key))
        if isinstance(result, Problem):
            problems.append(result)
        elif result is not None:
            found.append(result)
    if problems:
        raise InvalidQuestion(problems)
    return found
