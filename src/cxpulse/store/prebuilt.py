"""Statements built once, for the paths that run them for every item.

Building a SQLAlchemy statement, and the ORM's handling of an ORM-enabled one, cost a worker
more than running it: profiled while two workers worked off 15,000 answers, a fifth of their
CPU went there (docs/benchmarks.md, "The closed loop's own pace"). Such statements are made
on the table, once, with their values given as parameters at each execution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import ColumnElement, Table
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
