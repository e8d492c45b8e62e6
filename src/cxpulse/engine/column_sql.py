"""SQL expressions over a file's columns: as text, trimmed, as a score; the types behind them.

Text cells are trimmed of spaces, tabs, line ends and no-break spaces, and an empty result is
a blank (NULL). Trimming with a character set is slow in DuckDB, so expressions try the value
as it is first and only trim the values that need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cxpulse.engine.duck import ident, literal
from cxpulse.engine.errors import FileInputError

if TYPE_CHECKING:
    from cxpulse.engine.sources import Source
    from cxpulse.metrics.scales import Scale

__all__ = [
    "DATE_TYPES",
    "FLOAT_TYPES",
    "INTEGER_TYPES",
    "NUMBER_TYPES",
    "TEXT_TYPES",
    "WHITESPACE",
    "ScoreSql",
    "TextSql",
    "score_sql",
    "trimmed_sql",
    "valid_score_sql",
]

INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)
"""DuckDB's whole-number column types."""
FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE"})
NUMBER_TYPES = INTEGER_TYPES | FLOAT_TYPES
"""Column types read as numbers as they are (DECIMAL and BOOLEAN are cast)."""
DATE_TYPES = frozenset(
    {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE"}
)
"""Column types that hold dates or moments."""
TEXT_TYPES = frozenset({"VARCHAR", "JSON"})
"""Column types that hold text (a number or a date written out is parsed in SQL)."""

WHITESPACE = " \t\r\n\v\f\u00a0\u2007\u202f\ufeff"
"""What is trimmed from cells: spaces, tabs, line ends, no-break spaces, a stray BOM."""
_WHITESPACE_SQL = literal(WHITESPACE)
_WHITESPACE_CODES = ", ".join(str(ord(char)) for char in WHITESPACE)


@dataclass(frozen=True)
class TextSql:
    """A column read as text, and the expressions that trim it or test it for a blank."""

    value: str
    """The cell as text (NULL when missing)."""

    @classmethod
    def of(cls, column: str, column_type: str) -> TextSql:
        value = ident(column)
        if column_type == "JSON":
            return cls(f"json_extract_string({value}, '$')")
        if column_type != "VARCHAR":
            return cls(f"CAST({value} AS VARCHAR)")
        return cls(value)

    @property
    def trimmed(self) -> str:
        """Trimmed of :data:`WHITESPACE`; NULL when blank."""
        return f"nullif(trim({self.value}, {_WHITESPACE_SQL}), '')"

    @property
    def blank(self) -> str:
        """Whether the cell is missing or only whitespace."""
        return f"({self.value} IS NULL OR trim({self.value}, {_WHITESPACE_SQL}) = '')"


def trimmed_sql(source: Source, column: str) -> str:
    """SQL: a column of ``source`` as text trimmed of :data:`WHITESPACE`, NULL when blank.

    Only values that start or end with one of those characters are trimmed, so most values
    pass untouched (the fast form for statements that keep every cell, such as an import's).
    """
    value = TextSql.of(column, source.columns[column]).value
    return (
        f"CASE WHEN {value} IS NULL OR {value} = '' THEN NULL "
        f"WHEN ord({value}[1]) IN ({_WHITESPACE_CODES}) "
        f"OR ord({value}[-1]) IN ({_WHITESPACE_CODES}) "
        f"THEN nullif(trim({value}, {_WHITESPACE_SQL}), '') ELSE {value} END"
    )


def valid_score_sql(value: str, scale: Scale) -> str:
    """SQL: whether a non-NULL number is a whole number on the scale (NaN and infinities
    are not)."""
    return f"{value} >= {scale.low} AND {value} <= {scale.high} AND {value} = round({value})"


@dataclass(frozen=True)
class ScoreSql:
    """The score column as SQL."""

    column: str
    """The score column, quoted."""
    value: str
    """The answer as a number; NULL when blank; NaN when text that is not a number."""
    raw: str
    """The answer as text, for reports."""


def score_sql(source: Source, column: str) -> ScoreSql:
    """How to read ``column`` of ``source`` as a score, from its DuckDB type."""
    column_type = source.columns[column]
    quoted = ident(column)
    raw = f"CAST({quoted} AS VARCHAR)"
    if column_type in NUMBER_TYPES:
        return ScoreSql(quoted, quoted, raw)
    if column_type.startswith("DECIMAL"):
        return ScoreSql(quoted, f"CAST({quoted} AS DOUBLE)", raw)
    if column_type == "BOOLEAN":
        return ScoreSql(quoted, f"CAST({quoted} AS TINYINT)", raw)
    if column_type in TEXT_TYPES:
        text = TextSql.of(column, column_type)
        fast = f"TRY_CAST({text.value} AS DOUBLE)"
        value = (
            f"CASE WHEN {fast} IS NOT NULL THEN {fast} WHEN {text.blank} THEN NULL "
            f"ELSE coalesce(TRY_CAST({text.trimmed} AS DOUBLE), CAST('NaN' AS DOUBLE)) END"
        )
        return ScoreSql(quoted, value, text.trimmed)
    raise FileInputError(
        f"score column {column!r} of {source.name} holds {column_type} values, not numbers"
    )
