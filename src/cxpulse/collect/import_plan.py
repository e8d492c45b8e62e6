"""Which column of the file feeds which response field, and where each is checked.

A preset finds its columns by name, ``--map FIELD=COLUMN`` adds or overrides (an empty column
unmaps), and the score column is required. Each mapped field gets a slot in the staging
table: ``r_<name>`` holds its raw text, ``e_<name>`` its problem.
"""

from __future__ import annotations

from dataclasses import dataclass

from cxpulse.collect.import_options import ImportOptions
from cxpulse.collect.import_results import ImportInputError
from cxpulse.collect.mapping import PROPERTY_PREFIX
from cxpulse.collect.presets import Preset, find_columns
from cxpulse.engine import Source, resolve_column

__all__ = ["TEXT_FIELDS", "Plan", "Slot", "plan_columns"]

TEXT_FIELDS = ("comment", "language", "channel", "touchpoint", "contact")
"""Fields stored as text, in the order their problems are listed."""


@dataclass(frozen=True)
class Slot:
    """A mapped field in the staging table: ``r_<name>`` raw text, ``e_<name>`` its problem."""

    field: str
    column: str
    name: str


@dataclass
class Plan:
    columns: dict[str, str]
    """Field (``property.x`` included) -> column."""
    slots: list[Slot]
    """Checked fields, in the order their problems are listed."""
    key: str
    """How idempotency keys are made: ``column '<name>'`` or ``content hash``."""
    preset: Preset | None

    def slot(self, name: str) -> Slot | None:
        return next((slot for slot in self.slots if slot.name == name), None)

    @property
    def properties(self) -> list[Slot]:
        return [slot for slot in self.slots if slot.field.startswith(PROPERTY_PREFIX)]


def _show_columns(names: list[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:60])
    return shown + (f", ... ({len(names) - 60} more)" if len(names) > 60 else "")


def plan_columns(source: Source, preset: Preset | None, options: ImportOptions) -> Plan:
    """The fields of ``source`` to read, from the preset and the mapping."""
    names = list(source.columns)
    found = find_columns(preset, names) if preset is not None else {}
    for field_name, column in options.mapping.items():
        if not column:
            found.pop(field_name, None)
            continue
        found[field_name] = resolve_column(source, column, field_name)
    if "score" not in found:
        hint = f" ({preset.score_hint})" if preset is not None else ""
        raise ImportInputError(
            f"no score column: map one with --map score=COLUMN{hint}. "
            f"{source.name} has the columns: {_show_columns(names)}"
        )
    slots = [Slot("score", found["score"], "score")]
    if "submitted_at" in found:
        slots.append(Slot("submitted_at", found["submitted_at"], "date"))
    slots += [Slot(name, found[name], name) for name in TEXT_FIELDS if name in found]
    properties = sorted(name for name in found if name.startswith(PROPERTY_PREFIX))
    slots += [Slot(name, found[name], f"p{i}") for i, name in enumerate(properties)]
    key = f"column {found['id']!r}" if "id" in found else "content hash"
    return Plan(found, slots, key, preset)
