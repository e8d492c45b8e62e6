"""Contacts from a CSV file: ``external_id,email,name,locale`` and any other column as an
attribute (plan, region, VIP ...).

Each row is upserted within the organisation: found by ``external_id`` when given, else by
``email``; given fields overwrite, attributes merge. A row needs an external id or an email.
Malformed rows are reported with their line number (the header is line 1) and nothing is
stored unless ``skip_invalid`` is set, so that a file is imported whole or not at all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from cxpulse import i18n
from cxpulse.collect.invitations import InvitationRequest, resolve_contact
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


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252, which spreadsheets still write."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


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
    if len(set(columns)) != len(columns):
        raise CsvProblem("a column name appears twice in the header")
    if len([c for c in columns if c not in KNOWN_COLUMNS]) > MAX_ATTRIBUTE_COLUMNS:
        raise CsvProblem(f"at most {MAX_ATTRIBUTE_COLUMNS} attribute columns")
    parsed = ParsedContacts()
    try:
        for line_index, cells in enumerate(reader, start=2):
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
    values = {c: v.strip() for c, v in zip(columns, cells, strict=True)}
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
