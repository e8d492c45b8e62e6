"""The rules of a survey's settings, in one place for every door.

The API's bodies (``web/schemas.py`` takes its limits from here), the builder's form in the
browser (``web/survey_form.py``), the preview of an unsaved survey and the store's writes
(``store/surveys.py``) all check a survey with these functions, so the same input gets the
same answer, in the same words, wherever it comes from.

- one function per field (``metric``, ``scale``, ``threshold``, ``questions``, ``days``,
  ``collect_options`` ...), each raising ``Invalid`` naming its field;
- the rules between fields on a whole survey (``check_scoring``, ``check_presentation``,
  ``check_default_language``);
- ``problems``: every problem of a set of fields at once (the form shows each by its field);
- ``transient_survey``: an unsaved ``Survey`` with the fields applied, for a preview;
- the status actions (activate, close, reopen, archive, unarchive) and where each may start.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from cxpulse.metrics import Metric, Scale
from cxpulse.metrics.scales import DEFAULT_SCALE, ScaleError
from cxpulse.metrics.scales import check_scoring as check_metric_scoring
from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid
from cxpulse.store.models import PRESENTATIONS, SURVEY_STATUSES, Survey
from cxpulse.store.survey_options import OptionError, parse_options

MAX_NAME = 200
MAX_TOUCHPOINT = 100
MAX_LANGUAGE = 35
MAX_QUESTION = 2000
MAX_LANGUAGES = 100
SCALE_END_LIMIT = 1000
"""Scale ends lie in -1000..1000: no survey asks more, and the histograms stay small."""
THRESHOLD_LIMIT = 1000.0
MAX_THROTTLE_DAYS = 3650
MAX_REMINDER_DAYS = 365
QUESTION_FIELDS = ("question", "comment_prompt")
PRESENTATION_SCALES = {"stars": (1, 5), "emoji": (1, 5), "thumbs": (0, 1)}
"""The scale each presentation shows; numbers fit any scale."""
SCORING_FIELDS = frozenset({"metric", "scale_low", "scale_high", "top_min", "bottom_max"})
SETTING_FIELDS = (
    "name",
    "metric",
    "scale_low",
    "scale_high",
    "top_min",
    "bottom_max",
    "questions",
    "default_language",
    "touchpoint",
    "presentation",
    "collect_options",
    "throttle_days",
    "reminder_days",
)
"""What a survey is, beyond its slug and status: what a copy of it takes over."""

STATUS_ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "activate": (frozenset({"draft"}), "active"),
    "close": (frozenset({"active"}), "closed"),
    "reopen": (frozenset({"closed"}), "active"),
    "archive": (frozenset({"draft", "active", "closed"}), "archived"),
    "unarchive": (frozenset({"archived"}), "closed"),
}
"""Each action: the statuses it starts from and the one it leads to. An archived survey is
closed and hidden; taking it out of the archive leaves it closed, to be reopened on purpose."""


def metric(value: str) -> str:
    try:
        return Metric(value).value
    except ValueError:
        raise Invalid("metric", f"must be one of {', '.join(m.value for m in Metric)}") from None


def status(value: str) -> str:
    if value not in SURVEY_STATUSES:
        raise Invalid("status", f"must be one of {', '.join(SURVEY_STATUSES)}")
    return value


def _scale_end(field: str, value: int) -> int:
    if isinstance(value, bool) or not -SCALE_END_LIMIT <= int(value) <= SCALE_END_LIMIT:
        raise Invalid(field, f"must be a whole number from {-SCALE_END_LIMIT} to {SCALE_END_LIMIT}")
    return int(value)


def scale(metric_name: str, low: int | None, high: int | None) -> Scale:
    """The scale asked: each end the metric's usual one when not given."""
    default = DEFAULT_SCALE[Metric(metric_name)]
    low = default.low if low is None else _scale_end("scale_low", low)
    high = default.high if high is None else _scale_end("scale_high", high)
    try:
        return Scale(low, high)
    except ValueError as error:
        raise Invalid("scale", str(error)) from None


def threshold(field: str, value: float | None) -> float | None:
    """A band's edge, or None for the metric's default."""
    if value is None:
        return None
    if isinstance(value, bool) or not -THRESHOLD_LIMIT <= value <= THRESHOLD_LIMIT:
        raise Invalid(field, f"must be a number from {-THRESHOLD_LIMIT:g} to {THRESHOLD_LIMIT:g}")
    return float(value)


def questions(value: Mapping[str, Mapping[str, str]] | None) -> dict[str, dict[str, str]]:
    """``{language: {"question": ..., "comment_prompt": ...}}``, empty texts left out."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or len(value) > MAX_LANGUAGES:
        raise Invalid(
            "questions", f"must map at most {MAX_LANGUAGES} languages to their question texts"
        )
    result: dict[str, dict[str, str]] = {}
    for language, texts in value.items():
        lang = values.required_text("questions", language, MAX_LANGUAGE)
        if not isinstance(texts, Mapping):
            raise Invalid(f"questions.{lang}", "must be {question, comment_prompt}")
        unknown = set(texts) - set(QUESTION_FIELDS)
        if unknown:
            raise Invalid(f"questions.{lang}", f"unknown fields {sorted(unknown)}")
        entry: dict[str, str] = {}
        for field in QUESTION_FIELDS:
            text = values.text(f"questions.{lang}.{field}", texts.get(field), MAX_QUESTION)
            if text is not None:
                entry[field] = text
        result[lang] = entry
    return result


def collect_options(document: Mapping[str, Any] | None) -> dict[str, Any]:
    try:
        return parse_options(document).to_document()
    except OptionError as error:
        raise Invalid(f"collect_options.{error.field}", error.message) from None


def days(field: str, value: int | None, most: int) -> int | None:
    if value is not None and (isinstance(value, bool) or not 1 <= value <= most):
        raise Invalid(field, f"must be from 1 to {most} days, or null")
    return value


def presentation(value: str) -> str:
    if value not in PRESENTATIONS:
        raise Invalid("presentation", f"must be one of {', '.join(PRESENTATIONS)}")
    return value


def check_scoring(survey: Survey, *, settings_changed: bool = True) -> None:
    """Build the metric spec once, so a survey that cannot be scored is never stored.

    Scale and bands must also fit each other when they are set; a survey stored before that
    rule stays editable (a new name, a status) until its scoring settings change.
    """
    try:
        spec = survey.metric_spec()
        if settings_changed:
            own_bands = survey.top_min is not None and survey.bottom_max is not None
            check_metric_scoring(spec.metric, spec.scale, spec.thresholds, own_bands=own_bands)
    except ScaleError as error:
        raise Invalid(error.field, error.message) from None
    except ValueError as error:
        raise Invalid("scale", str(error)) from None


def check_presentation(survey: Survey) -> None:
    """Stars and emoji show 1-5, thumbs 0-1; numbers fit any scale."""
    presentation(survey.presentation)
    wanted = PRESENTATION_SCALES.get(survey.presentation)
    if wanted is not None and (survey.scale_low, survey.scale_high) != wanted:
        low, high = wanted
        raise Invalid(
            "presentation", f"{survey.presentation} show a {low}-{high} scale, not {survey.scale}"
        )


def check_default_language(survey: Survey) -> None:
    if survey.questions and survey.default_language not in survey.questions:
        raise Invalid(
            "default_language",
            f"{survey.default_language!r} has no question text; "
            f"languages given: {', '.join(sorted(survey.questions))}",
        )


def next_status(current: str, action: str) -> str:
    """The status ``action`` leads to from ``current``; ``Invalid`` when it cannot start there."""
    found = STATUS_ACTIONS.get(action)
    if found is None:
        raise Invalid("action", f"must be one of {', '.join(STATUS_ACTIONS)}")
    starts, target = found
    if current not in starts:
        raise Invalid("status", f"a survey that is {current} cannot be {action}d")
    return target


_FieldCheck = Callable[[Any], Any]
_SINGLE_CHECKS: dict[str, _FieldCheck] = {
    "slug": lambda v: values.slug("slug", v),
    "name": lambda v: values.required_text("name", v, MAX_NAME),
    "metric": metric,
    "scale_low": lambda v: None if v is None else _scale_end("scale_low", v),
    "scale_high": lambda v: None if v is None else _scale_end("scale_high", v),
    "top_min": lambda v: threshold("top_min", v),
    "bottom_max": lambda v: threshold("bottom_max", v),
    "questions": questions,
    "default_language": lambda v: values.required_text("default_language", v, MAX_LANGUAGE),
    "touchpoint": lambda v: values.text("touchpoint", v, MAX_TOUCHPOINT),
    "status": status,
    "presentation": presentation,
    "collect_options": collect_options,
    "throttle_days": lambda v: days("throttle_days", v, MAX_THROTTLE_DAYS),
    "reminder_days": lambda v: days("reminder_days", v, MAX_REMINDER_DAYS),
}


def transient_survey(
    organisation_id: int, fields: Mapping[str, Any], base: Survey | None = None
) -> Survey:
    """An unsaved survey: ``base``'s settings (when given) with ``fields`` applied, each field
    cleaned by its rule. Never added to a session: a preview stores nothing. Raises
    ``Invalid`` for the first field that breaks its rule."""
    start: dict[str, Any] = {
        "slug": "preview",
        "name": "Preview",
        "metric": "csat",
        "top_min": None,
        "bottom_max": None,
        "questions": {},
        "default_language": "en",
        "touchpoint": None,
        "status": "draft",
        "presentation": "numbers",
        "collect_options": {},
        "throttle_days": None,
        "reminder_days": None,
    }
    if base is not None:
        start |= {field: copy.deepcopy(getattr(base, field)) for field in SETTING_FIELDS}
        start |= {"slug": base.slug, "status": base.status}
    merged = start | dict(fields)
    cleaned = {
        name: _SINGLE_CHECKS[name](value)
        for name, value in merged.items()
        if name in _SINGLE_CHECKS and name not in ("scale_low", "scale_high")
    }
    chosen = scale(cleaned["metric"], merged.get("scale_low"), merged.get("scale_high"))
    return Survey(
        id=base.id if base is not None else None,
        organisation_id=organisation_id,
        scale_low=chosen.low,
        scale_high=chosen.high,
        **cleaned,
    )


def problems(
    organisation_id: int,
    fields: Mapping[str, Any],
    base: Survey | None = None,
    *,
    between_fields: bool = True,
) -> dict[str, str]:
    """Every problem of ``fields`` (``{field: message}``), the first one per field: each
    field by its own rule, then, when those pass, the rules between fields on the survey
    the fields would make (unless ``between_fields`` is false: some other field could not
    be read). Empty when the survey may be stored (a slug taken, or a scale
    changed under stored answers, are found by the store when it writes)."""
    found: dict[str, str] = {}
    for name, value in fields.items():
        check = _SINGLE_CHECKS.get(name)
        if check is None:
            continue
        parts = [value]
        if name == "collect_options" and isinstance(value, Mapping):
            # Each option alone too: the options do not depend on each other, and a form
            # shows every refused one at once rather than the first.
            parts = [{key: option} for key, option in value.items()] + [value]
        for part in parts:
            try:
                check(part)
            except Invalid as error:
                found.setdefault(error.field, error.message)
    if found or not between_fields:
        return found
    try:
        survey = transient_survey(organisation_id, fields, base)
    except Invalid as error:
        return {error.field: error.message}
    scoring_changed = base is None or not SCORING_FIELDS.isdisjoint(fields)
    combined: list[Callable[[], None]] = [
        lambda: check_scoring(survey, settings_changed=scoring_changed),
        lambda: check_presentation(survey),
        lambda: check_default_language(survey),
    ]
    for check_whole in combined:
        try:
            check_whole()
        except Invalid as error:
            found.setdefault(error.field, error.message)
    return found


def changed_fields(survey: Survey, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a whole form that differ from ``survey``: a form sends every field, and
    a survey stored before a scoring rule stays editable (a new name) while its scoring
    settings are left as they are. Blank scale ends mean the metric's usual ones."""
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if name in ("scale_low", "scale_high"):
            continue
        current = getattr(survey, name)
        if name == "collect_options":
            try:
                same = collect_options(value) == collect_options(current)
            except Invalid:
                same = False
        else:
            same = current == value
        if not same:
            changes[name] = value
    if "scale_low" in fields or "scale_high" in fields:
        try:
            wanted = scale(
                str(fields.get("metric", survey.metric)),
                fields.get("scale_low"),
                fields.get("scale_high"),
            )
        except Invalid:
            wanted = None
        if wanted != survey.scale:
            changes["scale_low"] = fields.get("scale_low")
            changes["scale_high"] = fields.get("scale_high")
    return changes
