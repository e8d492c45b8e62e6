"""The keyset-pagination condition: rows after (or before) a (moment, id) key, in one place.

Paging by an index range instead of OFFSET makes page 1,000 cost what page 1 does, and rows
added meanwhile never shift a page. Every listing ordered by (moment, id) uses ``after_key``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import InstrumentedAttribute


def after_key(
    moment_column: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[int],
    key: tuple[datetime, int],
    *,
    descending: bool = False,
) -> list[ColumnElement[Any]]:
    """WHERE conditions for the rows that follow ``key`` in (moment, id) order (ascending, or
    descending when ``descending``).

    The first condition is implied by the second; it is there so that the database starts its
    index range at the key's moment instead of filtering the whole index.
    """
    moment, last_id = key
    if descending:
        return [
            moment_column <= moment,
            or_(moment_column < moment, and_(moment_column == moment, id_column < last_id)),
        ]
    return [
        moment_column >= moment,
        or_(moment_column > moment, and_(moment_column == moment, id_column > last_id)),
    ]
