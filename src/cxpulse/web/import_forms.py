"""The mapping form of the import pages: its fields, read into import options or problems.

The same form is read from a preview's query string (GET, changes nothing) and from the
import's post; each problem is keyed by the field it belongs to, so that the page shows it
next to that field. Column choices must be columns of the uploaded file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cxpulse.collect.mapping import MAX_PROPERTIES, PROPERTY_PREFIX, MappingError, canonical_field
from cxpulse.collect.presets import PRESETS
from cxpulse.engine.encoding import EncodingProblem, check_encoding_name
from cxpulse.store._values import MAX_KEY_LENGTH
from cxpulse.web.form_values import sheet_value

__all__ = [
    "AUTO",
    "FIELD_LABELS",
    "NONE",
    "MappingForm",
    "property_name",
    "read_mapping",
]

AUTO = ""
"""A field's choice "as the preset finds it" (nothing, without a preset)."""
NONE = "-"
"""A field's choice "not imported", also when the preset would map it."""

FIELD_LABELS: dict[str, tuple[str, str]] = {
    "score": ("Score", "Required: whole numbers on the survey's scale."),
    "submitted_at": ("Submitted at", "When the answer was given; without it, the import time."),
    "comment": ("Comment", ""),
    "channel": ("Channel", "Such as email, chat, phone."),
    "touchpoint": ("Touchpoint", "Default: the survey's touchpoint."),
    "language": ("Language", "Such as en, de, pt-BR."),
    "contact": ("Contact (id or email)", "Creates the contact when it is new."),
    "id": ("Response id", "Makes a second import of the same file add nothing."),
}
"""Mappable fields (``response_fields.MAPPED_FIELDS``): label and help."""

_LIMITS = {"date_format": 100, "timezone": 64, "sheet": 100, "encoding": 40}


def property_name(column: str) -> str:
    """The property a column is kept as: its name in lower case, runs of spaces as ``_``."""
    return re.sub(r"\s+", "_", column.strip().lower())[:MAX_KEY_LENGTH]


@dataclass
class MappingForm:
    """The form's values as given (to show again) and what they mean."""

    preset: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    """Field -> ``AUTO``, ``NONE`` or a column of the file."""
    properties: list[str] = field(default_factory=list)
    """Columns kept as properties."""
    date_format: str = ""
    timezone: str = ""
    sheet: str = ""
    encoding: str = ""
    skip_invalid: bool = True
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def mapping(self) -> dict[str, str]:
        """Field -> column for ``ImportOptions.mapping`` (``""`` unmaps a preset's choice)."""
        chosen = {
            name: ("" if value == NONE else value)
            for name, value in self.fields.items()
            if value != AUTO
        }
        for column in self.properties:
            chosen[PROPERTY_PREFIX + property_name(column)] = column
        return chosen

    @property
    def sheet_choice(self) -> int | str | None:
        text = self.sheet.strip()
        if not text:
            return None
        return sheet_value(text)

    def query(self) -> list[tuple[str, str]]:
        """The form as query parameters or hidden fields (the import step posts them back)."""
        pairs = [("preset", self.preset)]
        pairs += [(f"map_{name}", value) for name, value in self.fields.items()]
        pairs += [("property", column) for column in self.properties]
        pairs += [
            ("date_format", self.date_format),
            ("timezone", self.timezone),
            ("sheet", self.sheet),
            ("encoding", self.encoding),
        ]
        return pairs


def _one(values: Mapping[str, Sequence[str]], name: str) -> str:
    found = values.get(name) or [""]
    return found[-1].strip()


def read_mapping(
    values: Mapping[str, Sequence[str]], columns: Sequence[str], *, posted: bool = False
) -> MappingForm:
    """The mapping form from its values (each name -> its values); ``errors`` holds the
    problems by field. ``posted``: read ``skip_invalid`` (a checkbox: absent means off)."""
    known = set(columns)
    form = MappingForm(preset=_one(values, "preset").lower())
    if form.preset and form.preset not in PRESETS:
        form.errors["preset"] = f"choose one of {', '.join(PRESETS)}, or none"
    for name in FIELD_LABELS:
        chosen = (values.get(f"map_{name}") or [AUTO])[-1]
        form.fields[name] = chosen
        if chosen not in (AUTO, NONE) and chosen not in known:
            form.errors[name] = "is not a column of the file: choose one from the list"
    if not form.preset and form.fields["score"] in (AUTO, NONE):
        form.errors["score"] = "choose the column that holds the score, or a preset"
    form.properties = [column for column in dict.fromkeys(values.get("property") or [])]
    unknown = [column for column in form.properties if column not in known]
    if unknown:
        form.errors["properties"] = f"{unknown[0][:80]!r} is not a column of the file"
    elif len(form.properties) > MAX_PROPERTIES:
        form.errors["properties"] = f"choose at most {MAX_PROPERTIES} columns"
    else:
        for column in form.properties:
            try:
                canonical_field(PROPERTY_PREFIX + property_name(column))
            except MappingError as error:
                form.errors["properties"] = str(error)
                break
    for name, limit in _LIMITS.items():
        text = _one(values, name)
        setattr(form, name, text[:limit])
        if len(text) > limit:
            form.errors[name] = f"is {len(text)} characters long; at most {limit} are allowed"
    if form.encoding and "encoding" not in form.errors:
        try:
            check_encoding_name(form.encoding)
        except EncodingProblem as problem:
            form.errors["encoding"] = str(problem)
    if posted:
        form.skip_invalid = _one(values, "skip_invalid") == "on"
    return form


def problem_field(message: str) -> str:
    """The form field an import's problem belongs to, from its words (``file`` when none)."""
    lowered = message.lower()
    for words, name in (
        ("no score column", "score"),
        ("score column", "score"),
        ("date format", "date_format"),
        ("time zone", "timezone"),
        ("sheet", "sheet"),
        ("encoding", "encoding"),
    ):
        if words in lowered:
            return name
    return "file"
