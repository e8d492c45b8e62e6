"""Stored comment analyses: writing results, and keeping them in step with the responses.

The worker finds what to analyse with ``store.comment_queue`` (the responses without an
analysis of their organisation's version); nothing is written on the submission path.

``write_analyses`` stores a batch of results with their theme mentions in the caller's
transaction, replacing what was there, so analysing a comment twice leaves one analysis.
It re-reads the responses first and skips any whose comment or score changed since they
were read (they stay in the queue), so a slow worker never overwrites a newer answer; on
PostgreSQL it also skips, without waiting, a response another transaction is changing or
deleting at that moment (it stays in the queue too), and waits for its turn behind another
worker writing the same organisation's analyses (``store.comment_claims``), so the rest of
a batch is written whatever one request does.

``on_response_changed`` and ``on_response_deleted`` are for the code that edits or deletes
a response: the copies of the answer's time and score, and the daily counts of
``store.comment_rollups``, follow at once, and a changed comment goes back to the queue.
Every change here updates those daily counts in the same transaction.

The reads for pages (histograms of themes, listings) are in ``store.theme_histograms`` and
``store.comment_listing``; the examples sentiment models learn from in
``store.sentiment_models``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from cxpulse.store import comment_claims, comment_rollups, prebuilt, text_themes
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import (
    COMMENT_SENTIMENTS,
    SENTIMENT_SOURCES,
    AnalysedComment,
    Organisation,
    Response,
    ResponseTheme,
    TextTheme,
)
from cxpulse.store.types import utc_now

STALE = ""
"""The version of an analysis whose comment changed: older than every real version, so the
worker's queue (``store.comment_queue``) finds it."""
_CHUNK = 500
"""Ids per ``IN`` list: far below both databases' limits on bound parameters."""
_ANALYSES = cast(Table, AnalysedComment.__table__)
_MENTIONS = cast(Table, ResponseTheme.__table__)
_RESPONSES = cast(Table, Response.__table__)
_THEMES = cast(Table, TextTheme.__table__)


@dataclass(frozen=True)
class NewMention:
    theme_id: int
    sentiment: str


@dataclass(frozen=True)
class NewAnalysis:
    """One result to store: what the analysis made of ``comment`` (with ``score``, as read
    from the response)."""

    response_id: int
    comment: str
    score: float
    language: str | None
    sentiment: str
    sentiment_source: str | None
    redacted_comment: str
    mentions: tuple[NewMention, ...] = ()


@dataclass(frozen=True)
class WriteCounts:
    written: int
    skipped: int
    """Changed or deleted since they were read: left for the next round."""
    removed: int
    """Responses whose comment was removed meanwhile: their analysis is deleted if the
    change of the response had not deleted it already."""


@dataclass(frozen=True)
class AnalysisSettings:
    """What an organisation's analyses depend on besides the code."""

    taxonomy_version: int
    redact_comments: bool


# -- settings ----------------------------------------------------------------------------------


def analysis_settings(session: Session) -> dict[int, AnalysisSettings]:
    """Every organisation's version and redaction choice, by id: one small read per round."""
    rows = session.execute(
        select(Organisation.id, Organisation.taxonomy_version, Organisation.redact_comments)
    )
    return {
        int(row.id): AnalysisSettings(int(row.taxonomy_version), bool(row.redact_comments))
        for row in rows
    }


def set_redact_comments(session: Session, organisation_id: int, redact: bool) -> None:
    """Choose whether personal data in comments is replaced where they are stored. Turning it
    on also sends every stored analysis back to the queue, so the worker redacts the comments
    stored before, in the background."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation", organisation_id)
    if organisation.redact_comments == redact:
        return
    organisation.redact_comments = redact
    session.flush()
    if redact:
        text_themes.bump_version(session, organisation_id)


# -- writing -----------------------------------------------------------------------------------


BACKGROUND_LOCK_TIMEOUT = "100ms"
"""How long a background write waits for a row lock on PostgreSQL before it gives up (and the
worker retries next round). Shorter than PostgreSQL's deadlock_timeout (1 s), so that when the
worker and a request wait on each other the worker's transaction is the one that ends, never
the customer's submission."""


def yield_to_requests(session: Session) -> None:
    """Make the rest of this (background) transaction give way to requests on PostgreSQL:
    a lock it cannot take within ``BACKGROUND_LOCK_TIMEOUT`` ends it instead of a request.
    SQLite has one writer at a time and needs nothing."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = '{BACKGROUND_LOCK_TIMEOUT}'"))


def write_analyses(
    session: Session,
    organisation_id: int,
    version: str,
    analyses: Sequence[NewAnalysis],
    *,
    replace_comments: bool = False,
    now: datetime | None = None,
) -> WriteCounts:
    """Store ``analyses`` (of the organisation's responses) made with ``version``, each
    replacing the response's earlier analysis and mentions.

    A response deleted since it was read is skipped; one whose comment or score changed is
    skipped too (it is still queued); one whose comment is now gone loses its analysis.
    ``replace_comments`` (the organisation redacts at storage) also stores the redacted
    text as the response's comment. Invalid when a mention names a theme that is not the
    organisation's, or a sentiment that does not exist.
    """
    if not analyses:
        return WriteCounts(0, 0, 0)
    if not version or len(version) > 32:
        raise Invalid("version", "must be 1 to 32 characters")
    _check(session, organisation_id, analyses)
    # Another worker's write of this organisation adds to the same daily counts: wait for
    # it here, before the lock timeout below applies, rather than give up on its rows.
    comment_claims.take_write_turn(session, organisation_id)
    yield_to_requests(session)
    moment = now or utc_now()
    current = _lock_current(session, organisation_id, [a.response_id for a in analyses])
    rows: list[dict[str, Any]] = []
    mentions: list[dict[str, Any]] = []
    gone: list[int] = []
    comments: list[dict[str, Any]] = []
    skipped = 0
    # The daily counts move by what is written less what was there; what is written is known
    # here, so only what was there is read (the write lock is held meanwhile on SQLite).
    added_comments: Counter[comment_rollups.CommentKey] = Counter()
    added_themes: Counter[comment_rollups.ThemeKey] = Counter()
    for analysis in {a.response_id: a for a in analyses}.values():
        response = current.get(analysis.response_id)
        if response is None:
            skipped += 1
            continue
        if response.comment is None:
            gone.append(analysis.response_id)
            continue
        if response.comment != analysis.comment or response.score != analysis.score:
            skipped += 1
            continue
        rows.append(
            {
                "response_id": analysis.response_id,
                "organisation_id": organisation_id,
                "survey_id": response.survey_id,
                "submitted_at": response.submitted_at,
                "score": response.score,
                "language": analysis.language,
                "sentiment": analysis.sentiment,
                "sentiment_source": analysis.sentiment_source,
                "redacted_comment": analysis.redacted_comment,
                "taxonomy_version": version,
                "analysed_at": moment,
            }
        )
        added_comments[
            comment_rollups.comment_key(
                organisation_id, response.survey_id, response.submitted_at, response.score
            )
        ] += 1
        for mention in {m.theme_id: m for m in analysis.mentions}.values():
            mentions.append(
                {
                    "response_id": analysis.response_id,
                    "theme_id": mention.theme_id,
                    "organisation_id": organisation_id,
                    "survey_id": response.survey_id,
                    "submitted_at": response.submitted_at,
                    "score": response.score,
                    "sentiment": mention.sentiment,
                }
            )
            added_themes[
                comment_rollups.theme_key(
                    organisation_id,
                    response.survey_id,
                    mention.theme_id,
                    response.submitted_at,
                    response.score,
                    mention.sentiment,
                )
            ] += 1
        if replace_comments and analysis.redacted_comment != response.comment:
            comments.append({"id": analysis.response_id, "redacted": analysis.redacted_comment})
    written = [row["response_id"] for row in rows]
    before = comment_rollups.existing(session, [*written, *gone])
    with_analysis = [response_id for response_id in gone if response_id in before.analysed]
    if with_analysis:
        _delete_analyses(session, organisation_id, with_analysis)
    if rows:
        _upsert(session, rows)
        # The old mentions go, whatever the new analysis found (a response analysed for the
        # first time has none); ids in slices.
        replaced = [response_id for response_id in written if response_id in before.analysed]
        for start in range(0, len(replaced), _CHUNK):
            session.execute(
                delete(ResponseTheme).where(
                    ResponseTheme.response_id.in_(replaced[start : start + _CHUNK])
                )
            )
        if mentions:
            _INSERT_MENTIONS.execute(session.connection(), mentions)
    for change in comments:
        session.execute(
            update(Response)
            .where(Response.organisation_id == organisation_id, Response.id == change["id"])
            .values(comment=change["redacted"])
        )
    comment_rollups.apply(
        session, *comment_rollups.difference((added_comments, added_themes), before.counts)
    )
    return WriteCounts(written=len(rows), skipped=skipped, removed=len(gone))


def _check(session: Session, organisation_id: int, analyses: Sequence[NewAnalysis]) -> None:
    theme_ids: set[int] = set()
    for analysis in analyses:
        if analysis.sentiment not in COMMENT_SENTIMENTS:
            raise Invalid("sentiment", f"{analysis.sentiment!r} is not a sentiment")
        source = analysis.sentiment_source
        if source is not None and source not in SENTIMENT_SOURCES:
            raise Invalid("sentiment_source", f"{source!r} is not a sentiment source")
        if analysis.language is not None and not 2 <= len(analysis.language) <= 8:
            raise Invalid("language", f"{analysis.language!r} is not a language code")
        for mention in analysis.mentions:
            if mention.sentiment not in COMMENT_SENTIMENTS:
                raise Invalid("sentiment", f"{mention.sentiment!r} is not a sentiment")
            theme_ids.add(mention.theme_id)
    wanted = sorted(theme_ids)
    known: set[int] = set()
    themes = _THEMES.c
    for start in range(0, len(wanted), _CHUNK):
        known.update(
            session.connection().scalars(
                select(themes.id).where(
                    themes.organisation_id == organisation_id,
                    themes.id.in_(wanted[start : start + _CHUNK]),
                )
            )
        )
    unknown = theme_ids - known
    if unknown:
        raise Invalid("theme_id", f"no theme {min(unknown)} in this organisation")


def _lock_current(
    session: Session, organisation_id: int, response_ids: list[int]
) -> dict[int, Any]:
    """The responses as they are now, locked against deletion and change until commit (on
    PostgreSQL; SQLite's write transaction holds the whole database already).

    A response another transaction is changing or deleting (a request editing the answer)
    is left out rather than waited for: its analysis is skipped like that of a deleted
    response and it stays in the queue, so one busy answer never costs the whole batch.
    ``FOR NO KEY UPDATE`` is the lock the write needs (it may change the comment, never the
    id), and unlike ``FOR UPDATE`` it does not clash with rows being inserted that refer to
    the response (tags, rule matches)."""
    found: dict[int, Any] = {}
    ids = sorted(set(response_ids))
    columns = _RESPONSES.c
    connection = session.connection()
    for start in range(0, len(ids), _CHUNK):
        # Core on the table: the ORM's statement path cost more than the read itself.
        query = (
            select(
                columns.id,
                columns.survey_id,
                columns.submitted_at,
                columns.score,
                columns.comment,
            )
            .where(
                columns.organisation_id == organisation_id,
                columns.id.in_(ids[start : start + _CHUNK]),
            )
            .order_by(columns.id)
            .with_for_update(key_share=True, skip_locked=True)
        )
        found.update((int(row.id), row) for row in connection.execute(query))
    return found


def _analyses_upsert(dialect: str) -> Insert:
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_fn(_ANALYSES)
    replaced = {
        column.name: statement.excluded[column.name]
        for column in _ANALYSES.columns
        if column.name not in ("response_id", "organisation_id")
    }
    return cast(
        Insert, statement.on_conflict_do_update(index_elements=["response_id"], set_=replaced)
    )


# Handed to the driver as text and tuples where it can (SQLite): the worker's write holds
# the one write lock, and SQLAlchemy's building of each row's parameters cost more than
# SQLite's own work on them.
_UPSERT_ANALYSES = {
    name: prebuilt.DriverInsert(_analyses_upsert(name)) for name in ("postgresql", "sqlite")
}
_INSERT_MENTIONS = prebuilt.DriverInsert(insert(_MENTIONS))


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    """A batch of analyses in one statement, each replacing the response's earlier one.
    Every row has every column."""
    connection = session.connection()
    _UPSERT_ANALYSES[connection.dialect.name].execute(connection, rows)


def _delete_analyses(session: Session, organisation_id: int, response_ids: list[int]) -> None:
    """Delete analyses (their mentions go with them: the database cascades)."""
    for start in range(0, len(response_ids), _CHUNK):
        session.execute(
            delete(AnalysedComment).where(
                AnalysedComment.organisation_id == organisation_id,
                AnalysedComment.response_id.in_(response_ids[start : start + _CHUNK]),
            )
        )


def on_response_deleted(session: Session, organisation_id: int, response_id: int) -> None:
    """Take a response's analysis out before the response is deleted, in the same
    transaction (the database would cascade the rows, but not the daily counts)."""
    before = comment_rollups.count_existing(session, [response_id])
    _delete_analyses(session, organisation_id, [response_id])
    after = comment_rollups.count_existing(session, [response_id])
    comment_rollups.apply(session, *comment_rollups.difference(after, before))


def on_response_changed(session: Session, response: Response, *, reanalyse: bool) -> None:
    """Keep a changed response's analysis in step, in the caller's transaction: the copies
    of its survey time and score change at once; ``reanalyse`` (its comment, score or
    language changed) sends it back to the queue, keeping the old analysis on the pages
    until the new one is written; a removed comment takes its analysis away."""
    if response.comment is None:
        on_response_deleted(session, response.organisation_id, response.id)
        return
    before = comment_rollups.count_existing(session, [response.id])
    copies = {"submitted_at": response.submitted_at, "score": response.score}
    changes: dict[str, Any] = dict(copies)
    if reanalyse:
        changes["taxonomy_version"] = STALE
    session.execute(
        update(AnalysedComment)
        .where(
            AnalysedComment.organisation_id == response.organisation_id,
            AnalysedComment.response_id == response.id,
        )
        .values(**changes)
    )
    session.execute(
        update(ResponseTheme)
        .where(
            ResponseTheme.organisation_id == response.organisation_id,
            ResponseTheme.response_id == response.id,
        )
        .values(**copies)
    )
    after = comment_rollups.count_existing(session, [response.id])
    comment_rollups.apply(session, *comment_rollups.difference(after, before))
