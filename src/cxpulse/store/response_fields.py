"""The fields of a response as imports and exports name them: the one list of them.

``FIELDS`` holds one ``ResponseField`` per column of a response that a file can hold, in the
order exports write them; every door derives its own list from it:

- ``EXPORT_COLUMNS``: the header of an export (CSV, XLSX, Parquet), before one
  ``property.NAME`` column per property;
- ``MAPPED_FIELDS``: what an import mapping (``--map FIELD=COLUMN``, the import page) may
  map a file column to, besides ``property.NAME``; ``score`` is required;
- ``ROW_FIELDS``: what the rows handed to the bulk writer may carry; ``score`` and
  ``idempotency_key`` are required.

Two names differ between the doors: the contact is ``contact_id`` in exports (the
database id) and ``contact`` in imports (the contact's external id); an export's ``id``
mapped back in on import becomes the idempotency key, so re-importing an export adds
nothing. Properties are one column per name in both directions (``property.NAME``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class ResponseField:
    column: str
    """Its column in the ``responses`` table, and its header in exports."""
    exported: bool = True
    """Whether exports give it a column of its own (properties get one per name instead)."""
    mapped_as: str | None = None
    """Its name in an import mapping, or None when no column of a file maps to it."""
    in_rows: bool = False
    """Whether the rows of a bulk import carry it (under ``name``)."""
    required: bool = False
    """Whether every imported response has it (the mapping or the rows must give it)."""

    @property
    def name(self) -> str:
        """What imports call it: its mapping name, else its column."""
        return self.mapped_as or self.column


FIELDS: Final = (
    ResponseField("id", mapped_as="id"),
    ResponseField("survey_id"),
    ResponseField("submitted_at", mapped_as="submitted_at", in_rows=True),
    ResponseField("received_at"),
    ResponseField("score", mapped_as="score", in_rows=True, required=True),
    ResponseField("comment", mapped_as="comment", in_rows=True),
    ResponseField("language", mapped_as="language", in_rows=True),
    ResponseField("channel", mapped_as="channel", in_rows=True),
    ResponseField("touchpoint", mapped_as="touchpoint", in_rows=True),
    ResponseField("source"),
    ResponseField("contact_id", mapped_as="contact", in_rows=True),
    ResponseField("idempotency_key", in_rows=True, required=True),
    # Asked on the survey page after a low score (true/false), null where it was not asked.
    ResponseField("contact_consent"),
    ResponseField("properties", exported=False, in_rows=True),
)

PROPERTY_PREFIX: Final = "property."
"""Before a property's name, in export headers and in import mappings."""

# The order import messages and help list the mapping fields in (``--map`` help, "unknown
# field" errors): required first, then as users have read it since the first importer.
_MAPPING_ORDER: Final = (
    "score",
    "submitted_at",
    "comment",
    "channel",
    "language",
    "touchpoint",
    "contact",
    "id",
)


def _mapped_fields() -> tuple[str, ...]:
    names = {field.mapped_as for field in FIELDS if field.mapped_as is not None}
    if names != set(_MAPPING_ORDER):
        # A field added to FIELDS (or removed) must be placed in the mapping order too.
        raise RuntimeError(f"mapping order {_MAPPING_ORDER} does not list {sorted(names)}")
    return _MAPPING_ORDER


EXPORT_COLUMNS: Final = tuple(field.column for field in FIELDS if field.exported)
MAPPED_FIELDS: Final = _mapped_fields()
REQUIRED_MAPPED: Final = tuple(
    name for name in MAPPED_FIELDS if any(f.mapped_as == name and f.required for f in FIELDS)
)
ROW_FIELDS: Final[Mapping[str, ResponseField]] = {
    field.name: field for field in FIELDS if field.in_rows
}
REQUIRED_IN_ROWS: Final = tuple(name for name, field in ROW_FIELDS.items() if field.required)
