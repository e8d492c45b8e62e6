"""Which column of a file holds which field of a response: ``--map score=Rating,comment=Why``.

Fields: ``score`` (required), ``submitted_at`` (alias ``date``), ``comment``, ``channel``,
``language``, ``touchpoint``, ``contact`` (the contact's external id), ``id`` (the export's
response id, which makes re-imports idempotent) and ``property.NAME`` for any segment
(``property.agent=Assignee``).

Column names may contain commas (survey exports name columns after the question): a comma
only separates two entries when what follows it is ``FIELD=``. ``--map`` may also be given
several times. An empty column (``channel=``) drops a field a preset would otherwise map.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from cxpulse.store import response_fields
from cxpulse.store._values import MAX_KEY_LENGTH, name_problem

FIELDS = response_fields.MAPPED_FIELDS
"""Fields a column can be mapped to, besides ``property.NAME`` (``store.response_fields``)."""

ALIASES = {"date": "submitted_at", "response_id": "id", "contact_id": "contact"}
PROPERTY_PREFIX = response_fields.PROPERTY_PREFIX
MAX_PROPERTIES = 50
MAX_PROPERTY_NAME = MAX_KEY_LENGTH

_FIELD_NAMES = "|".join(re.escape(name) for name in (*FIELDS, *ALIASES))
_SPLIT = re.compile(rf",(?=\s*(?:{_FIELD_NAMES}|property\.[^=,]+)\s*=)")


class MappingError(ValueError):
    """A ``--map`` entry cannot be understood; the message says how to write it."""


def field_help() -> str:
    return ", ".join([*FIELDS, "property.NAME"])


def canonical_field(name: str) -> str:
    """The field a name stands for (aliases resolved), or MappingError."""
    field = name.strip()
    field = ALIASES.get(field, field)
    if field in FIELDS:
        return field
    if field.startswith(PROPERTY_PREFIX):
        prop = field[len(PROPERTY_PREFIX) :].strip()
        # The one rule of property names, as the API and the widget apply it.
        problem = name_problem(prop)
        if problem is not None:
            raise MappingError(f"the property name {prop[:80]!r} {problem}")
        return PROPERTY_PREFIX + prop
    raise MappingError(f"unknown field {name.strip()!r}: the fields are {field_help()}")


def parse_map(texts: Iterable[str]) -> dict[str, str]:
    """``{field: column}`` from ``--map`` values; a column of ``""`` means "do not map"."""
    mapping: dict[str, str] = {}
    for text in texts:
        if not text.strip():
            continue
        for entry in _SPLIT.split(text):
            name, sep, column = entry.partition("=")
            if not sep or not name.strip():
                raise MappingError(
                    f"--map entry {entry.strip()!r} is not FIELD=COLUMN "
                    "(such as score=Rating,comment=Comment)"
                )
            field = canonical_field(name)
            if field in mapping:
                raise MappingError(f"field {field!r} is mapped twice")
            mapping[field] = column.strip()
    check_properties(mapping)
    return mapping


def check_properties(mapping: dict[str, str]) -> None:
    count = sum(1 for field in mapping if field.startswith(PROPERTY_PREFIX))
    if count > MAX_PROPERTIES:
        raise MappingError(f"at most {MAX_PROPERTIES} properties can be mapped, got {count}")
