"""Surveys: what is asked, on which scale, scored how."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from cxpulse.metrics import Metric, Scale
from cxpulse.metrics.scales import DEFAULT_SCALE, ScaleError, check_scoring
from cxpulse.store import _values as values
from cxpulse.store import text_themes
from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.store.models import PRESENTATIONS, SURVEY_STATUSES, Response, Survey
from cxpulse.store.survey_options import OptionError, parse_options

QUESTION_FIELDS = ("question", "comment_prompt")


def _questions(value: Mapping[str, Mapping[str, str]] | None) -> dict[str, dict[str, str]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Invalid("questions", "must map a language to {question, comment_prompt}")
    result: dict[str, dict[str, str]] = {}
    for language, texts in value.items():
        lang = values.required_text("questions", language, 35)
        if not isinstance(texts, Mapping):
            raise Invalid(f"questions.{lang}", "must be {question, comment_prompt}")
        unknown = set(texts) - set(QUESTION_FIELDS)
        if unknown:
            raise Invalid(f"questions.{lang}", f"unknown fields {sorted(unknown)}")
        entry: dict[str, str] = {}
        for field in QUESTION_FIELDS:
            text = values.text(f"questions.{lang}.{field}", texts.get(field), 2000)
            if text is not None:
                entry[field] = text
        result[lang] = entry
    return result


def _check_scoring(survey: Survey, *, settings_changed: bool = True) -> None:
    """Build the metric spec once, so a survey that cannot be scored is never stored.

    Scale and bands must also fit each other when they are set; a survey stored before that
    rule stays editable (a new name, a status) until its scoring settings change.
    """
    try:
        spec = survey.metric_spec()
        if settings_changed:
            own_bands = survey.top_min is not None and survey.bottom_max is not None
            check_scoring(spec.metric, spec.scale, spec.thresholds, own_bands=own_bands)
    except ScaleError as error:
        raise Invalid(error.field, error.message) from None
    except ValueError as error:
        raise Invalid("scale", str(error)) from None


_SCORING_FIELDS = frozenset({"metric", "scale_low", "scale_high", "top_min", "bottom_max"})


def _metric(value: str) -> str:
    try:
        return Metric(value).value
    except ValueError:
        raise Invalid("metric", f"must be one of {', '.join(m.value for m in Metric)}") from None


def _status(value: str) -> str:
    if value not in SURVEY_STATUSES:
        raise Invalid("status", f"must be one of {', '.join(SURVEY_STATUSES)}")
    return value


def _scale(metric: str, low: int | None, high: int | None) -> Scale:
    default = DEFAULT_SCALE[Metric(metric)]
    try:
        return Scale(
            default.low if low is None else int(low), default.high if high is None else int(high)
        )
    except ValueError as error:
        raise Invalid("scale", str(error)) from None


def _check_default_language(survey: Survey) -> None:
    if survey.questions and survey.default_language not in survey.questions:
        raise Invalid(
            "default_language",
            f"{survey.default_language!r} has no question text; "
            f"languages given: {', '.join(sorted(survey.questions))}",
        )


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
    metric = _metric(metric)
    scale = _scale(metric, scale_low, scale_high)
    survey = Survey(
        organisation_id=organisation_id,
        slug=slug,
        name=values.required_text("name", name, 200),
        metric=metric,
        scale_low=scale.low,
        scale_high=scale.high,
        top_min=top_min,
        bottom_max=bottom_max,
        questions=_questions(questions),
        default_language=values.required_text("default_language", default_language, 35),
        touchpoint=values.text("touchpoint", touchpoint, 100),
        status=_status(status),
        presentation=presentation,
        collect_options=_collect_options(collect_options),
        throttle_days=_days("throttle_days", throttle_days, 3650),
        reminder_days=_days("reminder_days", reminder_days, 365),
    )
    _check_scoring(survey)
    _check_presentation(survey)
    _check_default_language(survey)
    taken = select(Survey.id).where(Survey.organisation_id == organisation_id, Survey.slug == slug)
    if session.scalar(taken) is not None:
        raise Conflict("slug", f"a survey {slug!r} exists already")
    session.add(survey)
    session.flush()
    return survey


def get_survey(session: Session, organisation_id: int, survey_id: int) -> Survey:
    survey = session.scalar(
        select(Survey).where(Survey.organisation_id == organisation_id, Survey.id == survey_id)
    )
    if survey is None:
        raise NotFound("survey", survey_id)
    return survey


def get_survey_by_slug(session: Session, organisation_id: int, slug: str) -> Survey:
    survey = session.scalar(
        select(Survey).where(Survey.organisation_id == organisation_id, Survey.slug == slug)
    )
    if survey is None:
        raise NotFound("survey", slug)
    return survey


def list_surveys(
    session: Session, organisation_id: int, *, status: str | None = None
) -> list[Survey]:
    query = select(Survey).where(Survey.organisation_id == organisation_id)
    if status is not None:
        query = query.where(Survey.status == _status(status))
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
        changes["name"] = values.required_text("name", name, 200)
    if metric is not values.UNSET:
        changes["metric"] = _metric(metric)
    if scale_low is not values.UNSET or scale_high is not values.UNSET:
        scale = _scale(
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
        changes["top_min"] = top_min
    if bottom_max is not values.UNSET:
        changes["bottom_max"] = bottom_max
    if questions is not values.UNSET:
        changes["questions"] = _questions(questions)
    if default_language is not values.UNSET:
        changes["default_language"] = values.required_text("default_language", default_language, 35)
    if touchpoint is not values.UNSET:
        changes["touchpoint"] = values.text("touchpoint", touchpoint, 100)
    if status is not values.UNSET:
        changes["status"] = _status(status)
    if presentation is not values.UNSET:
        changes["presentation"] = presentation
    if collect_options is not values.UNSET:
        changes["collect_options"] = _collect_options(collect_options)
    if throttle_days is not values.UNSET:
        changes["throttle_days"] = _days("throttle_days", throttle_days, 3650)
    if reminder_days is not values.UNSET:
        changes["reminder_days"] = _days("reminder_days", reminder_days, 365)

    before = {field: getattr(survey, field) for field in changes}
    for field, value in changes.items():
        setattr(survey, field, value)
    try:
        _check_scoring(survey, settings_changed=not _SCORING_FIELDS.isdisjoint(changes))
        _check_default_language(survey)
        _check_presentation(survey)
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


def _collect_options(document: Mapping[str, Any] | None) -> dict[str, Any]:
    try:
        return parse_options(document).to_document()
    except OptionError as error:
        raise Invalid(f"collect_options.{error.field}", error.message) from None


def _days(field: str, value: int | None, most: int) -> int | None:
    if value is not None and not 1 <= value <= most:
        raise Invalid(field, f"must be from 1 to {most} days, or null")
    return value


def _check_presentation(survey: Survey) -> None:
    """Stars and emoji show 1-5, thumbs 0-1; numbers fit any scale."""
    needs = {"stars": (1, 5), "emoji": (1, 5), "thumbs": (0, 1)}
    if survey.presentation not in PRESENTATIONS:
        raise Invalid("presentation", f"must be one of {', '.join(PRESENTATIONS)}")
    wanted = needs.get(survey.presentation)
    if wanted is not None and (survey.scale_low, survey.scale_high) != wanted:
        low, high = wanted
        raise Invalid(
            "presentation", f"{survey.presentation} show a {low}-{high} scale, not {survey.scale}"
        )
