"""Statements built once, for the paths that run them for every item.

Building a SQLAlchemy statement, and the ORM's handling of an ORM-enabled one, cost a worker
more than running it: profiled while two workers worked off 15,000 answers, a fifth of their
CPU went there (docs/benchmarks.md, "The closed loop's own pace"). Such statements are made
on the table, once, with their values given as parameters at each execution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Dialect, Row, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

_DIALECTS = (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))


def insert_ignoring(
    table: Table, conflict: Sequence[str], returning: Sequence[ColumnElement[object]]
) -> Mapping[str, Insert]:
    """``INSERT ... ON CONFLICT (conflict) DO NOTHING RETURNING returning`` for each dialect
    cxpulse runs on, by the dialect's name (``session.get_bind().dialect.name``); a row that
    hits the conflict returns nothing."""
    return {
        name: insert_fn(table)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(*returning)
        for name, insert_fn in _DIALECTS
    }


class DriverInsert:
    """An INSERT of rows, handed to the database driver as text and plain values: for the
    paths that insert many rows per transaction on SQLite.

    SQLAlchemy's own execution of a compiled insert builds each row's parameters in Python
    (``construct_params``, the execution context): on the submissions' writer that cost more
    than SQLite's work. Here the statement is compiled once per dialect and set of keys (those
    of the first row; every row must have the same), and each row becomes a tuple of its
    values through the same bind processors (the column types' conversions: instants, JSON,
    booleans). A column left out takes its default, which must be a constant.

    A dialect with named parameters (PostgreSQL's psycopg) gets SQLAlchemy's own execution of
    the statement: there the cost is the round trips, not the parameters.
    """

    def __init__(self, statement: Insert) -> None:
        self._statement = statement
        # By dialect object, not name: its processors keep the engine's JSON serialiser.
        self._compiled: dict[tuple[Dialect, tuple[str, ...]], _Compiled] = {}

    def _compile(self, dialect: Dialect, row: Mapping[str, Any]) -> _Compiled:
        keys = (dialect, tuple(row))
        found = self._compiled.get(keys)
        if found is None:
            found = self._compiled[keys] = _Compiled.of(self._statement, keys[1], dialect)
        return found

    def execute(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` (one driver ``executemany``)."""
        if rows and not connection.dialect.positional:
            connection.execute(self._statement, rows)
        elif rows:
            compiled = self._compile(connection.dialect, rows[0])
            connection.exec_driver_sql(compiled.sql, [compiled.values(row) for row in rows])

    def returning(
        self, connection: Connection, rows: Sequence[Mapping[str, Any]], *, per_statement: int = 500
    ) -> list[Row[Any]]:
        """Insert ``rows`` with the statement's RETURNING, ``per_statement`` rows to a
        statement; the returned rows in the database's order."""
        if not rows:
            return []
        if not connection.dialect.positional:
            return list(connection.execute(self._statement, rows))
        compiled = self._compile(connection.dialect, rows[0])
        head, values, tail = compiled.multi_row_parts()
        found: list[Row[Any]] = []
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            sql = head + ", ".join([values] * len(part)) + tail
            flat = tuple(value for row in part for value in compiled.values(row))
            found.extend(connection.exec_driver_sql(sql, flat))
        return found


@dataclass(frozen=True)
class _Compiled:
    sql: str
    width: int
    """How many keys each row has."""
    getters: tuple[tuple[str, bool, Any, Callable[[Any], Any] | None], ...]
    """Per parameter: its name, whether a row gives it (else the constant default), and the
    column type's bind processor."""

    @classmethod
    def of(cls, statement: Insert, keys: tuple[str, ...], dialect: Dialect) -> _Compiled:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        if not compiled.positional or compiled.positiontup is None:
            raise ValueError(f"{dialect.name} does not take positional parameters")
        defaults: dict[str, Any] = {}
        for column in compiled.insert_prefetch:
            default = column.default
            if default is None or not default.is_scalar:
                raise ValueError(f"{column.key} needs a value: its default is not a constant")
            defaults[column.key] = default.arg  # type: ignore[attr-defined]
        unknown = set(keys) - set(compiled.positiontup)
        if unknown:
            raise ValueError(f"not columns of the insert: {', '.join(sorted(unknown))}")
        getters = tuple(
            (
                name,
                name not in defaults,
                defaults.get(name),
                # The dialect's own form of the type, as SQLAlchemy's execution uses (SQLite's
                # DATE formats dates itself; the generic Date leaves them to the driver).
                compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name in compiled.positiontup
        )
        made = cls(compiled.string, len(keys), getters)
        if " VALUES " in made.sql:
            values = made.multi_row_parts()[1]
            if values.count("?") != len(getters) or "(" in values[1:]:
                raise ValueError(f"VALUES holds more than one placeholder per column: {values}")
        return made

    def values(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        if len(row) != self.width:
            raise ValueError("every row of an insert must have the same keys")
        found: list[Any] = []
        for name, given, default, process in self.getters:
            value = row[name] if given else default
            found.append(value if process is None else process(value))
        return tuple(found)

    def multi_row_parts(self) -> tuple[str, str, str]:
        """(``INSERT ... VALUES ``, ``(?, ?, ...)``, `` RETURNING ...``) of the statement."""
        head, found, rest = self.sql.partition(" VALUES ")
        if not found:
            raise ValueError("not an INSERT ... VALUES statement")
        close = rest.index(")") + 1
        return head + found, rest[:close], rest[close:]
