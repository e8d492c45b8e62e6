"""The questions page's form (``web/routes/follow_up_pages.py``): what it shows for a
question, what a posted form says as the document ``collect.follow_ups`` checks, and each
problem's field on the form.

Form fields: ``kind``, ``key``, ``label_<language>`` per survey language, ``scale_low`` and
``scale_high`` (ratings), and rows of choices ``choice_<n>_key`` with
``choice_<n>_label_<language>`` (blank rows are skipped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from cxpulse import i18n
from cxpulse.collect.follow_ups import DEFAULT_SCALE, MAX_CHOICES, Problem
from cxpulse.store.models import Survey, SurveyQuestion

CHOICE_ROWS = 4
"""Empty choice rows a new question's form offers (more after saving, up to the limit)."""


def survey_languages(survey: Survey, questions: Sequence[SurveyQuestion] = ()) -> list[str]:
    """The languages a question's labels are asked in: the survey's default, those of its
    question texts and of labels already written, among the languages of the pages."""
    found: list[str] = []
    candidates = [survey.default_language, *(survey.questions or {})]
    for question in questions:
        candidates += list(question.labels or {})
    for code in candidates:
        if code in i18n.LANGUAGES and code not in found:
            found.append(code)
    return found or [i18n.DEFAULT_LANGUAGE]


@dataclass
class Posted:
    """A posted question form: the document to check, and where each choice row went."""

    document: dict[str, Any]
    rows: list[int]
    """The form row of each choice of ``document["choices"]``."""


def _number(text: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text  # refused by the rule, with its words


def read_form(form: FormData, languages: Sequence[str]) -> Posted:
    def get(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    kind = get("kind")
    document: dict[str, Any] = {
        "kind": kind,
        "key": get("key").strip(),
        "labels": {lang: get(f"label_{lang}") for lang in languages},
    }
    rows: list[int] = []
    if kind == "rating":
        document["scale_low"] = _number(get("scale_low"))
        document["scale_high"] = _number(get("scale_high"))
    if kind == "choice":
        choices = []
        for row in range(MAX_CHOICES):
            key = get(f"choice_{row}_key").strip()
            labels = {lang: get(f"choice_{row}_label_{lang}") for lang in languages}
            if not key and not any(text.strip() for text in labels.values()):
                continue
            choices.append({"key": key, "labels": labels})
            rows.append(row)
        document["choices"] = choices
    return Posted(document, rows)


def form_field(problem_field: str, rows: Sequence[int], default_language: str) -> str:
    """The form field a problem of ``collect.follow_ups`` is about: ``labels.sv`` is
    ``label_sv``, ``choices.1.key`` is ``choice_<row>_key``."""
    parts = problem_field.split(".")
    if parts[0] == "labels":
        return f"label_{parts[1]}" if len(parts) > 1 else f"label_{default_language}"
    if parts[0] == "choices" and len(parts) > 1 and parts[1].isdigit():
        index = int(parts[1])
        row = rows[index] if index < len(rows) else index
        if len(parts) == 2 or parts[2] == "key":
            return f"choice_{row}_key"
        language = parts[3] if len(parts) > 3 else default_language
        return f"choice_{row}_label_{language}"
    return parts[0]


def errors_by_field(
    problems: Sequence[Problem], rows: Sequence[int], default_language: str
) -> dict[str, str]:
    found: dict[str, str] = {}
    for problem in problems:
        found.setdefault(form_field(problem.field, rows, default_language), problem.text)
    return found


def values_of(question: SurveyQuestion | None, languages: Sequence[str]) -> dict[str, Any]:
    """The form's values for ``question`` (a new rating question when None)."""
    labels: Mapping[str, Any] = question.labels if question is not None else {}
    values: dict[str, Any] = {
        "kind": question.kind if question is not None else "rating",
        "key": question.key if question is not None else "",
        "scale_low": str(
            question.scale_low if question and question.scale_low is not None else DEFAULT_SCALE[0]
        ),
        "scale_high": str(
            question.scale_high
            if question and question.scale_high is not None
            else DEFAULT_SCALE[1]
        ),
    }
    for lang in languages:
        values[f"label_{lang}"] = labels.get(lang, "")
    choices = list(question.choices or []) if question is not None else []
    for row, choice in enumerate(choices[:MAX_CHOICES]):
        values[f"choice_{row}_key"] = choice.get("key", "")
        for lang in languages:
            values[f"choice_{row}_label_{lang}"] = (choice.get("labels") or {}).get(lang, "")
    values["choice_rows"] = min(MAX_CHOICES, max(CHOICE_ROWS, len(choices) + 2))
    return values


def posted_values(form: FormData, languages: Sequence[str]) -> dict[str, Any]:
    """What was typed, to show it again with the messages."""
    values: dict[str, Any] = {
        name: value for name, value in form.multi_items() if isinstance(value, str)
    }
    values.setdefault("kind", "rating")
    values.setdefault("key", "")  # a form sent without it is refused by its field, not a 500
    used = [
        row
        for row in range(MAX_CHOICES)
        if any(
            str(values.get(f"choice_{row}_{part}", "")).strip()
            for part in ["key"] + [f"label_{lang}" for lang in languages]
        )
    ]
    values["choice_rows"] = min(MAX_CHOICES, max(CHOICE_ROWS, (max(used) + 2) if used else 0))
    return values
