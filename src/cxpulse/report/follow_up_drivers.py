"""What drives a survey's score: a key-driver analysis of the score on the survey's rating
questions over a window (relative weights and Shapley values of R², bootstrap intervals).

The maths is ``text.key_drivers``'; the rows are ``store.driver_ratings``' (responses that
answered every rating question, the latest ``MAX_ROWS``). A table needs at least two rating
questions and ``MIN_COMPLETE`` complete answers, and a score and ratings that vary; otherwise
the result carries a reason instead of rows, so the API and the questions page say why
there is no table. The bootstrap is seeded and its count fixed, so the same answers give the
same intervals on every load.

On the two-core machine, 20,000 complete rows on SQLite take about 0.3 s with 2 rating
questions and 0.6 s with 5, query included (the bootstrap of 500 resamples is about 0.25 s of
it, the rest is reading the answers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from cxpulse.collect.follow_ups import label_in
from cxpulse.metrics import DEFAULT_LEVEL
from cxpulse.store import driver_ratings, survey_questions
from cxpulse.store.models import Survey, SurveyQuestion
from cxpulse.text.key_drivers import EXTRA_ROWS, key_drivers

BOOTSTRAP = 500
"""Resamples behind the intervals: about 0.25 s on 20,000 rows and 5 questions."""
SEED = 0
"""One seed for every analysis: the same answers give the same intervals."""
MIN_COMPLETE = 30
"""Complete answers needed for a table: fewer leave the weights to chance."""
MAX_ROWS = driver_ratings.MAX_ROWS

FEW_QUESTIONS = "few_questions"
FEW_ANSWERS = "few_answers"
NO_VARIATION = "no_variation"
REASONS = (FEW_QUESTIONS, FEW_ANSWERS, NO_VARIATION)


@dataclass(frozen=True)
class DriverQuestion:
    """One rating question's part in the score's explained variance."""

    question_id: int
    key: str
    label: str
    weight: float
    """Relative weight in R² units (the rows' weights add up to R²)."""
    weight_low: float
    weight_high: float
    share: float
    """``weight`` in percent of R²."""
    shapley: float | None
    shapley_low: float | None
    shapley_high: float | None
    correlation: float
    """With the survey's score, over the complete answers."""
    mean: float
    """The question's mean rating over the complete answers."""


@dataclass(frozen=True)
class SurveyDrivers:
    """A survey's key-driver table, or the reason there is none."""

    n: int
    """Complete answers analysed."""
    left_out: int
    """Responses that answered some of the rating questions but not all."""
    complete: int
    """Complete answers in the window (more than ``n`` when capped)."""
    capped: bool
    level: float
    bootstrap: int
    questions: tuple[SurveyQuestion, ...]
    """The survey's rating questions in asking order."""
    r_squared: float | None = None
    r_squared_low: float | None = None
    r_squared_high: float | None = None
    rows: tuple[DriverQuestion, ...] = ()
    """Heaviest weight first; empty with a reason."""
    notes: tuple[str, ...] = ()
    reason: str | None = None
    """One of ``REASONS``, None when there is a table."""
    reason_text: str | None = None


def survey_drivers(
    session: Session,
    organisation_id: int,
    survey: Survey,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    level: float = DEFAULT_LEVEL,
    language: str | None = None,
) -> SurveyDrivers:
    """The key drivers of the survey's score among its rating questions, over the responses
    submitted in [since, until); labels in ``language`` (else the survey's)."""
    questions = tuple(
        q
        for q in survey_questions.list_questions(session, organisation_id, survey.id)
        if q.kind == "rating"
    )
    found = driver_ratings.driver_ratings(
        session, organisation_id, survey.id, [q.id for q in questions], since=since, until=until
    )
    head = SurveyDrivers(
        n=len(found.rows),
        left_out=found.left_out,
        complete=found.complete,
        capped=found.capped,
        level=level,
        bootstrap=BOOTSTRAP,
        questions=questions,
    )
    if len(questions) < 2:
        text = (
            "A key-driver analysis needs at least two rating questions; this survey has "
            f"{len(questions)}."
        )
        return replace(head, reason=FEW_QUESTIONS, reason_text=text)
    needed = max(MIN_COMPLETE, len(questions) + 1 + EXTRA_ROWS)
    if len(found.rows) < needed:
        text = (
            f"A key-driver analysis needs at least {needed} responses that answered every "
            f"rating question; this window has {len(found.rows)}."
        )
        return replace(head, reason=FEW_ANSWERS, reason_text=text)

    data = np.asarray(found.rows, dtype=float)
    language = language or survey.default_language
    labels = {
        q.key: label_in(q.labels or {}, language, survey.default_language) or q.key
        for q in questions
    }
    try:
        table = key_drivers(
            data[:, 0],
            {q.key: data[:, j] for j, q in enumerate(questions, start=1)},
            level=level,
            bootstrap=BOOTSTRAP,
            seed=SEED,
        )
    except ValueError:
        # With enough complete rows (checked above), what is left for key_drivers to refuse
        # is a score or a rating that is the same in every row.
        return replace(head, reason=NO_VARIATION, reason_text=_no_variation(data, labels))

    by_key = {q.key: q for q in questions}
    rows = tuple(
        DriverQuestion(
            question_id=by_key[row.name].id,
            key=row.name,
            label=labels[row.name],
            weight=row.weight,
            weight_low=row.weight_ci_low,
            weight_high=row.weight_ci_high,
            share=row.share,
            shapley=row.shapley,
            shapley_low=row.shapley_ci_low,
            shapley_high=row.shapley_ci_high,
            correlation=row.correlation,
            mean=row.mean,
        )
        for row in table.rows
    )
    return replace(
        head,
        r_squared=table.r_squared,
        r_squared_low=table.r_squared_ci_low,
        r_squared_high=table.r_squared_ci_high,
        rows=rows,
        notes=table.notes,
    )


def _no_variation(data: np.ndarray[Any, Any], labels: dict[str, str]) -> str:
    """Which column of the complete rows does not vary, in words."""
    constant = [bool(math.isclose(column.min(), column.max())) for column in data.T]
    if constant[0]:
        return f"The score is {data[0, 0]:g} in every complete answer: there is nothing to explain."
    same = [label for label, flat in zip(labels.values(), constant[1:], strict=True) if flat]
    return (
        "These ratings are the same in every complete answer, so they cannot explain the "
        f"score: {', '.join(same) or 'none'}."
    )
