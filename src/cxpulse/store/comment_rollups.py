"""Daily counts of analysed comments and of theme mentions, kept in step with the analyses.

``comment_rollups`` counts a survey's analysed comments per UTC day and score,
``theme_rollups`` the answers mentioning each theme, per sentiment of the mention too. Every
change of ``comment_analyses`` or ``response_themes`` goes through
``store.comment_analyses`` or ``store.text_themes``, which add the matching deltas here in
the same transaction, as ``store.rollups`` does for the responses: ``INSERT ... ON CONFLICT
DO UPDATE SET count = count + excluded.count`` for additions, an update then the removal of
zero rows for subtractions, keys in sorted order so that two PostgreSQL transactions lock
them alike. ``recount`` says what they should hold and ``rebuild`` repairs them.
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

from cxpulse.store import prebuilt
from cxpulse.store.models import AnalysedComment, CommentRollup, ResponseTheme, ThemeRollup
from cxpulse.store.sql import utc_day


class CommentKey(NamedTuple):
    organisation_id: int
    survey_id: int
    day: date
    score: float


class ThemeKey(NamedTuple):
    organisation_id: int
    survey_id: int
    theme_id: int
    day: date
    score: float
    sentiment: str


def comment_key(
    organisation_id: int, survey_id: int, submitted_at: datetime, score: float
) -> CommentKey:
    """Where an analysed comment counts; ``submitted_at`` is UTC (the store ensures it)."""
    return CommentKey(organisation_id, survey_id, submitted_at.date(), float(score))


def theme_key(
    organisation_id: int,
    survey_id: int,
    theme_id: int,
    submitted_at: datetime,
    score: float,
    sentiment: str,
) -> ThemeKey:
    return ThemeKey(
        organisation_id, survey_id, theme_id, submitted_at.date(), float(score), sentiment
    )


_COMMENTS = cast(Table, CommentRollup.__table__)
_THEMES = cast(Table, ThemeRollup.__table__)
_KEYS: dict[str, list[str]] = {
    "comment_rollups": ["survey_id", "day", "score"],
    "theme_rollups": ["survey_id", "theme_id", "day", "score", "sentiment"],
}


def apply(
    session: Session,
    comments: Mapping[CommentKey, int] | None = None,
    themes: Mapping[ThemeKey, int] | None = None,
) -> None:
    """Add each delta to the rollups."""
    _apply(session, _COMMENTS, comments or {})
    _apply(session, _THEMES, themes or {})


def _apply(session: Session, table: Table, deltas: Mapping[Any, int]) -> None:
    changes = sorted((key, delta) for key, delta in deltas.items() if delta)
    # Runs of one sign, keeping the sorted order (and so the locking order) across runs.
    for positive, run in itertools.groupby(changes, key=lambda change: change[1] > 0):
        batch = list(run)
        if positive:
            rows = [{**key._asdict(), "count": delta} for key, delta in batch]
            connection = session.connection()
            _upsert(table.name, connection.dialect.name).execute(connection, rows)
        else:
            _subtract(session, table, batch)


@functools.cache
def _upsert(table_name: str, dialect: str) -> prebuilt.DriverInsert:
    """Handed to the driver as text and tuples where it can (SQLite): the worker's write
    of analyses runs it while it holds the one write lock."""
    table = _COMMENTS if table_name == _COMMENTS.name else _THEMES
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return prebuilt.DriverInsert(
        cast(
            Insert,
            insert.on_conflict_do_update(
                index_elements=_KEYS[table.name],
                set_={"count": table.c.count + insert.excluded.count},
            ),
        )
    )


def _subtract(session: Session, table: Table, changes: list[tuple[Any, int]]) -> None:
    # Not an upsert: both databases check the CHECK (count >= 0) of the proposed row before
    # they look for the conflict, so a negative insert would fail even when the row exists.
    names = _KEYS[table.name]
    keys = [{f"k_{name}": getattr(key, name) for name in names} for key, _ in changes]
    matches = and_(*(table.c[name] == bindparam(f"k_{name}") for name in names))
    for params, (key, delta) in zip(keys, changes, strict=True):
        updated = session.execute(
            update(table).where(matches).values(count=table.c.count + delta), params
        )
        if cast(CursorResult[Any], updated).rowcount != 1:
            raise RuntimeError(f"{table.name} {key} is missing: rebuild them to repair it")
    session.execute(delete(table).where(matches, table.c.count == 0), keys)


class Existing(NamedTuple):
    """What stored analyses of some responses count in the rollups now."""

    analysed: frozenset[int]
    """The responses among them that have an analysis."""
    comments: Counter[CommentKey]
    themes: Counter[ThemeKey]

    @property
    def counts(self) -> tuple[Counter[CommentKey], Counter[ThemeKey]]:
        return self.comments, self.themes


_ANALYSIS_KEYS = cast(Table, AnalysedComment.__table__)
_MENTION_KEYS = cast(Table, ResponseTheme.__table__)


def existing(session: Session, response_ids: Iterable[int]) -> Existing:
    """Where the stored analyses and mentions of ``response_ids`` count now: subtract these
    before changing or removing them.

    Core statements on the tables (the ORM's statement path cost more than the reads, in the
    worker's write transaction that holds SQLite's one write lock), and the mentions only of
    responses that have an analysis: a mention belongs to its analysis (the database
    cascades), so a batch analysed for the first time costs one read."""
    ids = sorted(set(response_ids))
    analysed: set[int] = set()
    comments: Counter[CommentKey] = Counter()
    themes: Counter[ThemeKey] = Counter()
    a, m = _ANALYSIS_KEYS.c, _MENTION_KEYS.c
    # Core statements skip the ORM's autoflush: flush here, so that analyses added to the
    # session and not yet flushed count too.
    session.flush()
    connection = session.connection()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for analysis in connection.execute(
            select(a.response_id, a.organisation_id, a.survey_id, a.submitted_at, a.score).where(
                a.response_id.in_(chunk)
            )
        ):
            analysed.add(int(analysis.response_id))
            comments[comment_key(*analysis[1:])] += 1
    with_analysis = sorted(analysed)
    for start in range(0, len(with_analysis), 500):
        for mention in connection.execute(
            select(
                m.organisation_id, m.survey_id, m.theme_id, m.submitted_at, m.score, m.sentiment
            ).where(m.response_id.in_(with_analysis[start : start + 500]))
        ):
            themes[theme_key(*mention)] += 1
    return Existing(frozenset(analysed), comments, themes)


def count_existing(
    session: Session, response_ids: Iterable[int]
) -> tuple[Counter[CommentKey], Counter[ThemeKey]]:
    """``existing``'s counts."""
    return existing(session, response_ids).counts


def difference(
    after: tuple[Counter[CommentKey], Counter[ThemeKey]],
    before: tuple[Counter[CommentKey], Counter[ThemeKey]],
) -> tuple[Counter[CommentKey], Counter[ThemeKey]]:
    """The deltas that take the rollups from ``before`` to ``after``."""
    comments: Counter[CommentKey] = Counter(after[0])
    comments.subtract(before[0])
    themes: Counter[ThemeKey] = Counter(after[1])
    themes.subtract(before[1])
    return comments, themes


# -- checking and repairing --------------------------------------------------------------------


def stored(
    session: Session, organisation_id: int | None = None
) -> tuple[dict[CommentKey, int], dict[ThemeKey, int]]:
    """The rollup rows as they are."""
    comments = select(
        CommentRollup.organisation_id,
        CommentRollup.survey_id,
        CommentRollup.day,
        CommentRollup.score,
        CommentRollup.count,
    )
    themes = select(
        ThemeRollup.organisation_id,
        ThemeRollup.survey_id,
        ThemeRollup.theme_id,
        ThemeRollup.day,
        ThemeRollup.score,
        ThemeRollup.sentiment,
        ThemeRollup.count,
    )
    if organisation_id is not None:
        comments = comments.where(CommentRollup.organisation_id == organisation_id)
        themes = themes.where(ThemeRollup.organisation_id == organisation_id)
    return (
        {CommentKey(*row[:4]): int(row[4]) for row in session.execute(comments)},
        {ThemeKey(*row[:6]): int(row[6]) for row in session.execute(themes)},
    )


def recount(
    session: Session, organisation_id: int | None = None
) -> tuple[dict[CommentKey, int], dict[ThemeKey, int]]:
    """What the rollups should hold: a GROUP BY over the analyses and the mentions."""
    dialect = session.get_bind().dialect.name
    analyses = select(
        AnalysedComment.organisation_id,
        AnalysedComment.survey_id,
        utc_day(AnalysedComment.submitted_at, dialect).label("day"),
        AnalysedComment.score,
    )
    mentions = select(
        ResponseTheme.organisation_id,
        ResponseTheme.survey_id,
        ResponseTheme.theme_id,
        utc_day(ResponseTheme.submitted_at, dialect).label("day"),
        ResponseTheme.score,
        ResponseTheme.sentiment,
    )
    if organisation_id is not None:
        analyses = analyses.where(AnalysedComment.organisation_id == organisation_id)
        mentions = mentions.where(ResponseTheme.organisation_id == organisation_id)
    # Grouping the subquery's columns, not the expressions: PostgreSQL does not see that two
    # expressions with separately bound parameters are the same.
    comments_sub = analyses.subquery()
    comment_dims = [comments_sub.c[name] for name in CommentKey._fields]
    themes_sub = mentions.subquery()
    theme_dims = [themes_sub.c[name] for name in ThemeKey._fields]
    return (
        {
            CommentKey(row[0], row[1], _as_date(row[2]), float(row[3])): int(row[4])
            for row in session.execute(select(*comment_dims, func.count()).group_by(*comment_dims))
        },
        {
            ThemeKey(row[0], row[1], row[2], _as_date(row[3]), float(row[4]), row[5]): int(row[6])
            for row in session.execute(select(*theme_dims, func.count()).group_by(*theme_dims))
        },
    )


def rebuild(session: Session, organisation_id: int) -> None:
    """Replace an organisation's rollups by a recount: a repair tool."""
    session.execute(delete(CommentRollup).where(CommentRollup.organisation_id == organisation_id))
    session.execute(delete(ThemeRollup).where(ThemeRollup.organisation_id == organisation_id))
    comments, themes = recount(session, organisation_id)
    apply(session, comments, themes)


def _as_date(day: object) -> date:
    # SQLite hands back the text it stores when the column is read through an expression.
    return day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
