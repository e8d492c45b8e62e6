"""Recipients of an invitation from a CSV file sent through the browser: ``email`` (required),
``name``, ``language``, and any other column a property copied onto the answer (ticket,
agent, order ...).

Every row is checked before anything is queued, and every fault is reported with its line
(the header is line 1; a quoted cell spanning lines counts from the line its row starts on),
so that a file is sent whole or not at all. The bytes are read by the one encoding rule of
file imports (``contacts_csv.decode``); cells follow the rule of every text field, property
columns that of every name.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from cxpulse import i18n
from cxpulse.collect.contacts_csv import CsvProblem, RowProblem, decode
from cxpulse.store._values import name_problem, text_problem
from cxpulse.store.email_addresses import canonical_email, email_problem

MAX_CSV_BYTES = 1_000_000
"""A file sent from the browser: up to 1 MB (bigger lists go through the API or the CLI)."""
MAX_RECIPIENTS = 5_000
OWN_COLUMNS = ("email", "name", "language")
MAX_PROPERTY_COLUMNS = 50
MAX_CELL = 200
"""The longest name or property value kept (the database's column widths)."""

__all__ = [
    "MAX_CSV_BYTES",
    "MAX_RECIPIENTS",
    "CsvProblem",
    "ParsedRecipients",
    "Recipient",
    "RowProblem",
    "decode",
    "parse_recipients",
]


@dataclass(frozen=True)
class Recipient:
    line: int
    email: str
    """Canonical."""
    name: str | None
    language: str | None
    """Normalised (``sv``, ``pt``): the email's language; None: the contact's, else the
    survey's."""
    properties: dict[str, str]


@dataclass
class ParsedRecipients:
    rows: list[Recipient] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def _header(text: str) -> tuple[csv.Dialect | type[csv.Dialect], list[str]]:
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    try:
        header = next(csv.reader(io.StringIO(text), dialect), None)
    except csv.Error as error:
        raise CsvProblem(f"line 1: {error}") from None
    if not header:
        raise CsvProblem("the file is empty: the first line must name the columns")
    columns = [h.strip().lower() if h.strip().lower() in OWN_COLUMNS else h.strip() for h in header]
    if "email" not in columns:
        raise CsvProblem("line 1: the header needs an email column")
    named = [c for c in columns if c]
    if len(set(named)) != len(named):
        raise CsvProblem("line 1: a column name appears twice in the header")
    if len([c for c in named if c not in OWN_COLUMNS]) > MAX_PROPERTY_COLUMNS:
        raise CsvProblem(f"line 1: at most {MAX_PROPERTY_COLUMNS} property columns")
    for column in named:
        if column not in OWN_COLUMNS and (problem := name_problem(column)) is not None:
            raise CsvProblem(f"line 1: the property column {column[:80]!r} {problem}")
    return dialect, columns


def parse_recipients(text: str) -> ParsedRecipients:
    """The rows and the faults of every row; ``CsvProblem`` when the file as a whole cannot
    be read (no header, no email column, too many rows)."""
    dialect, columns = _header(text)
    reader = csv.reader(io.StringIO(text), dialect)
    parsed = ParsedRecipients()
    seen: dict[str, int] = {}
    try:
        next(reader)
        last = reader.line_num
        for cells in reader:
            line, last = last + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(parsed.rows) + len({p.line for p in parsed.problems}) >= MAX_RECIPIENTS:
                raise CsvProblem(
                    f"more than {MAX_RECIPIENTS:,} recipients: split the file, or send it "
                    "through the API or `cxpulse invite`"
                )
            row = _row(line, columns, cells, parsed.problems)
            if row is None:
                continue
            if row.email in seen:
                parsed.problems.append(
                    RowProblem(line, "email", f"repeats line {seen[row.email]}'s address")
                )
                continue
            seen[row.email] = line
            parsed.rows.append(row)
    except csv.Error as error:
        raise CsvProblem(f"line {reader.line_num}: {error}") from None
    return parsed


def _row(
    line: int, columns: list[str], cells: list[str], problems: list[RowProblem]
) -> Recipient | None:
    if len(cells) != len(columns):
        problems.append(
            RowProblem(line, "*", f"has {len(cells)} cells; the header has {len(columns)}")
        )
        return None
    found = len(problems)
    values: dict[str, str] = {}
    for column, cell in zip(columns, cells, strict=True):
        if not column:
            continue
        value = cell.strip()
        if value and (problem := text_problem(value)) is not None:
            problems.append(RowProblem(line, column, problem))
            continue
        if len(value) > MAX_CELL and column != "email":
            problems.append(RowProblem(line, column, f"is longer than {MAX_CELL} characters"))
            continue
        values[column] = value
    address = values.get("email", "")
    if not address:
        problems.append(RowProblem(line, "email", "is empty: every row needs an address"))
    elif (problem := email_problem(address)) is not None:
        problems.append(RowProblem(line, "email", problem))
    language = values.get("language") or None
    if language is not None and i18n.normalise(language) is None:
        problems.append(RowProblem(line, "language", f"must be one of {', '.join(i18n.LANGUAGES)}"))
    if len(problems) > found:
        return None
    return Recipient(
        line=line,
        email=canonical_email(address),
        name=values.get("name") or None,
        language=i18n.normalise(language) if language else None,
        properties={k: v for k, v in values.items() if k not in OWN_COLUMNS and v},
    )
