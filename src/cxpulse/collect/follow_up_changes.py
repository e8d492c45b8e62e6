"""Making, changing and answering follow-up questions: the one set of functions behind the
REST API (``web/routes/follow_ups_api.py``), the questions page
(``web/routes/follow_up_pages.py``), the respondent's thank-you form and the demo.

Each checks with ``collect.follow_ups`` (pure) and writes with ``store.survey_questions`` or
``store.response_answers``, in the caller's transaction; the caller commits and audits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from cxpulse.collect.follow_ups import AnswerValue, QuestionDraft, check_answers, check_question
from cxpulse.store import response_answers, survey_questions, surveys
from cxpulse.store.models import SurveyQuestion

FIELDS = ("kind", "key", "labels", "choices", "scale_low", "scale_high")


def _stored(draft: QuestionDraft) -> dict[str, Any]:
    return {
        "kind": draft.kind,
        "key": draft.key,
        "labels": dict(draft.labels),
        "choices": draft.choices_document(),
        "scale_low": draft.scale_low,
        "scale_high": draft.scale_high,
    }


def create_question(
    session: Session, organisation_id: int, survey_id: int, raw: Mapping[str, Any]
) -> SurveyQuestion:
    """Add the question ``raw`` describes after the survey's others; raises ``NotFound`` for
    a survey of another organisation, ``InvalidQuestion`` for a question that breaks a rule."""
    survey = surveys.get_survey(session, organisation_id, survey_id)
    others = survey_questions.list_questions(session, organisation_id, survey_id)
    draft = check_question(
        raw,
        default_language=survey.default_language,
        other_keys=[q.key for q in others],
        others=len(others),
    )
    return survey_questions.add_question(session, organisation_id, survey_id, **_stored(draft))


def current_values(question: SurveyQuestion) -> dict[str, Any]:
    """What a question holds, in the shape ``check_question`` reads."""
    return {
        "kind": question.kind,
        "key": question.key,
        "labels": dict(question.labels or {}),
        "choices": list(question.choices or []),
        "scale_low": question.scale_low,
        "scale_high": question.scale_high,
    }


def update_question(
    session: Session,
    organisation_id: int,
    survey_id: int,
    question_id: int,
    changes: Mapping[str, Any],
) -> SurveyQuestion:
    """Change the fields ``changes`` names (the others are kept), checked as a whole. A
    question that becomes a choice or text one loses its scale, and one that stops being a
    choice loses its choices, unless ``changes`` gives them."""
    survey = surveys.get_survey(session, organisation_id, survey_id)
    question = survey_questions.get_question(session, organisation_id, survey_id, question_id)
    merged = current_values(question)
    kind = changes.get("kind", question.kind)
    if kind != question.kind:
        merged.update(choices=[], scale_low=None, scale_high=None)
    merged.update({name: changes[name] for name in FIELDS if name in changes})
    others = [
        q
        for q in survey_questions.list_questions(session, organisation_id, survey_id)
        if q.id != question.id
    ]
    draft = check_question(
        merged,
        default_language=survey.default_language,
        other_keys=[q.key for q in others],
        others=len(others),
    )
    return survey_questions.change_question(question, **_stored(draft))


def record_answers(
    session: Session,
    organisation_id: int,
    response_id: int,
    raw: Mapping[str, object],
    *,
    strict: bool = False,
) -> list[AnswerValue]:
    """Check and store the follow-up answers ``raw`` (by question key) gives the response;
    blanks are skipped. Raises ``NotFound`` for a response of another organisation and
    ``InvalidQuestion`` naming each key at fault (``strict``: unknown keys too)."""
    survey_id = response_answers.response_survey(session, organisation_id, response_id)
    questions = survey_questions.list_questions(session, organisation_id, survey_id)
    found = check_answers(questions, raw, strict=strict)
    response_answers.save_answers(
        session,
        organisation_id,
        response_id,
        [response_answers.NewAnswer(a.question_id, a.score, a.choice, a.text) for a in found],
    )
    return found
