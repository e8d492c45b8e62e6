"""Histograms from where answers live. ``files``: survey files through DuckDB.

Importing this package is cheap: DuckDB, Arrow and fastexcel load only when a file is read.
"""

from cxpulse.engine.files import (
    FileHistograms,
    FileInputError,
    InvalidScoresError,
    InvalidValues,
    histograms_from_file,
    read_columns,
)
from cxpulse.engine.periods import Period, period_label

__all__ = [
    "FileHistograms",
    "FileInputError",
    "InvalidScoresError",
    "InvalidValues",
    "Period",
    "histograms_from_file",
    "period_label",
    "read_columns",
]
