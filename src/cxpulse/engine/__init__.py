"""Histograms from where answers live: survey files read through DuckDB.

The public API, for ``cxpulse score`` and the importer alike:

- :func:`histograms_from_file`, :class:`FileHistograms`, :func:`read_columns` (``files``);
  the errors :class:`FileInputError`, :class:`InvalidScoresError`, :class:`InvalidValues`
  (``errors``).
- Reading a file in one's own SQL (the importer): :func:`open_source` gives a
  :class:`Source` (``sources``); :func:`resolve_column`, :func:`trimmed_sql`,
  :func:`valid_score_sql` and the column types (``column_sql``); :func:`check_date_format`
  and :data:`DATE_FAMILIES` (``dates``); :class:`LineFinder` and :func:`record_lines` turn
  row numbers into the file's lines (``lines``).
- Calendar periods: :class:`Period`, :data:`PeriodName`, :data:`PERIOD_NAMES`,
  :func:`period_label` (``periods``).

Importing this package is cheap: its names load on first use (``__getattr__`` below), so
``import cxpulse.engine.periods`` loads no more than that module, and DuckDB, Arrow and
fastexcel load only when a file is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxpulse.lazy_names import lazy_getattr

if TYPE_CHECKING:
    from cxpulse.engine.column_sql import (
        DATE_TYPES,
        NUMBER_TYPES,
        TEXT_TYPES,
        WHITESPACE,
        trimmed_sql,
        valid_score_sql,
    )
    from cxpulse.engine.dates import DATE_FAMILIES, check_date_format
    from cxpulse.engine.errors import FileInputError, InvalidScoresError, InvalidValues
    from cxpulse.engine.files import FileHistograms, histograms_from_file
    from cxpulse.engine.lines import LineFinder, record_lines
    from cxpulse.engine.periods import PERIOD_NAMES, Period, PeriodName, period_label
    from cxpulse.engine.sources import FORMATS, Source, open_source, read_columns, resolve_column

_LAZY = {
    "DATE_TYPES": "column_sql",
    "NUMBER_TYPES": "column_sql",
    "TEXT_TYPES": "column_sql",
    "WHITESPACE": "column_sql",
    "trimmed_sql": "column_sql",
    "valid_score_sql": "column_sql",
    "DATE_FAMILIES": "dates",
    "check_date_format": "dates",
    "FileInputError": "errors",
    "InvalidScoresError": "errors",
    "InvalidValues": "errors",
    "FileHistograms": "files",
    "histograms_from_file": "files",
    "LineFinder": "lines",
    "record_lines": "lines",
    "PERIOD_NAMES": "periods",
    "Period": "periods",
    "PeriodName": "periods",
    "period_label": "periods",
    "FORMATS": "sources",
    "Source": "sources",
    "open_source": "sources",
    "read_columns": "sources",
    "resolve_column": "sources",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "DATE_FAMILIES",
    "DATE_TYPES",
    "FORMATS",
    "NUMBER_TYPES",
    "PERIOD_NAMES",
    "TEXT_TYPES",
    "WHITESPACE",
    "FileHistograms",
    "FileInputError",
    "InvalidScoresError",
    "InvalidValues",
    "LineFinder",
    "Period",
    "PeriodName",
    "Source",
    "check_date_format",
    "histograms_from_file",
    "open_source",
    "period_label",
    "read_columns",
    "record_lines",
    "resolve_column",
    "trimmed_sql",
    "valid_score_sql",
]
