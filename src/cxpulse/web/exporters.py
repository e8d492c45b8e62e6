"""Responses as CSV, XLSX or Parquet, produced page by page so memory stays flat.

Rows are read ``PAGE_SIZE`` at a time by ``cxpulse.store.exports`` (keyset pagination, each
page in its own short read transaction). Response properties become one column each
(``property.<name>``), found by one DISTINCT query over the same filters. An export of one
survey then has one column per follow-up question (``q_<key>``: a rating's score, a choice's
key, a text redacted), read with each page.

- CSV is streamed as it is read. Every text cell, headers included, is neutralised against
  spreadsheet formulas (``cxpulse.csv_safety``).
- XLSX is written by openpyxl's write-only mode, which keeps rows in a temporary file; the
  finished file is then streamed. Text cells are neutralised as in CSV, times are UTC.
- Parquet is written by pyarrow in row groups of ``ROW_GROUP_SIZE`` rows, each streamed as
  soon as it is written.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Row
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.csv_safety import neutralise_cell
from cxpulse.store import exports
from cxpulse.store.exports import count_rows, property_names
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.response_fields import EXPORT_COLUMNS

ExportFormat = Literal["csv", "xlsx", "parquet"]
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
PAGE_SIZE = 2000
ROW_GROUP_SIZE = 64_000
CHUNK_BYTES = 64 * 1024
XLSX_MAX_ROWS = 1_048_575
"""Rows an Excel sheet holds, less the header."""

BASE_COLUMNS: tuple[str, ...] = EXPORT_COLUMNS
"""The header before the property columns (``store.response_fields``)."""
PROPERTY_COLUMN = "property."
QUESTION_COLUMN = "q_"


@dataclass(frozen=True)
class ExportPlan:
    organisation_id: int
    filters: ResponseFilters
    property_names: Sequence[str]
    questions: Sequence[tuple[int, str, str]] = ()
    """(id, key, kind) of the survey's follow-up questions, one column each."""

    @property
    def columns(self) -> list[str]:
        return [
            *BASE_COLUMNS,
            *(PROPERTY_COLUMN + name for name in self.property_names),
            *(QUESTION_COLUMN + key for _, key, _ in self.questions),
        ]


def _answer(kind: str, value: Any) -> Any:
    """A follow-up answer in its column's type (a question whose kind changed may hold
    older answers of another type: those are left empty rather than mistyped)."""
    if kind == "rating":
        return _score(value) if isinstance(value, int | float) else None
    return value if isinstance(value, str) else None


def _pages(
    sessions: sessionmaker[Session], plan: ExportPlan, page_size: int | None
) -> Iterator[tuple[Sequence[Row[Any]], dict[int, dict[int, Any]]]]:
    return exports.answer_pages(
        sessions,
        plan.organisation_id,
        plan.filters,
        [*BASE_COLUMNS, "properties"],
        page_size or PAGE_SIZE,
        [question_id for question_id, _, _ in plan.questions],
    )


def pages(
    sessions: sessionmaker[Session], plan: ExportPlan, page_size: int | None = None
) -> Iterator[Sequence[Row[Any]]]:
    """The matching rows in (submitted_at, id) order, a page at a time: the base columns,
    then the properties."""
    for rows, _ in _pages(sessions, plan, page_size):
        yield rows


def value_pages(
    sessions: sessionmaker[Session], plan: ExportPlan, page_size: int | None = None
) -> Iterator[list[list[Any]]]:
    """The rows of ``pages`` as values in column order: the base columns, the properties
    spread into theirs, then the follow-up answers."""
    for rows, answers in _pages(sessions, plan, page_size):
        page = []
        for row in rows:
            values = list(row[: len(BASE_COLUMNS)])
            properties: dict[str, str] = row[len(BASE_COLUMNS)] or {}
            values.extend(properties.get(name) for name in plan.property_names)
            given = answers.get(row.id, {})
            values.extend(_answer(kind, given.get(qid)) for qid, _, kind in plan.questions)
            page.append(values)
        yield page


def _score(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _plain(values: list[Any]) -> list[Any]:
    """Row values in column order, the score as a whole number where it is one."""
    values[4] = _score(values[4])
    return values


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        # As JSON writes them (and the CLI's CSV), not Python's True/False.
        return "true" if value else "false"
    if isinstance(value, str):
        return neutralise_cell(value)
    return value


def csv_chunks(
    sessions: sessionmaker[Session], plan: ExportPlan, *, bom: bool = False
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise_cell(name) for name in plan.columns])
    first = buffer.getvalue().encode("utf-8")
    yield (b"\xef\xbb\xbf" + first) if bom else first
    for page in value_pages(sessions, plan):
        buffer.seek(0)
        buffer.truncate()
        for row in page:
            writer.writerow([_csv_cell(v) for v in _plain(row)])
        yield buffer.getvalue().encode("utf-8")


def _xlsx_cell(value: Any) -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # Excel has no time zones; the values are UTC
    if isinstance(value, str):
        return neutralise_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def xlsx_chunks(sessions: sessionmaker[Session], plan: ExportPlan) -> Iterator[bytes]:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("responses")
    sheet.append([_xlsx_cell(name) for name in plan.columns])
    for page in value_pages(sessions, plan):
        for row in page:
            sheet.append([_xlsx_cell(v) for v in _plain(row)])
    with tempfile.TemporaryFile() as file:
        workbook.save(file)
        file.seek(0)
        yield from iter(lambda: file.read(CHUNK_BYTES), b"")


class _Drain(io.RawIOBase):
    """A write-only file that hands over what was written since the last ``take``."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def parquet_schema(plan: ExportPlan) -> pa.Schema:
    moment = pa.timestamp("us", tz="UTC")
    fields: list[pa.Field[Any]] = [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("survey_id", pa.int64(), nullable=False),
        pa.field("submitted_at", moment, nullable=False),
        pa.field("received_at", moment, nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("comment", pa.string()),
        pa.field("language", pa.string()),
        pa.field("channel", pa.string()),
        pa.field("touchpoint", pa.string()),
        pa.field("source", pa.string()),
        pa.field("contact_id", pa.int64()),
        pa.field("idempotency_key", pa.string()),
        pa.field("contact_consent", pa.bool_()),
    ]
    fields += [pa.field(PROPERTY_COLUMN + name, pa.string()) for name in plan.property_names]
    fields += [
        pa.field(QUESTION_COLUMN + key, pa.float64() if kind == "rating" else pa.string())
        for _, key, kind in plan.questions
    ]
    return pa.schema(fields)


def _table(schema: pa.Schema, rows: Iterable[list[Any]]) -> pa.Table:
    columns: list[list[Any]] = [[] for _ in schema.names]
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return pa.Table.from_arrays(
        [pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)],
        schema=schema,
    )


def parquet_chunks(sessions: sessionmaker[Session], plan: ExportPlan) -> Iterator[bytes]:
    schema = parquet_schema(plan)
    sink = _Drain()
    writer = pq.ParquetWriter(pa.PythonFile(sink, mode="w"), schema, compression="zstd")
    pending: list[list[Any]] = []
    try:
        for page in value_pages(sessions, plan):
            pending.extend(page)
            if len(pending) >= ROW_GROUP_SIZE:
                writer.write_table(_table(schema, pending))
                pending.clear()
                yield sink.take()
        if pending:
            writer.write_table(_table(schema, pending))
    finally:
        writer.close()
    yield sink.take()


def plan_export(session: Session, organisation_id: int, filters: ResponseFilters) -> ExportPlan:
    """What an export of the responses ``filters`` match writes: its rows and columns."""
    return ExportPlan(
        organisation_id,
        filters,
        property_names(session, organisation_id, filters),
        exports.follow_up_columns(session, organisation_id, filters),
    )


def too_many_for_xlsx(session: Session, organisation_id: int, filters: ResponseFilters) -> bool:
    """Whether more responses match than one Excel sheet holds."""
    return count_rows(session, organisation_id, filters) > XLSX_MAX_ROWS


def chunks(
    sessions: sessionmaker[Session], plan: ExportPlan, fmt: ExportFormat, *, bom: bool = False
) -> Iterator[bytes]:
    """The export in ``fmt`` (csv, xlsx or parquet), chunk by chunk; ``bom``: CSV only."""
    if fmt == "csv":
        return csv_chunks(sessions, plan, bom=bom)
    if fmt == "xlsx":
        return xlsx_chunks(sessions, plan)
    return parquet_chunks(sessions, plan)
