"""The browser import's column mapping: what each column of a contacts file becomes
(email, name, external id, phone, language, an attribute, or nothing), with a guess from
its heading, and the choices checked before any row is read.

Targets are those of ``collect.contacts_csv`` (``email``, ``attribute:plan``, ``""`` to
ignore), so that a mapped file goes through the same row rules and the same writer as
``cxpulse contacts import`` and the API.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cxpulse.collect.contacts_csv import (
    ATTRIBUTE,
    IGNORE,
    Table,
    TargetProblem,
    target_problems,
)
from cxpulse.store._values import name_problem

__all__ = ["FIELD_LABELS", "PREVIEW_ROWS", "Column", "columns", "guess", "read_choices"]

PREVIEW_ROWS = 10
FIELD_LABELS = {
    "email": "Email",
    "name": "Name",
    "external_id": "External id",
    "phone": "Phone",
    "locale": "Language",
}
# Headings seen in CRM, shop and helpdesk exports, folded (lower case, letters and digits).
_SYNONYMS = {
    "email": {"email", "emailaddress", "mail", "epost", "correo", "courriel", "eaddress"},
    "name": {"name", "fullname", "customername", "contactname", "customer", "contact", "namn"},
    "external_id": {
        "externalid",
        "id",
        "customerid",
        "contactid",
        "crmid",
        "clientid",
        "userid",
        "accountid",
        "memberid",
    },
    "phone": {"phone", "phonenumber", "mobile", "mobilephone", "cell", "telephone", "tel"},
    "locale": {"locale", "language", "lang", "languagecode", "sprak"},
}


def _fold(heading: str) -> str:
    plain = unicodedata.normalize("NFKD", heading.casefold())
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in plain if not unicodedata.combining(c)))


def guess(heading: str, taken: Iterable[str] = ()) -> str:
    """The target a column's heading suggests: a field by its usual names, else an
    attribute of the heading's name (ignored when the name breaks the rule of names, or
    the field is ``taken`` by an earlier column)."""
    folded = _fold(heading)
    used = set(taken)
    for target, names in _SYNONYMS.items():
        if folded in names and target not in used:
            return target
    name = heading.strip()
    if not name or name_problem(name) is not None or ATTRIBUTE + name in used:
        return IGNORE
    return ATTRIBUTE + name


@dataclass(frozen=True)
class Column:
    index: int
    heading: str
    samples: list[str]
    """The column's cells of the preview rows."""
    target: str
    """Chosen, or guessed before the person chose."""
    choices: list[tuple[str, str]]
    """(target, label) to offer in the column's select."""
    problem: str | None = None


def _choices(heading: str, attributes: Sequence[str]) -> list[tuple[str, str]]:
    offered = [(IGNORE, "Ignore this column")]
    offered += [(target, label) for target, label in FIELD_LABELS.items()]
    names = [heading.strip()] if heading.strip() and name_problem(heading.strip()) is None else []
    names += [name for name in attributes if name not in names]
    offered += [(ATTRIBUTE + name, f"Attribute: {name}") for name in names]
    return offered


def columns(
    table: Table,
    attributes: Sequence[str],
    chosen: Sequence[str] | None = None,
    problems: Sequence[TargetProblem] = (),
) -> list[Column]:
    """The columns to show: heading, first cells, the target (``chosen``, else guessed) and
    the choices (the fields, the heading as a new attribute, the organisation's
    ``attributes``), with the problem of each."""
    targets: list[str] = []
    for heading in table.header:
        targets.append(guess(heading, targets))
    if chosen is not None and len(chosen) == len(targets):
        targets = list(chosen)
    faults = {p.column: p.message for p in problems if p.column is not None}
    preview = [cells for _, cells in table.records[:PREVIEW_ROWS]]
    made: list[Column] = []
    for index, heading in enumerate(table.header):
        offered = _choices(heading, attributes)
        if targets[index] not in {target for target, _ in offered}:
            offered.append((targets[index], f"Attribute: {targets[index].removeprefix(ATTRIBUTE)}"))
        made.append(
            Column(
                index,
                heading,
                [cells[index] if index < len(cells) else "" for cells in preview],
                targets[index],
                offered,
                faults.get(index),
            )
        )
    return made


def read_choices(
    table: Table, given: Sequence[str | None]
) -> tuple[list[str], list[TargetProblem]]:
    """The targets a form chose for each column of ``table`` (``given[i]``: the select's
    value, None when missing) and every problem of them."""
    targets: list[str] = []
    problems: list[TargetProblem] = []
    for index in range(len(table.header)):
        value = given[index] if index < len(given) else None
        if value is None:
            problems.append(TargetProblem(index, "choose what this column holds"))
            targets.append(IGNORE)
        else:
            targets.append(value.strip()[:200] if value.startswith(ATTRIBUTE) else value.strip())
    return targets, problems + target_problems(targets)
