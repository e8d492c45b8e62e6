"""Daily histograms kept in step with the responses, in the same transaction as each change.

A change adds +1 or -1 at one key; ``INSERT ... ON CONFLICT DO UPDATE SET count = count +
excluded.count`` makes that a single atomic statement on both databases, so concurrent
writers never lose an increment. Keys are applied in sorted order so that two PostgreSQL
transactions touching the same keys lock them in the same order and cannot deadlock.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, Table, and_, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.expression import Executable

from cxpulse.store import prebuilt
from cxpulse.store.models import DailyRollup, Response
from cxpulse.store.sql import utc_day


class RollupKey(NamedTuple):
    organisation_id: int
    survey_id: int
    day: date
    channel: str
    touchpoint: str
    score: float


def key_of(
    organisation_id: int,
    survey_id: int,
    submitted_at: datetime,
    channel: str | None,
    touchpoint: str | None,
    score: float,
) -> RollupKey:
    """Where a response counts: ``submitted_at`` must be UTC (the repository ensures it)."""
    return RollupKey(
        organisation_id,
        survey_id,
        submitted_at.date(),
        channel or "",
        touchpoint or "",
        float(score),
    )


def key_of_response(response: Response) -> RollupKey:
    return key_of(
        response.organisation_id,
        response.survey_id,
        response.submitted_at,
        response.channel,
        response.touchpoint,
        response.score,
    )


_TABLE = cast(Table, DailyRollup.__table__)
_PRIMARY_KEY = ["survey_id", "day", "channel", "touchpoint", "score"]


def apply_deltas(session: Session, deltas: Mapping[RollupKey, int] | Iterable[RollupKey]) -> None:
    """Add each delta (or +1 per key given as an iterable) to the rollups."""
    counted = Counter(deltas) if not isinstance(deltas, Mapping) else deltas
    changes = sorted((key, delta) for key, delta in counted.items() if delta)
    # Runs of one sign, keeping the sorted order (and so the locking order) across runs.
    for positive, run in itertools.groupby(changes, key=lambda change: change[1] > 0):
        batch = list(run)
        if positive:
            _add(session, batch)
        else:
            _subtract(session, batch)


@functools.cache
def _upsert(dialect: str) -> Executable:
    """Built once per dialect: building ``excluded`` costs more than running the statement."""
    if dialect == "postgresql":
        pg = postgresql.insert(_TABLE)
        return pg.on_conflict_do_update(
            index_elements=_PRIMARY_KEY, set_={"count": _TABLE.c.count + pg.excluded.count}
        )
    lite = sqlite.insert(_TABLE)
    return lite.on_conflict_do_update(
        index_elements=_PRIMARY_KEY, set_={"count": _TABLE.c.count + lite.excluded.count}
    )


_UPSERTS = {
    name: prebuilt.DriverInsert(cast(Insert, _upsert(name))) for name in ("postgresql", "sqlite")
}
"""``_upsert`` by dialect name, handed straight to the driver where it can (the busiest path:
every batch of submissions)."""


def _add(session: Session, changes: list[tuple[RollupKey, int]]) -> None:
    rows: list[dict[str, Any]] = [{**key._asdict(), "count": delta} for key, delta in changes]
    connection = session.connection()
    _UPSERTS[connection.dialect.name].execute(connection, rows)


def _subtract(session: Session, changes: list[tuple[RollupKey, int]]) -> None:
    # Not an upsert: both databases check the CHECK (count >= 0) on the proposed row before
    # they look for the conflict, so a negative insert would fail even when the row exists.
    keys = [{f"k_{name}": getattr(key, name) for name in _PRIMARY_KEY} for key, _ in changes]
    matches = and_(*(_TABLE.c[name] == bindparam(f"k_{name}") for name in _PRIMARY_KEY))
    for params, (key, delta) in zip(keys, changes, strict=True):
        updated = session.execute(
            update(_TABLE).where(matches).values(count=_TABLE.c.count + delta), params
        )
        if cast(CursorResult[Any], updated).rowcount != 1:
            raise RuntimeError(f"rollup {key} is missing: run rollups.rebuild to repair it")
    # A zero count says nothing a missing row does not; dropping it keeps the table small.
    session.execute(delete(_TABLE).where(matches, _TABLE.c.count == 0), keys)


def latest_day(session: Session, organisation_id: int, survey_id: int) -> date | None:
    """The day of the survey's latest response: the end of one index range of the rollups."""
    day = session.scalar(
        select(func.max(DailyRollup.day)).where(
            DailyRollup.survey_id == survey_id,
            DailyRollup.organisation_id + 0 == organisation_id,
        )
    )
    return None if day is None else _as_date(day)


def day_counts(
    session: Session, organisation_id: int, survey_id: int, start: date, end: date
) -> dict[date, int]:
    """Answers per UTC day from ``start`` to ``end`` (exclusive), every filter aside: one
    range of the rollups."""
    rows = session.execute(
        select(DailyRollup.day, func.sum(DailyRollup.count))
        .where(
            DailyRollup.survey_id == survey_id,
            DailyRollup.organisation_id + 0 == organisation_id,
            DailyRollup.day >= start,
            DailyRollup.day < end,
        )
        .group_by(DailyRollup.day)
    )
    return {_as_date(day): int(count) for day, count in rows}


def _as_date(day: object) -> date:
    # SQLite hands back the text it stores when the column is read through an aggregate.
    return day if isinstance(day, date) else date.fromisoformat(str(day)[:10])


def stored(
    session: Session, organisation_id: int | None = None, survey_id: int | None = None
) -> dict[RollupKey, int]:
    """The rollup rows as they are."""
    query = select(
        DailyRollup.organisation_id,
        DailyRollup.survey_id,
        DailyRollup.day,
        DailyRollup.channel,
        DailyRollup.touchpoint,
        DailyRollup.score,
        DailyRollup.count,
    )
    if organisation_id is not None:
        query = query.where(DailyRollup.organisation_id == organisation_id)
    if survey_id is not None:
        query = query.where(DailyRollup.survey_id == survey_id)
    return {RollupKey(*row[:6]): row[6] for row in session.execute(query)}


def recount(
    session: Session, organisation_id: int | None = None, survey_id: int | None = None
) -> dict[RollupKey, int]:
    """What the rollups should hold: one GROUP BY over the responses."""
    dialect = session.get_bind().dialect.name
    inner = select(
        Response.organisation_id,
        Response.survey_id,
        utc_day(Response.submitted_at, dialect).label("day"),
        func.coalesce(Response.channel, "").label("channel"),
        func.coalesce(Response.touchpoint, "").label("touchpoint"),
        Response.score,
    )
    if organisation_id is not None:
        inner = inner.where(Response.organisation_id == organisation_id)
    if survey_id is not None:
        inner = inner.where(Response.survey_id == survey_id)
    # Grouping the subquery's columns, not the expressions: PostgreSQL does not see that two
    # expressions with separately bound parameters are the same.
    sub = inner.subquery()
    dims = [sub.c[name] for name in RollupKey._fields]
    query = select(*dims, func.count()).group_by(*dims)
    return {
        RollupKey(row[0], row[1], row[2], row[3], row[4], float(row[5])): row[6]
        for row in session.execute(query)
    }


def rebuild(session: Session, organisation_id: int, survey_id: int | None = None) -> None:
    """Replace an organisation's (or one survey's) rollups by a recount: a repair tool."""
    removal = delete(DailyRollup).where(DailyRollup.organisation_id == organisation_id)
    if survey_id is not None:
        removal = removal.where(DailyRollup.survey_id == survey_id)
    session.execute(removal)
    apply_deltas(session, recount(session, organisation_id, survey_id))
