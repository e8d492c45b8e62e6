"""Comments as cxpulse shows them: with personal data replaced, in the API and in exports.

No answer of the API and no export gives a comment as it is stored. The analysis of a
comment keeps its redacted text (``comment_analyses.redacted_comment``, written by the worker
seconds after the answer arrives); a comment without a current analysis (not analysed yet,
or changed since) is redacted on the spot by the same function the analysis uses
(``cxpulse.redaction.redact``), so nothing waits for the worker and both give the same text.

Two shapes of the same rule:

- ``shown_comments``: for a page of responses already read (the API's listings);
- ``exported_comment``: a column for the export query, so that rows streamed by the
  thousand keep the shape the database gives them (``store.exports.row_pages``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, and_, case, literal, select, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from cxpulse.redaction import redact
from cxpulse.store.comment_analyses import STALE
from cxpulse.store.models import AnalysedComment, Response

_CHUNK = 500
"""Ids per ``IN`` list: far below both databases' limits on bound parameters."""

_STORED = "s"
_RAW = "r"
"""First character of ``exported_comment``'s value: which text follows (stripped on read)."""


def shown_comment(comment: str | None) -> str | None:
    """``comment`` with personal data replaced (None stays None)."""
    return None if comment is None else redact(comment).text


def shown_comments(
    session: Session, organisation_id: int, comments: Mapping[int, str | None]
) -> dict[int, str | None]:
    """The shown text of each response's comment (response id to comment as stored): the
    redacted text of its current analysis, else the comment redacted now."""
    wanted = sorted(response_id for response_id, text in comments.items() if text)
    stored: dict[int, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = session.execute(
            select(AnalysedComment.response_id, AnalysedComment.redacted_comment).where(
                AnalysedComment.organisation_id == organisation_id,
                AnalysedComment.response_id.in_(wanted[start : start + _CHUNK]),
                AnalysedComment.taxonomy_version != STALE,
            )
        )
        stored.update((int(response_id), text) for response_id, text in rows)
    return {
        response_id: stored[response_id] if response_id in stored else shown_comment(text)
        for response_id, text in comments.items()
    }


class _TaggedComment(TypeDecorator[str]):
    """Reads ``exported_comment``'s tagged text: a stored redaction as it is, a raw comment
    redacted. Done while SQLAlchemy reads each row, so the rows stay rows."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        text = str(value)
        tag, body = text[:1], text[1:]
        return body if tag == _STORED else redact(body).text


def exported_comment() -> ColumnElement[str | None]:
    """The shown comment as a column of a query over ``Response``; the query must
    ``outerjoin(AnalysedComment, AnalysedComment.response_id == Response.id)``.

    The database picks the text (the current analysis's redaction, else the raw comment)
    and tags it with which one it is; only raw comments are redacted when the row is read.
    """
    current = and_(
        AnalysedComment.response_id.is_not(None), AnalysedComment.taxonomy_version != STALE
    )
    tagged = case(
        (current, literal(_STORED, Text) + AnalysedComment.redacted_comment),
        else_=literal(_RAW, Text) + Response.comment,
    )
    return type_coerce(tagged, _TaggedComment())


def with_analysis_join(query: Select[Any]) -> Select[Any]:
    """``query`` (over ``Response``) joined to the analyses that ``exported_comment`` reads."""
    return query.outerjoin(AnalysedComment, AnalysedComment.response_id == Response.id)
