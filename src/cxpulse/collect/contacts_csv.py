"""Contacts from a CSV file: ``external_id,email,name,locale`` and any other column as an
attribute (plan, region, VIP ...).

Each row is upserted within the organisation: found by ``external_id`` when given, else by
``email``; given fields overwrite, attributes merge. A row needs an external id or an email.
Malformed rows are reported with their line number (the header is line 1) and nothing is
stored unless ``skip_invalid`` is set, so that a file is imported whole or not at all.

The bytes are read by the one encoding rule of file imports (:mod:`cxpulse.engine.encoding`):
UTF-8, UTF-16 with a BOM, legacy Windows-1252, or the encoding the user names; a UTF-8 file
with a stray byte is refused at its line rather than read as Windows-1252. Cells follow the
rule of every text field (``store._values.text_problem``: no control character but tab and
line breaks) and attribute columns that of every attribute name (``name_problem``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from cxpulse import i18n
from cxpulse.collect.invitations import InvitationRequest, resolve_contact
from cxpulse.engine.encoding import EncodingProblem, decode_bytes
from cxpulse.store._values import name_problem, text_problem
from cxpulse.store.email_addresses import email_problem
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Contact

KNOWN_COLUMNS = ("external_id", "email", "name", "locale")
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


def parse_contacts(text: str) -> ParsedContacts:
    """Rows and problems of a CSV text (comma, semicolon or tab separated)."""
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
    columns = [
        h.strip().lower() if h.strip().lower() in KNOWN_COLUMNS else h.strip() for h in header
    ]
    if "external_id" not in columns and "email" not in columns:
        raise CsvProblem("the header needs an external_id or an email column")
    # A column without a name (a spreadsheet's trailing separator) is left out.
    named = [c for c in columns if c]
    if len(set(named)) != len(named):
        raise CsvProblem("a column name appears twice in the header")
    if len([c for c in named if c not in KNOWN_COLUMNS]) > MAX_ATTRIBUTE_COLUMNS:
        raise CsvProblem(f"at most {MAX_ATTRIBUTE_COLUMNS} attribute columns")
    for column in named:
        if column not in KNOWN_COLUMNS and (problem := name_problem(column)) is not None:
            raise CsvProblem(f"line 1, the attribute column {column[:80]!r} {problem}")
    parsed = ParsedContacts()
    last = reader.line_num
    try:
        for cells in reader:
            # The line a record starts on, as an editor shows it (a quoted cell may span lines).
            line_index, last = last + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(parsed.rows) + len(parsed.problems) >= MAX_ROWS:
                raise CsvProblem(f"more than {MAX_ROWS:,} rows: split the file")
            row = _row(line_index, columns, cells, parsed.problems)
            if row is not None:
                parsed.rows.append(row)
    except csv.Error as error:
        # Such as a cell over the csv module's field size limit (128 KB).
        raise CsvProblem(f"line {reader.line_num}: {error}") from None
    return parsed


def _row(
    line: int, columns: list[str], cells: list[str], problems: list[RowProblem]
) -> ContactRow | None:
    if len(cells) != len(columns):
        problems.append(
            RowProblem(line, "*", f"has {len(cells)} cells; the header has {len(columns)}")
        )
        return None
    values = {c: v.strip() for c, v in zip(columns, cells, strict=True) if c}
    before = len(problems)
    for column, value in values.items():
        if (problem := text_problem(value)) is not None:
            problems.append(RowProblem(line, column, problem))
    if len(problems) > before:
        return None
    external_id = values.get("external_id") or None
    email = values.get("email") or None
    locale = values.get("locale") or None
    before = len(problems)
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
    if len(problems) > before:
        return None
    attributes = {c: v for c, v in values.items() if c not in KNOWN_COLUMNS and v}
    return ContactRow(line, external_id, email, name, locale, attributes)


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
    created = updated = 0
    contacts: list[Contact] = []
    for row in rows:
        contact, new = resolve_contact(session, organisation_id, row.request())
        created += new
        updated += not new
        contacts.append(contact)
    session.flush()
    return ContactImport(created, updated, len(problems), problems, contacts)
