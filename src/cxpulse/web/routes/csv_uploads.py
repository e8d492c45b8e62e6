"""CSV files of contacts sent to the API (contact imports, invitation uploads): the size limit,
the decoding, and the 422 that names the file's faults by line and column."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import UploadFile

from cxpulse.collect.contacts_csv import CsvProblem, ParsedContacts, RowProblem, decode
from cxpulse.collect.contacts_csv import parse_contacts as parse_contact_rows
from cxpulse.web.errors import FieldErrors, field_error

MAX_CSV_BYTES = 10_000_000
MAX_LISTED_PROBLEMS = 100


async def read_csv(file: UploadFile) -> str:
    """The file's text (UTF-8 or Windows-1252); a 413 when it is over ``MAX_CSV_BYTES``."""
    data = await file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise FieldErrors.one(
            ["body", "file"], f"is larger than {MAX_CSV_BYTES // 1_000_000} MB", status_code=413
        )
    return decode(data)


def parse_contacts(text: str) -> ParsedContacts:
    """The rows of a contacts file; a 422 when the file as a whole cannot be read."""
    try:
        return parse_contact_rows(text)
    except CsvProblem as error:
        raise FieldErrors.one(["body", "file"], str(error)) from None


def row_problems(found: Sequence[RowProblem]) -> FieldErrors:
    """A 422 listing the first rows at fault: ``["body", "file", "line", n, column]``."""
    return FieldErrors(
        [
            field_error(["body", "file", "line", p.line, p.column], p.message)
            for p in found[:MAX_LISTED_PROBLEMS]
        ]
    )
