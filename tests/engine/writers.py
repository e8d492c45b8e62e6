"""Write the same table as CSV, TSV, TXT, XLSX, Parquet or JSON lines, for engine tests.

Rows are tuples of Python values; ``None`` is a missing value (an empty CSV field, an empty
cell, a Parquet/JSON null). Dates may be ``datetime``/``date`` objects: text formats write
them in ISO form, XLSX and Parquet as real dates.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Row = Sequence[Any]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Row],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    newline: str = "\n",
) -> Path:
    """A delimited text file; no quoting (tests keep delimiters out of values)."""
    lines = [delimiter.join(header)]
    lines += [delimiter.join(_text(value) for value in row) for row in rows]
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def write_xlsx(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Row],
    *,
    title: str = "Answers",
    before: Sequence[str] = (),
) -> Path:
    """A workbook whose sheet ``title`` holds the table; sheets named in ``before`` come first."""
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for name in before:
        other = book.create_sheet(name)
        other.append(["other"])
        other.append([1])
    sheet = book.create_sheet(title)
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def write_parquet(path: Path, header: Sequence[str], rows: Sequence[Row]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    pq.write_table(pa.table(columns), path)
    return path


def write_jsonl(path: Path, header: Sequence[str], rows: Sequence[Row]) -> Path:
    records = [
        {
            name: value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value
            for name, value in zip(header, row, strict=True)
        }
        for row in rows
    ]
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def write_table(path: Path, header: Sequence[str], rows: Sequence[Row]) -> Path:
    """Any format, by the file's extension (``.txt`` is written with semicolons)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_csv(path, header, rows)
    if suffix == ".tsv":
        return write_csv(path, header, rows, delimiter="\t")
    if suffix == ".txt":
        return write_csv(path, header, rows, delimiter=";")
    if suffix == ".xlsx":
        return write_xlsx(path, header, rows)
    if suffix == ".parquet":
        return write_parquet(path, header, rows)
    if suffix in (".jsonl", ".ndjson"):
        return write_jsonl(path, header, rows)
    raise ValueError(f"no writer for {suffix}")
