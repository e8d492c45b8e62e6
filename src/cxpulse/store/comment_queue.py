"""The worker's queue of comments to analyse: the responses themselves.

A response with a comment and no row in ``comment_analyses`` is waiting
(``unanalysed_comments``), and so is one whose analysis was made with another version than
its organisation's, or was marked ``comment_analyses.STALE`` because its comment changed
(``stale_comments``; see ``store.text_themes`` for the version). Nothing is written on the
submission path, and a worker that dies loses nothing: what it did not write is still
waiting.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxpulse.store.models import AnalysedComment, Response


@dataclass(frozen=True)
class PendingComment:
    """A response whose comment waits for its (new) analysis."""

    response_id: int
    organisation_id: int
    survey_id: int
    score: float
    comment: str
    language: str | None
    """The answer's own language tag (the survey page's language): a hint for detection."""
    submitted_at: datetime


_PENDING_COLUMNS = (
    Response.id,
    Response.organisation_id,
    Response.survey_id,
    Response.score,
    Response.comment,
    Response.language,
    Response.submitted_at,
)


def _pending(rows: Iterable[Any]) -> list[PendingComment]:
    return [
        PendingComment(
            response_id=int(row.id),
            organisation_id=int(row.organisation_id),
            survey_id=int(row.survey_id),
            score=float(row.score),
            comment=row.comment,
            language=row.language,
            submitted_at=row.submitted_at,
        )
        for row in rows
    ]


def latest_response_id(session: Session) -> int:
    """The highest response id stored (0 when none): where a scan of new answers may stop."""
    return int(session.scalar(select(func.max(Response.id))) or 0)


def unanalysed_comments(
    session: Session,
    *,
    limit: int,
    after_id: int = 0,
    through_id: int | None = None,
    organisation_id: int | None = None,
    exclude: Collection[int] = (),
) -> list[PendingComment]:
    """Responses with a comment and no analysis, in id order (oldest first), among the ids
    after ``after_id`` and up to ``through_id``, leaving out those in ``exclude``; every
    organisation's unless one is given.

    The id range keeps a scan cheap: the worker looks at recent ids each round and sweeps the
    rest a slice at a time, since a scan of the whole table costs what reading it does.
    """
    query = (
        select(*_PENDING_COLUMNS)
        .outerjoin(AnalysedComment, AnalysedComment.response_id == Response.id)
        .where(
            Response.id > after_id,
            Response.comment.is_not(None),
            AnalysedComment.response_id.is_(None),
        )
    )
    if through_id is not None:
        query = query.where(Response.id <= through_id)
    if organisation_id is not None:
        query = query.where(Response.organisation_id == organisation_id)
    if exclude:
        query = query.where(Response.id.not_in(sorted(exclude)))
    return _pending(session.execute(query.order_by(Response.id).limit(limit)))


def stale_comments(
    session: Session,
    organisation_id: int,
    version: str,
    *,
    limit: int,
    exclude: Collection[int] = (),
) -> list[PendingComment]:
    """Responses of the organisation whose analysis was made with another version than
    ``version`` (or whose comment changed since), by id, leaving out those in ``exclude``.

    "Another version" is read as two ranges of the (organisation, version) index, below and
    above ``version`` (a condition ``!=`` or an ``OR`` would make the databases read every
    analysis of the organisation), so asking costs two index probes when there is none. A
    stale analysis whose comment was removed meanwhile comes back with ``comment`` ``""``,
    so that writing any result for it removes the analysis.
    """
    found: list[PendingComment] = []
    for outside in (
        AnalysedComment.taxonomy_version < version,
        AnalysedComment.taxonomy_version > version,
    ):
        if len(found) >= limit:
            break
        query = (
            select(
                Response.id,
                Response.organisation_id,
                Response.survey_id,
                Response.score,
                func.coalesce(Response.comment, "").label("comment"),
                Response.language,
                Response.submitted_at,
            )
            .select_from(AnalysedComment)
            .join(Response, Response.id == AnalysedComment.response_id)
            .where(AnalysedComment.organisation_id == organisation_id, outside)
            .limit(limit - len(found))
        )
        if exclude:
            query = query.where(AnalysedComment.response_id.not_in(sorted(exclude)))
        found += _pending(session.execute(query))
    return sorted(found, key=lambda pending: pending.response_id)


def pending_comments(
    session: Session,
    versions: dict[int, str],
    *,
    limit: int,
    organisation_id: int | None = None,
) -> list[PendingComment]:
    """Up to ``limit`` comments to analyse: unanalysed ones first (oldest first), then those
    whose analysis is not of their organisation's version in ``versions`` (organisation id
    to version). Scans every response: for a one-off pass, not for each round of a worker
    (``unanalysed_comments`` with an id range is)."""
    found = unanalysed_comments(session, limit=limit, organisation_id=organisation_id)
    for org, version in sorted(versions.items()):
        if len(found) >= limit:
            break
        if organisation_id is not None and org != organisation_id:
            continue
        found.extend(stale_comments(session, org, version, limit=limit - len(found)))
    return found


_CHUNK = 500
"""Ids per ``IN`` list: far below both databases' limits on bound parameters."""


def still_waiting(
    session: Session, response_ids: Collection[int], versions: Mapping[int, str]
) -> set[int]:
    """Which of ``response_ids`` still wait for an analysis: a comment without an analysis
    of its organisation's version in ``versions`` (organisation id to version; an
    organisation left out counts any analysis as done), or an analysis whose comment was
    removed. A response deleted meanwhile waits no longer.

    For a worker that has just claimed them: another worker may have written them between
    the moment they were found and the claim."""
    ids = sorted(set(response_ids))
    waiting: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(
                Response.id,
                Response.organisation_id,
                Response.comment.is_(None).label("no_comment"),
                AnalysedComment.taxonomy_version,
            )
            .outerjoin(AnalysedComment, AnalysedComment.response_id == Response.id)
            .where(Response.id.in_(ids[start : start + _CHUNK]))
        )
        for row in rows:
            analysed = row.taxonomy_version is not None
            if row.no_comment:
                if analysed:
                    waiting.add(int(row.id))
                continue
            wanted = versions.get(int(row.organisation_id))
            if not analysed or (wanted is not None and row.taxonomy_version != wanted):
                waiting.add(int(row.id))
    return waiting
