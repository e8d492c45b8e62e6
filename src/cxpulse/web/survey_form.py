"""The survey builder's form (``/app/surveys/new``, ``/app/surveys/{id}/edit``): a survey as
the form's text values, and a posted form back as the fields of ``store.surveys``.

The form only parses (a number that is not one, lines into lists); every rule of a survey is
``store.survey_rules``', the same as the API's, and a message of the rules is put by its
form field with ``form_field``. Texts left empty mean the default: the default question,
comment prompt and thank-you in each language are shown as placeholders
(``language_rows``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cxpulse import i18n
from cxpulse.collect import questions as wording
from cxpulse.metrics import Metric
from cxpulse.metrics.scales import DEFAULT_SCALE, SUPPORTED_SCALES
from cxpulse.store.models import Survey
from cxpulse.store.survey_options import (
    DEFAULT_LINK_DAYS,
    THANKS_BANDS,
    CollectOptions,
    OptionError,
    parse_options,
)

TEXT_FIELDS = (
    "name",
    "slug",
    "metric",
    "presentation",
    "default_language",
    "touchpoint",
    "review_url",
    "referral_url",
)
WHOLE_NUMBERS = ("scale_low", "scale_high", "throttle_days", "reminder_days", "link_days")
DECIMALS = ("top_min", "bottom_max")
SWITCHES = ("comment", "contact_consent", "track_opens")
LIST_FIELDS = ("reasons", "allowed_origins")
METRIC_NAMES = {
    "csat": "CSAT: share of satisfied answers",
    "dsat": "DSAT: share of dissatisfied answers",
    "nps": "NPS: promoters minus detractors",
    "ces": "CES: customer effort (mean)",
    "mean": "Mean of the answers",
}
PRESENTATION_NAMES = {
    "numbers": "Numbers (any scale)",
    "stars": "Stars (scale 1-5)",
    "emoji": "Faces (scale 1-5)",
    "thumbs": "Thumbs up or down (scale 0-1)",
}
BAND_NAMES = {"low": "After a low score", "middle": "In between", "high": "After a top score"}


@dataclass
class Posted:
    """A posted form: the store's ``fields``, the ``values`` typed (to show again) and the
    ``problems`` found while parsing, by form field."""

    fields: dict[str, Any]
    values: dict[str, Any]
    problems: dict[str, str] = field(default_factory=dict)


def languages_of(survey: Survey | None, extra: Sequence[str] = ()) -> list[str]:
    """The languages the form offers: cxpulse's, then any other the survey has texts in."""
    found = list(i18n.LANGUAGES)
    others: list[str] = list(extra)
    if survey is not None:
        others += list(survey.questions or {})
        options = _options(survey)
        others += list(options.thanks) + list(options.reasons_i18n)
    for code in others:
        if code not in found:
            found.append(code)
    return found


def _options(survey: Survey) -> CollectOptions:
    try:
        return parse_options(survey.collect_options)
    except OptionError:
        return CollectOptions()


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


def form_values(survey: Survey | None) -> dict[str, Any]:
    """The form's values for ``survey``, or for a new survey."""
    if survey is None:
        blank: dict[str, Any] = {name: "" for name in (*TEXT_FIELDS, *WHOLE_NUMBERS, *DECIMALS)}
        blank |= {
            "metric": "csat",
            "presentation": "numbers",
            "default_language": i18n.DEFAULT_LANGUAGE,
            "link_days": str(DEFAULT_LINK_DAYS),
            "comment": True,
            "contact_consent": True,
            "track_opens": False,
            "reasons": "",
            "allowed_origins": "",
            "languages": list(i18n.LANGUAGES),
        }
        return blank
    options = _options(survey)
    found: dict[str, Any] = {
        "name": survey.name,
        "slug": survey.slug,
        "metric": survey.metric,
        "presentation": survey.presentation,
        "default_language": survey.default_language,
        "touchpoint": survey.touchpoint or "",
        "review_url": options.review_url or "",
        "referral_url": options.referral_url or "",
        "scale_low": str(survey.scale_low),
        "scale_high": str(survey.scale_high),
        "throttle_days": "" if survey.throttle_days is None else str(survey.throttle_days),
        "reminder_days": "" if survey.reminder_days is None else str(survey.reminder_days),
        "link_days": str(options.link_days),
        "top_min": _number(survey.top_min),
        "bottom_max": _number(survey.bottom_max),
        "comment": options.comment,
        "contact_consent": options.contact_consent,
        "track_opens": options.track_opens,
        "reasons": "\n".join(options.reasons),
        "allowed_origins": "\n".join(options.allowed_origins),
        "languages": languages_of(survey),
    }
    for code in found["languages"]:
        texts = (survey.questions or {}).get(code) or {}
        found[f"question_{code}"] = texts.get("question", "")
        found[f"comment_prompt_{code}"] = texts.get("comment_prompt", "")
        found[f"reasons_{code}"] = "\n".join(options.reasons_i18n.get(code, ()))
        for band in THANKS_BANDS:
            found[f"thanks_{code}_{band}"] = options.thanks.get(code, {}).get(band, "")
    return found


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _last(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def parse(form: Any) -> Posted:
    """The store's fields from a posted form (``FormData``: ``get`` and ``getlist``)."""
    extra = [code for code in form.getlist("extra_language") if isinstance(code, str) and code]
    languages = languages_of(None, extra)
    values: dict[str, Any] = {name: _last(form, name).strip() for name in TEXT_FIELDS}
    values |= {name: _last(form, name).strip() for name in (*WHOLE_NUMBERS, *DECIMALS)}
    values |= {name: _last(form, name) for name in LIST_FIELDS}
    values |= {name: _last(form, name) == "on" for name in SWITCHES}
    values["languages"] = languages
    problems: dict[str, str] = {}
    numbers: dict[str, Any] = {}
    for name in WHOLE_NUMBERS:
        text = values[name]
        try:
            numbers[name] = int(text) if text else None
        except ValueError:
            problems[name] = "must be a whole number"
    for name in DECIMALS:
        text = values[name]
        try:
            number = float(text.replace(",", ".")) if text else None
        except ValueError:
            number = math.nan
        if number is not None and not math.isfinite(number):
            problems[name] = "must be a number, such as 4 or 8.5"
        else:
            numbers[name] = number
    questions: dict[str, dict[str, str]] = {}
    reasons_i18n: dict[str, list[str]] = {}
    thanks: dict[str, dict[str, str]] = {}
    for code in languages:
        texts = {
            key: _last(form, f"{key}_{code}").strip() for key in ("question", "comment_prompt")
        }
        values[f"question_{code}"] = texts["question"]
        values[f"comment_prompt_{code}"] = texts["comment_prompt"]
        written = {key: text for key, text in texts.items() if text}
        if written:
            questions[code] = written
        values[f"reasons_{code}"] = _last(form, f"reasons_{code}")
        translated = _lines(values[f"reasons_{code}"])
        if translated:
            reasons_i18n[code] = translated
        for band in THANKS_BANDS:
            text = _last(form, f"thanks_{code}_{band}").strip()
            values[f"thanks_{code}_{band}"] = text
            if text:
                thanks.setdefault(code, {})[band] = text
    options: dict[str, Any] = {
        "comment": values["comment"],
        "contact_consent": values["contact_consent"],
        "track_opens": values["track_opens"],
        "reasons": _lines(values["reasons"]),
        "reasons_i18n": reasons_i18n,
        "review_url": values["review_url"] or None,
        "referral_url": values["referral_url"] or None,
        "allowed_origins": _lines(values["allowed_origins"].replace(",", "\n")),
        "thanks": thanks,
    }
    link_days = numbers.get("link_days")
    options["link_days"] = DEFAULT_LINK_DAYS if link_days is None else link_days
    fields: dict[str, Any] = {
        "name": values["name"],
        "slug": values["slug"],
        "metric": values["metric"],
        "presentation": values["presentation"],
        "default_language": values["default_language"],
        "touchpoint": values["touchpoint"] or None,
        "questions": questions,
        "collect_options": options,
    }
    fields |= {name: numbers[name] for name in (*DECIMALS, *WHOLE_NUMBERS[:4]) if name in numbers}
    return Posted(fields, values, problems)


def form_field(store_field: str) -> str:
    """The form field a message of ``store.survey_rules`` belongs by."""
    parts = store_field.split(".")
    if parts[0] == "questions" and len(parts) >= 2:
        key = parts[2] if len(parts) > 2 else "question"
        return f"{key}_{parts[1]}"
    if parts[0] == "collect_options" and len(parts) >= 2:
        option = parts[1]
        if option == "reasons_i18n":
            return f"reasons_{parts[2]}" if len(parts) > 2 else "reasons"
        if option == "thanks":
            return f"thanks_{parts[2]}_{parts[3]}" if len(parts) > 3 else "thanks"
        return option
    return store_field


@dataclass(frozen=True)
class LanguageRow:
    """One language of the form, with the defaults its empty fields stand for."""

    code: str
    name: str
    question: str
    comment_prompt: str
    thanks: dict[str, str]
    written: bool
    """Whether the survey has any text of its own in this language (opened at first)."""


def language_rows(values: Mapping[str, Any], organisation: str) -> list[LanguageRow]:
    metric = values.get("metric") if values.get("metric") in set(Metric) else "csat"
    rows = []
    for code in values["languages"]:
        spoken = code if code in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
        gettext = i18n.gettext_for(wording.PAGES, spoken)[0]
        keys = [f"question_{code}", f"comment_prompt_{code}", f"reasons_{code}"]
        keys += [f"thanks_{code}_{band}" for band in THANKS_BANDS]
        rows.append(
            LanguageRow(
                code=code,
                name=i18n.LANGUAGE_NAMES.get(code, code),
                question=wording.default_question(str(metric), spoken, organisation),
                comment_prompt=gettext(wording.COMMENT_PROMPT),
                thanks={
                    band: gettext(wording.DEFAULT_THANKS[band]) % {"organisation": organisation}
                    for band in THANKS_BANDS
                },
                written=any(values.get(key) for key in keys),
            )
        )
    return rows


def scale_help() -> list[str]:
    """The scales each metric is asked on, for the form's help text."""
    lines = []
    for metric in Metric:
        usual = DEFAULT_SCALE[metric]
        supported = SUPPORTED_SCALES.get(metric)
        listed = ", ".join(supported) if supported else "any scale"
        lines.append(f"{metric.value.upper()}: usually {usual}; asked on {listed}")
    return lines
