"""CSV files of contacts sent to the API (contact imports, invitation uploads): the size limit,
the decoding, and the 422 that names the file's faults by line and column.

The routes that take such a file lift the API's 1 MB body limit to :data:`UPLOAD_BODY_BYTES`
(``max_body_size`` on the route), so that the 10 MB the docs promise arrive, and a file over
10 MB is answered here with a JSON 413 that says the limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import UploadFile

from cxpulse.collect.contacts_csv import CsvProblem, ParsedContacts, RowProblem, decode
from cxpulse.collect.contacts_csv import parse_contacts as parse_contact_rows
from cxpulse.engine.encoding import EncodingProblem, check_encoding_name
from cxpulse.web.errors import FieldErrors, field_error

MAX_CSV_BYTES = 10_000_000
UPLOAD_BODY_BYTES = MAX_CSV_BYTES + 1_000_000
"""A CSV upload's whole request: the file, and room for the multipart framing and other
form fields. A body over it gets Starlette's 413 before the route runs."""
MAX_LISTED_PROBLEMS = 100
ENCODING_HELP = (
    "The file's text encoding, such as windows-1252 or iso-8859-15; default: UTF-8, UTF-16 "
    "with a BOM, or a legacy Windows-1252 file. A byte not valid in it refuses the file."
)


def encoding_named(name: str | None) -> str | None:
    """The encoding named in the form (checked), or None to settle it from the bytes. Survey
    imports (``import_upload``) read their form's ``encoding`` with it too."""
    if name is None or not name.strip():
        return None
    try:
        return check_encoding_name(name)
    except EncodingProblem as problem:
        raise FieldErrors.one(["body", "encoding"], str(problem)) from None


async def read_csv(file: UploadFile, encoding: str | None = None) -> str:
    """The file's text by the rule of file imports (``encoding`` when named); a 413 when it
    is over ``MAX_CSV_BYTES``, a 422 naming the line of a byte not valid in its encoding."""
    data = await file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise FieldErrors.one(
            ["body", "file"],
            f"is larger than {MAX_CSV_BYTES // 1_000_000} MB: split it into smaller files",
            status_code=413,
        )
    try:
        return decode(data, encoding)
    except CsvProblem as error:
        raise FieldErrors.one(["body", "file"], str(error)) from None


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
