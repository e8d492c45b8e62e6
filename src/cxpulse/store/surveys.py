"""Surveys: what is asked, on which scale, scored how."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from cxpulse.store import _values as values
from cxpulse.store import scoped, text_themes
from cxpulse.store import survey_rules as rules
from cxpulse.store.errors import Conflict, Invalid
from cxpulse.store.models import Response, Survey, SurveyQuestion

QUESTION_FIELDS = rules.QUESTION_FIELDS
_SCORING_FIELDS = rules.SCORING_FIELDS


def create_survey(
    session: Session,
    organisation_id: int,
    *,
    slug: str,
    name: str,
    metric: str,
    scale_low: int | None = None,
    scale_high: int | None = None,
    top_min: float | None = None,
    bottom_max: float | None = None,
    questions: Mapping[str, Mapping[str, str]] | None = None,
    default_language: str = "en",
    touchpoint: str | None = None,
    status: str = "draft",
    presentation: str = "numbers",
    collect_options: Mapping[str, Any] | None = None,
    throttle_days: int | None = None,
    reminder_days: int | None = None,
) -> Survey:
    """A new survey; the scale defaults to the metric's usual one (1-5, 0-10, 1-7)."""
    values.slug("slug", slug)
    metric = rules.metric(metric)
    scale = rules.scale(metric, scale_low, scale_high)
    survey = Survey(
        organisation_id=organisation_id,
        slug=slug,
        name=values.required_text("name", name, rules.MAX_NAME),
        metric=metric,
        scale_low=scale.low,
        scale_high=scale.high,
        top_min=rules.threshold("top_min", top_min),
        bottom_max=rules.threshold("bottom_max", bottom_max),
        questions=rules.questions(questions),
        default_language=values.required_text(
            "default_language", default_language, rules.MAX_LANGUAGE
        ),
        touchpoint=values.text("touchpoint", touchpoint, rules.MAX_TOUCHPOINT),
        status=rules.status(status),
        presentation=presentation,
        collect_options=rules.collect_options(collect_options),
        throttle_days=rules.days("throttle_days", throttle_days, rules.MAX_THROTTLE_DAYS),
        reminder_days=rules.days("reminder_days", reminder_days, rules.MAX_REMINDER_DAYS),
    )
    rules.check_scoring(survey)
    rules.check_presentation(survey)
    rules.check_default_language(survey)
    taken = select(Survey.id).where(Survey.organisation_id == organisation_id, Survey.slug == slug)
    if session.scalar(taken) is not None:
        raise Conflict("slug", f"a survey {slug!r} exists already")
    session.add(survey)
    session.flush()
    return survey


def get_survey(session: Session, organisation_id: int, survey_id: int) -> Survey:
    return scoped.get_one(
        session, Survey, organisation_id, Survey.id == survey_id, entity="survey", key=survey_id
    )


def get_survey_by_slug(session: Session, organisation_id: int, slug: str) -> Survey:
    return scoped.get_one(
        session, Survey, organisation_id, Survey.slug == slug, entity="survey", key=slug
    )


def list_surveys(
    session: Session,
    organisation_id: int,
    *,
    status: str | None = None,
    include_archived: bool = True,
) -> list[Survey]:
    """The organisation's surveys, oldest first; ``status`` only those with it;
    ``include_archived=False`` leaves archived surveys out (the overview, the survey list),
    while lists that name surveys of stored rows (alerts, cases) still need them."""
    query = select(Survey).where(Survey.organisation_id == organisation_id)
    if status is not None:
        query = query.where(Survey.status == rules.status(status))
    elif not include_archived:
        query = query.where(Survey.status != "archived")
    return list(session.scalars(query.order_by(Survey.id)))


def update_survey(
    session: Session,
    organisation_id: int,
    survey_id: int,
    *,
    slug: str | values.Unset = values.UNSET,
    name: str | values.Unset = values.UNSET,
    metric: str | values.Unset = values.UNSET,
    scale_low: int | values.Unset = values.UNSET,
    scale_high: int | values.Unset = values.UNSET,
    top_min: float | values.Unset | None = values.UNSET,
    bottom_max: float | values.Unset | None = values.UNSET,
    questions: Mapping[str, Mapping[str, str]] | values.Unset = values.UNSET,
    default_language: str | values.Unset = values.UNSET,
    touchpoint: str | values.Unset | None = values.UNSET,
    status: str | values.Unset = values.UNSET,
    presentation: str | values.Unset = values.UNSET,
    collect_options: Mapping[str, Any] | values.Unset | None = values.UNSET,
    throttle_days: int | values.Unset | None = values.UNSET,
    reminder_days: int | values.Unset | None = values.UNSET,
) -> Survey:
    """Change the given fields; thresholds set to None go back to the metric's defaults.

    Metric and thresholds may change at any time (scores are recomputed from the counts), but
    the scale may not once responses exist: stored answers would fall outside it.
    """
    survey = get_survey(session, organisation_id, survey_id)
    changes: dict[str, Any] = {}
    if slug is not values.UNSET and slug != survey.slug:
        values.slug("slug", slug)
        taken = select(Survey.id).where(
            Survey.organisation_id == organisation_id, Survey.slug == slug
        )
        if session.scalar(taken) is not None:
            raise Conflict("slug", f"a survey {slug!r} exists already")
        changes["slug"] = slug
    if name is not values.UNSET:
        changes["name"] = values.required_text("name", name, rules.MAX_NAME)
    if metric is not values.UNSET:
        changes["metric"] = rules.metric(metric)
    if scale_low is not values.UNSET or scale_high is not values.UNSET:
        scale = rules.scale(
            changes.get("metric", survey.metric),
            survey.scale_low if scale_low is values.UNSET else scale_low,
            survey.scale_high if scale_high is values.UNSET else scale_high,
        )
        if scale != survey.scale:
            has_responses = session.scalar(select(exists().where(Response.survey_id == survey.id)))
            if has_responses:
                raise Invalid("scale", "cannot change the scale of a survey that has responses")
            changes["scale_low"], changes["scale_high"] = scale.low, scale.high
    if top_min is not values.UNSET:
        changes["top_min"] = rules.threshold("top_min", top_min)
    if bottom_max is not values.UNSET:
        changes["bottom_max"] = rules.threshold("bottom_max", bottom_max)
    if questions is not values.UNSET:
        changes["questions"] = rules.questions(questions)
    if default_language is not values.UNSET:
        changes["default_language"] = values.required_text(
            "default_language", default_language, rules.MAX_LANGUAGE
        )
    if touchpoint is not values.UNSET:
        changes["touchpoint"] = values.text("touchpoint", touchpoint, rules.MAX_TOUCHPOINT)
    if status is not values.UNSET:
        changes["status"] = rules.status(status)
    if presentation is not values.UNSET:
        changes["presentation"] = presentation
    if collect_options is not values.UNSET:
        changes["collect_options"] = rules.collect_options(collect_options)
    if throttle_days is not values.UNSET:
        changes["throttle_days"] = rules.days(
            "throttle_days", throttle_days, rules.MAX_THROTTLE_DAYS
        )
    if reminder_days is not values.UNSET:
        changes["reminder_days"] = rules.days(
            "reminder_days", reminder_days, rules.MAX_REMINDER_DAYS
        )

    before = {field: getattr(survey, field) for field in changes}
    for field, value in changes.items():
        setattr(survey, field, value)
    try:
        rules.check_scoring(survey, settings_changed=not _SCORING_FIELDS.isdisjoint(changes))
        rules.check_default_language(survey)
        rules.check_presentation(survey)
    except Invalid:
        for field, value in before.items():
            setattr(survey, field, value)
        raise
    session.flush()
    if any(before[field] != changes[field] for field in _SCORING_FIELDS.intersection(changes)):
        # A comment's sentiment follows its score's band: new bands, new analyses.
        text_themes.bump_version(session, organisation_id)
    return survey


def delete_survey(session: Session, organisation_id: int, survey_id: int) -> None:
    """Delete the survey with its responses and rollups (the database cascades)."""
    survey = get_survey(session, organisation_id, survey_id)
    session.delete(survey)
    session.flush()


def change_status(
    session: Session, organisation_id: int, survey_id: int, action: str
) -> tuple[Survey, str]:
    """Apply a status ``action`` (``survey_rules.STATUS_ACTIONS``); returns the survey and
    its status before. ``Invalid`` when the action cannot start from the current status."""
    survey = get_survey(session, organisation_id, survey_id)
    before = survey.status
    survey.status = rules.next_status(before, action)
    session.flush()
    return survey, before


COPY_SUFFIX = " (copy)"


MAX_SLUG = 64


def _free_slug(session: Session, organisation_id: int, slug: str) -> str:
    """``slug-copy``, else ``slug-copy-2``, ``-3`` ...: the first not taken, at most
    ``MAX_SLUG`` characters."""
    taken = set(
        session.scalars(
            select(Survey.slug).where(
                Survey.organisation_id == organisation_id, Survey.slug.contains("-copy")
            )
        )
    )
    number = 1
    while True:
        suffix = "-copy" if number == 1 else f"-copy-{number}"
        candidate = slug[: MAX_SLUG - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        number += 1


def duplicate_survey(session: Session, organisation_id: int, survey_id: int) -> Survey:
    """A draft copy of the survey with every setting and follow-up question, named
    "… (copy)", under a new slug; none of its answers, invitations or goals."""
    original = get_survey(session, organisation_id, survey_id)
    name = original.name[: rules.MAX_NAME - len(COPY_SUFFIX)] + COPY_SUFFIX
    copied = Survey(
        organisation_id=organisation_id,
        slug=_free_slug(session, organisation_id, original.slug),
        status="draft",
        **{field: copy.deepcopy(getattr(original, field)) for field in rules.SETTING_FIELDS},
    )
    copied.name = name
    session.add(copied)
    session.flush()
    follow_ups = session.scalars(
        select(SurveyQuestion)
        .where(
            SurveyQuestion.organisation_id == organisation_id,
            SurveyQuestion.survey_id == original.id,
        )
        .order_by(SurveyQuestion.position, SurveyQuestion.id)
    )
    for question in list(follow_ups):
        session.add(
            SurveyQuestion(
                organisation_id=organisation_id,
                survey_id=copied.id,
                position=question.position,
                kind=question.kind,
                key=question.key,
                labels=copy.deepcopy(question.labels),
                choices=copy.deepcopy(question.choices),
                scale_low=question.scale_low,
                scale_high=question.scale_high,
            )
        )
    session.flush()
    return copied
