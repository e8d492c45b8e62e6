"""Request and response bodies of the follow-up questions API
(``web/routes/follow_ups_api.py``).

The bodies only give the shape; what a question may hold (key format, at most five, a label
in the survey's default language, choice keys, scale bounds) is ``collect.follow_ups``'s one
rule, whose problems ``question_errors`` turns into the API's 422, one entry per field
(``["body", "labels", "sv"]``).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt

from cxpulse.collect.follow_ups import (
    KEY_RULE,
    MAX_CHOICES,
    MAX_LABEL_LENGTH,
    MAX_QUESTIONS,
    InvalidQuestion,
)
from cxpulse.metrics import MetricResult
from cxpulse.report.follow_up_drivers import SurveyDrivers
from cxpulse.report.follow_up_scores import QuestionResult
from cxpulse.store.models import SurveyQuestion
from cxpulse.store.response_answers import StoredAnswer
from cxpulse.web.errors import FieldErrors, field_error
from cxpulse.web.schemas import MAX_SMALL_ID, Body, Text2000

Kind = Literal["rating", "choice", "text"]
QuestionKey = Annotated[str, Field(max_length=64, description=KEY_RULE, examples=["delivery"])]
Labels = Annotated[
    dict[Annotated[str, Field(max_length=35)], Text2000 | None],
    Field(
        max_length=20,
        description=f"The question per language ({{language: text}}, at most "
        f"{MAX_LABEL_LENGTH} characters each); one in the survey's default language at least.",
        examples=[{"en": "How was the delivery?", "sv": "Hur var leveransen?"}],
    ),
]
ScaleEnd = Annotated[StrictInt, Field(ge=-1000, le=1000)]


class ChoiceIn(Body):
    key: QuestionKey
    labels: Labels


CHOICES_HELP = f"Choice questions only: 2 to {MAX_CHOICES} choices, each with a key and labels."


class QuestionCreate(Body):
    kind: Kind
    key: QuestionKey
    labels: Labels
    choices: Annotated[list[ChoiceIn], Field(max_length=50)] | None = Field(
        None, description=CHOICES_HELP
    )
    scale_low: ScaleEnd | None = Field(None, description="Rating questions only: 0 or 1 (1).")
    scale_high: ScaleEnd | None = Field(None, description="Rating questions only: 2-10 (5).")


class QuestionUpdate(Body):
    """Only the fields sent change; the question is checked as a whole."""

    kind: Kind | None = None
    key: QuestionKey | None = None
    labels: Labels | None = None
    choices: Annotated[list[ChoiceIn], Field(max_length=50)] | None = Field(
        None, description=CHOICES_HELP
    )
    scale_low: ScaleEnd | None = None
    scale_high: ScaleEnd | None = None


class QuestionOrder(Body):
    ids: Annotated[
        list[Annotated[int, Field(strict=True, ge=1, le=MAX_SMALL_ID)]],
        Field(max_length=MAX_QUESTIONS, description="Every question's id, in the new order."),
    ]


class ChoiceOut(BaseModel):
    key: str
    labels: dict[str, str]


class QuestionOut(BaseModel):
    id: int
    survey_id: int
    position: int
    kind: Kind
    key: str
    labels: dict[str, str]
    choices: list[ChoiceOut]
    scale_low: int | None
    scale_high: int | None
    created_at: datetime
    updated_at: datetime


class QuestionList(BaseModel):
    items: list[QuestionOut]


class AnswerOut(BaseModel):
    question_id: int
    key: str
    kind: Kind
    score: float | None
    choice: str | None
    text: str | None
    created_at: datetime


class AnswerList(BaseModel):
    response_id: int
    items: list[AnswerOut]


class Estimate(BaseModel):
    value: float | None = Field(description="Null without answers.")
    ci_low: float | None
    ci_high: float | None
    n: int
    level: float
    too_small: bool = Field(description="Fewer answers than the minimum for a stable figure.")


class ChoiceShareOut(BaseModel):
    key: str
    count: int
    share: float | None = Field(description="Points (0-100) of the question's answers.")
    ci_low: float | None
    ci_high: float | None


class QuestionScore(BaseModel):
    id: int
    key: str
    kind: Kind
    n: int = Field(description="Answers in the window.")
    top_box: Estimate | None = Field(
        None,
        description="Ratings: the share (points) of answers in the top two points of the "
        "scale, with its Wilson interval, as CSAT is scored.",
    )
    mean: Estimate | None = Field(None, description="Ratings: the mean answer, t interval.")
    choices: list[ChoiceShareOut] = Field(default_factory=list)


class QuestionScores(BaseModel):
    survey_id: int
    since: datetime
    until: datetime
    items: list[QuestionScore]


class DriverOut(BaseModel):
    question_id: int
    key: str
    weight: float = Field(description="Relative weight in R² units; the rows' add up to R².")
    weight_low: float | None
    weight_high: float | None
    share: float | None = Field(description="The weight in percent of R².")
    shapley: float | None = Field(description="Shapley value of R² (R² units).")
    shapley_low: float | None
    shapley_high: float | None
    correlation: float = Field(description="Pearson correlation with the survey's score.")
    mean: float = Field(description="The question's mean rating over the complete answers.")


class DriversOut(BaseModel):
    survey_id: int
    since: datetime
    until: datetime
    n: int = Field(description="Responses that answered every rating question (analysed).")
    left_out: int = Field(description="Responses that answered some rating questions, not all.")
    capped: bool = Field(description="More complete answers than the latest 50,000 analysed.")
    r_squared: float | None
    ci_low: float | None = Field(description="Bootstrap interval of R².")
    ci_high: float | None
    level: float
    bootstrap: int = Field(description="Resamples behind every interval (seeded).")
    rows: list[DriverOut] = Field(description="One per rating question, heaviest weight first.")
    notes: list[str]
    reason: str | None = Field(
        description="Why there is no table (few_questions, few_answers, no_variation); null "
        "when there is one."
    )
    reason_text: str | None


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def drivers_out(
    survey_id: int, since: datetime, until: datetime, found: SurveyDrivers
) -> DriversOut:
    """The key-driver table as the API gives it: ``null`` for a figure that is not a number
    (no interval without resamples, no share when R² is 0)."""
    return DriversOut(
        survey_id=survey_id,
        since=since,
        until=until,
        n=found.n,
        left_out=found.left_out,
        capped=found.capped,
        r_squared=_number(found.r_squared),
        ci_low=_number(found.r_squared_low),
        ci_high=_number(found.r_squared_high),
        level=found.level,
        bootstrap=found.bootstrap,
        rows=[
            DriverOut(
                question_id=row.question_id,
                key=row.key,
                weight=row.weight,
                weight_low=_number(row.weight_low),
                weight_high=_number(row.weight_high),
                share=_number(row.share),
                shapley=_number(row.shapley),
                shapley_low=_number(row.shapley_low),
                shapley_high=_number(row.shapley_high),
                correlation=row.correlation,
                mean=row.mean,
            )
            for row in found.rows
        ],
        notes=list(found.notes),
        reason=found.reason,
        reason_text=found.reason_text,
    )


def question_out(question: SurveyQuestion) -> QuestionOut:
    return QuestionOut(
        id=question.id,
        survey_id=question.survey_id,
        position=question.position,
        kind=question.kind,  # type: ignore[arg-type]
        key=question.key,
        labels=dict(question.labels or {}),
        choices=[ChoiceOut(key=c["key"], labels=c["labels"]) for c in question.choices or []],
        scale_low=question.scale_low,
        scale_high=question.scale_high,
        created_at=question.created_at,
        updated_at=question.updated_at,
    )


def answer_out(answer: StoredAnswer) -> AnswerOut:
    return AnswerOut(
        question_id=answer.question_id,
        key=answer.key,
        kind=answer.kind,  # type: ignore[arg-type]
        score=answer.score,
        choice=answer.choice,
        text=answer.text,
        created_at=answer.created_at,
    )


def _estimate(result: MetricResult | None) -> Estimate | None:
    if result is None:
        return None
    return Estimate(
        value=_number(result.value),
        ci_low=_number(result.ci_low),
        ci_high=_number(result.ci_high),
        n=result.n,
        level=result.level,
        too_small=result.too_small,
    )


def score_out(result: QuestionResult) -> QuestionScore:
    question = result.question
    return QuestionScore(
        id=question.id,
        key=question.key,
        kind=question.kind,  # type: ignore[arg-type]
        n=result.n,
        top_box=_estimate(result.top_box),
        mean=_estimate(result.mean),
        choices=[
            ChoiceShareOut(
                key=c.key,
                count=c.count,
                share=_number(c.share),
                ci_low=_number(c.ci_low) if result.n else None,
                ci_high=_number(c.ci_high) if result.n else None,
            )
            for c in result.choices
        ],
    )


def question_errors(error: InvalidQuestion, prefix: tuple[str, ...] = ("body",)) -> FieldErrors:
    """Every problem on its own field (``["body", "choices", 0, "key"]``)."""
    return FieldErrors(
        [
            field_error(
                [*prefix, *(int(p) if p.isdigit() else p for p in problem.field.split("."))],
                problem.text,
            )
            for problem in error.problems
        ]
    )
