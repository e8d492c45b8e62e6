"""Contacts from a CSV file: ``external_id,email,name,locale,phone`` and any other column as
an attribute (plan, region, VIP ...), or columns mapped by the person (the browser's import).

Each row is upserted within the organisation: found by ``external_id`` when given, else by
``email``; given fields overwrite, attributes merge. A row needs an external id or an email.
Malformed rows are reported with their line number (the header is line 1) and nothing is
stored unless ``skip_invalid`` is set, so that a file is imported whole or not at all.

Every door (``cxpulse contacts import``, ``POST /api/v1/contacts/import``, the pages of
``/app/contacts/import``) reads a file in two steps that live here: :func:`read_table`
(the header and the records with their lines) and :func:`parse_rows` (each record checked
against the columns' *targets*: a field, ``attribute:<name>``, or ``""`` to ignore the
column). :func:`parse_contacts` takes the targets from the header; the browser's mapping
step chooses them (``collect.contact_mapping``). The rows are stored by
:func:`import_contacts`, the one writer of every door.

The bytes are read by the one encoding rule of file imports (:mod:`cxpulse.engine.encoding`):
UTF-8, UTF-16 with a BOM, legacy Windows-1252, or the encoding the user names; a UTF-8 file
with a stray byte is refused at its line rather than read as Windows-1252. Cells follow the
rule of every text field (``store._values.text_problem``: no control character but tab and
line breaks), attribute columns that of every attribute name (``name_problem``) and phone
numbers that of every phone number (E.164, ``collect.sms.e164``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from cxpulse import i18n
from cxpulse.collect import sms
from cxpulse.collect.invitations import InvitationRequest
from cxpulse.engine.encoding import EncodingProblem, decode_bytes
from cxpulse.store._values import MAX_TEXT_VALUE_LENGTH, name_problem, text_problem
from cxpulse.store.contact_upserts import ContactValues, upsert_many
from cxpulse.store.email_addresses import email_problem
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Contact

KNOWN_COLUMNS = ("external_id", "email", "name", "locale", "phone")
ATTRIBUTE = "attribute:"
"""A target ``attribute:plan`` stores the column as the attribute ``plan``."""
IGNORE = ""
MAX_ROWS = 100_000
MAX_ATTRIBUTE_COLUMNS = 50


@dataclass(frozen=True)
class ContactRow:
    line: int
    external_id: str | None
    email: str | None
    name: str | None
    locale: str | None
    attributes: dict[str, str]
    phone: str | None = None
    """In E.164 form, checked."""

    def request(self) -> InvitationRequest:
        return InvitationRequest(
            external_id=self.external_id,
            email=self.email,
            name=self.name,
            locale=self.locale,
            attributes=self.attributes or None,
        )


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"


@dataclass
class ParsedContacts:
    rows: list[ContactRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True)
class Table:
    """A CSV file read: its header as written and each non-blank record with the line it
    starts on (a quoted cell may span lines)."""

    header: list[str]
    records: list[tuple[int, list[str]]]


@dataclass(frozen=True)
class TargetProblem:
    """A fault of the columns' targets: ``column`` is the index of the column at fault, or
    None for the set as a whole (no identifying column)."""

    column: int | None
    message: str


@dataclass(frozen=True)
class ContactImport:
    created: int
    updated: int
    invalid: int
    problems: list[RowProblem]
    contacts: list[Contact]


class CsvProblem(ValueError):
    """The file as a whole cannot be read (no header, no identifying column, too big)."""


def decode(data: bytes, encoding: str | None = None) -> str:
    """The file's text: in ``encoding`` when the user named one, else UTF-8 (with or without
    BOM), UTF-16 with a BOM, or a legacy Windows-1252 file (one without any UTF-8 character).

    Raises :class:`CsvProblem` naming the line of the first byte not valid in the encoding.
    """
    try:
        return decode_bytes(data, encoding)
    except EncodingProblem as problem:
        raise CsvProblem(str(problem)) from None


def read_table(text: str) -> Table:
    """The header and records of a CSV text (comma, semicolon or tab separated)."""
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise CsvProblem(f"line {reader.line_num}: {error}") from None
    if not header:
        raise CsvProblem("the file is empty: the first line must name the columns")
    records: list[tuple[int, list[str]]] = []
    last = reader.line_num
    try:
        for cells in reader:
            # The line a record starts on, as an editor shows it (a quoted cell may span lines).
            line_index, last = last + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(records) >= MAX_ROWS:
                raise CsvProblem(f"more than {MAX_ROWS:,} rows: split the file")
            records.append((line_index, cells))
    except csv.Error as error:
        # Such as a cell over the csv module's field size limit (128 KB).
        raise CsvProblem(f"line {reader.line_num}: {error}") from None
    return Table(header, records)


def header_targets(header: Sequence[str]) -> list[str]:
    """The targets the header names: a known column (any case) is that field, any other
    named column an attribute of its name, a column without a name is ignored."""
    targets: list[str] = []
    for heading in header:
        name = heading.strip()
        if name.lower() in KNOWN_COLUMNS:
            targets.append(name.lower())
        else:
            targets.append(ATTRIBUTE + name if name else IGNORE)
    return targets


def target_problems(targets: Sequence[str]) -> list[TargetProblem]:
    """Every fault of a set of targets: a field or attribute chosen twice, an attribute name
    that breaks the rule of names, too many attributes, no identifying column."""
    problems: list[TargetProblem] = []
    seen: set[str] = set()
    attributes = 0
    for index, target in enumerate(targets):
        if target == IGNORE:
            continue
        if target.startswith(ATTRIBUTE):
            attributes += 1
            name = target.removeprefix(ATTRIBUTE)
            if (problem := name_problem(name)) is not None:
                problems.append(TargetProblem(index, f"the attribute name {name[:80]!r} {problem}"))
                continue
        elif target not in KNOWN_COLUMNS:
            problems.append(TargetProblem(index, "choose one from the list"))
            continue
        if target in seen:
            problems.append(TargetProblem(index, "another column is already read as this"))
        seen.add(target)
    if attributes > MAX_ATTRIBUTE_COLUMNS:
        problems.append(TargetProblem(None, f"at most {MAX_ATTRIBUTE_COLUMNS} attribute columns"))
    if "external_id" not in seen and "email" not in seen:
        problems.append(TargetProblem(None, "one column must be the external id or the email"))
    return problems


def _header_problem(targets: Sequence[str]) -> None:
    """The header's first fault as :class:`CsvProblem`, in the words of the file doors."""
    named = [t for t in targets if t]
    if "external_id" not in named and "email" not in named:
        raise CsvProblem("the header needs an external_id or an email column")
    if len(set(named)) != len(named):
        raise CsvProblem("a column name appears twice in the header")
    if len([t for t in named if t.startswith(ATTRIBUTE)]) > MAX_ATTRIBUTE_COLUMNS:
        raise CsvProblem(f"at most {MAX_ATTRIBUTE_COLUMNS} attribute columns")
    for target in named:
        name = target.removeprefix(ATTRIBUTE)
        if target.startswith(ATTRIBUTE) and (problem := name_problem(name)) is not None:
            raise CsvProblem(f"line 1, the attribute column {name[:80]!r} {problem}")


def parse_contacts(text: str) -> ParsedContacts:
    """Rows and problems of a CSV text whose header names the columns."""
    table = read_table(text)
    targets = header_targets(table.header)
    _header_problem(targets)
    return parse_rows(table, targets)


def parse_rows(table: Table, targets: Sequence[str]) -> ParsedContacts:
    """Each record of ``table`` checked against the columns' ``targets`` (which must have no
    :func:`target_problems`): the good rows, and every bad one by its line."""
    parsed = ParsedContacts()
    for line, cells in table.records:
        row = _row(line, targets, cells, parsed.problems)
        if row is not None:
            parsed.rows.append(row)
    return parsed


def _row(
    line: int, targets: Sequence[str], cells: list[str], problems: list[RowProblem]
) -> ContactRow | None:
    if len(cells) != len(targets):
        problems.append(
            RowProblem(line, "*", f"has {len(cells)} cells; the header has {len(targets)}")
        )
        return None
    values = {t: v.strip() for t, v in zip(targets, cells, strict=True) if t}
    before = len(problems)
    for target, value in values.items():
        if (problem := text_problem(value)) is not None:
            problems.append(RowProblem(line, target.removeprefix(ATTRIBUTE), problem))
        elif target.startswith(ATTRIBUTE) and len(value) > MAX_TEXT_VALUE_LENGTH:
            # The store's limit of an attribute's value, found here with the row's line.
            message = f"is longer than {MAX_TEXT_VALUE_LENGTH} characters"
            problems.append(RowProblem(line, target.removeprefix(ATTRIBUTE), message))
    if len(problems) > before:
        return None
    external_id = values.get("external_id") or None
    email = values.get("email") or None
    locale = values.get("locale") or None
    phone = values.get("phone") or None
    if external_id is None and email is None:
        problems.append(RowProblem(line, "external_id", "a row needs an external_id or an email"))
    if external_id is not None and len(external_id) > 200:
        problems.append(RowProblem(line, "external_id", "is longer than 200 characters"))
    if email is not None and (problem := email_problem(email)) is not None:
        problems.append(RowProblem(line, "email", f"{email[:80]!r} {problem}"))
    if locale is not None and (len(locale) > 35 or i18n.normalise(locale) is None):
        problems.append(
            RowProblem(line, "locale", f"{locale[:40]!r} is not one of {', '.join(i18n.LANGUAGES)}")
        )
    name = values.get("name") or None
    if name is not None and len(name) > 200:
        problems.append(RowProblem(line, "name", "is longer than 200 characters"))
    if phone is not None:
        try:
            phone = sms.e164("phone", phone)
        except Invalid as error:
            problems.append(RowProblem(line, "phone", f"{phone[:40]!r} {error.message}"))
    if len(problems) > before:
        return None
    attributes = {
        t.removeprefix(ATTRIBUTE): v for t, v in values.items() if t.startswith(ATTRIBUTE) and v
    }
    return ContactRow(line, external_id, email, name, locale, attributes, phone)


def import_contacts(
    session: Session,
    organisation_id: int,
    rows: Iterable[ContactRow],
    problems: list[RowProblem],
    *,
    skip_invalid: bool = False,
) -> ContactImport:
    """Upsert the rows in the caller's transaction; raises ``Invalid`` (naming the first
    problem) when there are problems and ``skip_invalid`` is off."""
    if problems and not skip_invalid:
        first = problems[0]
        raise Invalid("file", f"{len(problems)} invalid rows; first: {first}")
    given = [
        ContactValues(
            external_id=row.external_id,
            email=row.email,
            name=row.name,
            locale=row.locale,
            attributes=row.attributes or None,
            phone=row.phone,
        )
        for row in rows
    ]
    # The rule of one invitation request (``resolve_contact``), for many rows at once.
    made = upsert_many(session, organisation_id, given)
    created = sum(1 for _, new in made if new)
    updated = len(made) - created
    contacts = [contact for contact, _ in made]
    return ContactImport(created, updated, len(problems), problems, contacts)
