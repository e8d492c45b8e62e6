"""The results of a survey's follow-up questions over a window: no maths of their own.

- A rating question's answers are a ``Histogram`` scored by ``cxpulse.metrics``: its top-box
  share as CSAT is scored (the top two points of the scale, Wilson interval) and its mean
  (t interval), each with its n.
- A choice question's answers are counts per choice; each share has its Wilson interval
  (``metrics.intervals.wilson``), in points as CSAT is.
- A text question gives how many answered.

Counts come from ``store.response_answers`` (``GROUP BY question, score``), so the API, the
questions page and anything else show the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from cxpulse.collect.follow_ups import DEFAULT_SCALE, choice_keys
from cxpulse.metrics import DEFAULT_LEVEL, Histogram, MetricResult, MetricSpec, Scale, csat, mean
from cxpulse.metrics.intervals import wilson
from cxpulse.store import response_answers, survey_questions
from cxpulse.store.models import SurveyQuestion


@dataclass(frozen=True)
class ChoiceShare:
    key: str
    count: int
    share: float
    """Points (0-100) of the question's answers; NaN without answers."""
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class QuestionResult:
    question: SurveyQuestion
    n: int
    top_box: MetricResult | None = None
    """Rating questions: the share of answers in the top two points, as CSAT is scored."""
    mean: MetricResult | None = None
    """Rating questions: the mean answer."""
    choices: list[ChoiceShare] = field(default_factory=list)


def rating_spec(question: SurveyQuestion, *, level: float = DEFAULT_LEVEL) -> MetricSpec:
    """The CSAT-style spec of a rating question: its scale, the default top box."""
    low = DEFAULT_SCALE[0] if question.scale_low is None else question.scale_low
    high = DEFAULT_SCALE[1] if question.scale_high is None else question.scale_high
    return MetricSpec.default("csat", Scale(low, high), level=level)


def rating_result(
    question: SurveyQuestion, counts: dict[float, int], *, level: float = DEFAULT_LEVEL
) -> QuestionResult:
    spec = rating_spec(question, level=level)
    histogram = Histogram(counts)
    mean_spec = MetricSpec.default("mean", spec.scale, level=level)
    return QuestionResult(
        question, histogram.n, top_box=csat(histogram, spec), mean=mean(histogram, mean_spec)
    )


def choice_result(
    question: SurveyQuestion, counts: dict[str, int], *, level: float = DEFAULT_LEVEL
) -> QuestionResult:
    """Every choice of the question, in its order (those nobody picked at 0); picks of a
    choice since removed count in n but get no row."""
    n = sum(counts.values())
    shares = []
    for key in choice_keys(question):
        count = counts.get(key, 0)
        low, high = wilson(count, n, level)
        share = count / n * 100 if n else math.nan
        shares.append(ChoiceShare(key, count, share, low * 100, high * 100))
    return QuestionResult(question, n, choices=shares)


def question_results(
    session: Session,
    organisation_id: int,
    survey_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    level: float = DEFAULT_LEVEL,
) -> list[QuestionResult]:
    """Each follow-up question of the survey, in asking order, with its results over the
    responses submitted in [since, until)."""
    questions = survey_questions.list_questions(session, organisation_id, survey_id)
    if not questions:
        return []
    window = {"since": since, "until": until}
    scores = response_answers.score_counts(session, organisation_id, survey_id, **window)
    picks = response_answers.choice_counts(session, organisation_id, survey_id, **window)
    results: list[QuestionResult] = []
    for question in questions:
        if question.kind == "rating":
            results.append(rating_result(question, scores.get(question.id, {}), level=level))
        elif question.kind == "choice":
            results.append(choice_result(question, picks.get(question.id, {}), level=level))
        else:
            results.append(QuestionResult(question, sum(picks.get(question.id, {}).values())))
    return results
