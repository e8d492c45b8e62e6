"""Which CSV column to read again as text after DuckDB failed to convert it.

DuckDB detects a CSV column's type from a sample of its rows; a value further down the file
that does not fit (``n/a`` in a column of numbers) fails the whole query. ``score``
(``engine.files``) and the text commands (``engine.text_rows``) then read that one column as
text and try again, so that the value is checked, and refused at its line, by their own rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cxpulse.engine.sources import Source

_CONVERSION_FAILED = re.compile(r'Error when converting column "(.+?)"')


def text_retry(source: Source, error: BaseException, used: Sequence[str]) -> str | None:
    """A used CSV column whose detected type failed later in the file: read it as text.
    None when the error is another one, or the column is already read as text."""
    if source.kind != "csv":
        return None
    match = _CONVERSION_FAILED.search(str(error))
    if match is None:
        return None
    column = match.group(1)
    if column in used and column not in source.text:
        return column
    return None
