"""The reads behind an export of responses: the property names in use, how many rows match,
and the matching rows themselves, page by page.

Rows are read by keyset pagination on (submitted_at, id), each page in its own short read
transaction: a long export never holds a snapshot open, and rows added meanwhile never shift a
page. The formats (CSV, XLSX, Parquet) are written by ``cxpulse.web.exporters``.

The ``comment`` column is the shown comment, personal data replaced
(``store.shown_comments``): an export never holds a comment as it is stored.

An export of one survey also has a column per follow-up question (``q_<key>``): a rating's
score, a choice's key, or a text (redacted as comments are). Each page's answers are read
with the page, in one query (``answer_pages``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Row, Select, func, select, true
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.redaction import redact
from cxpulse.store.filters import ResponseFilters, filter_conditions, join_contacts
from cxpulse.store.keyset import after_key
from cxpulse.store.models import Response, ResponseAnswer, SurveyQuestion
from cxpulse.store.shown_comments import exported_comment, with_analysis_join


def property_names(session: Session, organisation_id: int, filters: ResponseFilters) -> list[str]:
    """Every property name used by the responses the filters match, sorted."""
    conditions, needs_contacts = filter_conditions(organisation_id, filters)
    if session.get_bind().dialect.name == "postgresql":
        query = select(func.jsonb_object_keys(Response.properties).label("name")).select_from(
            Response
        )
    else:
        each = func.json_each(Response.properties).table_valued("key").alias("each")
        query = select(each.c.key.label("name")).select_from(Response).join(each, true())
    if needs_contacts:
        query = join_contacts(query, organisation_id)
    inner = query.where(*conditions).subquery()
    return sorted(session.scalars(select(inner.c.name).distinct()))


def count_rows(session: Session, organisation_id: int, filters: ResponseFilters) -> int:
    """How many responses the filters match."""
    conditions, needs_contacts = filter_conditions(organisation_id, filters)
    query = select(func.count()).select_from(Response)
    if needs_contacts:
        query = join_contacts(query, organisation_id)
    return int(session.scalar(query.where(*conditions)) or 0)


def follow_up_columns(
    session: Session, organisation_id: int, filters: ResponseFilters
) -> list[tuple[int, str, str]]:
    """(question id, key, kind) of the follow-up questions of the export's survey, in asking
    order; none when the export is not of one survey."""
    if filters.survey_id is None:
        return []
    rows = session.execute(
        select(SurveyQuestion.id, SurveyQuestion.key, SurveyQuestion.kind)
        .where(
            SurveyQuestion.organisation_id == organisation_id,
            SurveyQuestion.survey_id == filters.survey_id,
        )
        .order_by(SurveyQuestion.position, SurveyQuestion.id)
    )
    return [(int(i), str(k), str(kind)) for i, k, kind in rows]


def _base_query(
    organisation_id: int, filters: ResponseFilters, fields: Sequence[str]
) -> Select[Any]:
    columns = Response.__mapper__.columns
    unknown = [name for name in fields if name not in columns]
    if unknown or "id" not in fields or "submitted_at" not in fields:
        raise ValueError(f"fields need id and submitted_at and no unknown name: {unknown}")
    conditions, needs_contacts = filter_conditions(organisation_id, filters)
    base = select(
        *(
            exported_comment().label("comment") if name == "comment" else columns[name]
            for name in fields
        )
    ).select_from(Response)
    if "comment" in fields:
        base = with_analysis_join(base)
    if needs_contacts:
        base = join_contacts(base, organisation_id)
    return base.where(*conditions).order_by(Response.submitted_at, Response.id)


def _answers(
    session: Session, organisation_id: int, response_ids: Sequence[int], question_ids: Sequence[int]
) -> dict[int, dict[int, Any]]:
    """Per response, per question, the exported value of its answer."""
    found: dict[int, dict[int, Any]] = {}
    if not response_ids or not question_ids:
        return found
    rows = session.execute(
        select(
            ResponseAnswer.response_id,
            ResponseAnswer.question_id,
            ResponseAnswer.score,
            ResponseAnswer.choice,
            ResponseAnswer.text,
        ).where(
            ResponseAnswer.organisation_id == organisation_id,
            ResponseAnswer.response_id.in_(response_ids),
            ResponseAnswer.question_id.in_(question_ids),
        )
    )
    for response_id, question_id, score, choice, text in rows:
        if score is not None:
            value: Any = score
        elif choice is not None:
            value = choice
        else:
            value = None if text is None else redact(text).text
        found.setdefault(int(response_id), {})[int(question_id)] = value
    return found


def answer_pages(
    sessions: sessionmaker[Session],
    organisation_id: int,
    filters: ResponseFilters,
    fields: Sequence[str],
    page_size: int,
    question_ids: Sequence[int] = (),
) -> Iterator[tuple[Sequence[Row[Any]], dict[int, dict[int, Any]]]]:
    """The pages of ``row_pages``, each with its responses' follow-up answers to
    ``question_ids`` (per response id, per question id), read in the page's transaction."""
    base = _base_query(organisation_id, filters, fields)
    after: tuple[Any, int] | None = None
    with sessions() as session:
        while True:
            query = base
            if after is not None:
                query = query.where(*after_key(Response.submitted_at, Response.id, after))
            rows = session.execute(query.limit(page_size)).all()
            answers = _answers(session, organisation_id, [r.id for r in rows], question_ids)
            session.rollback()  # end the read transaction between pages
            if rows:
                yield rows, answers
            if len(rows) < page_size:
                return
            after = (rows[-1].submitted_at, rows[-1].id)


def row_pages(
    sessions: sessionmaker[Session],
    organisation_id: int,
    filters: ResponseFilters,
    fields: Sequence[str],
    page_size: int,
) -> Iterator[Sequence[Row[Any]]]:
    """The matching responses in (submitted_at, id) order, ``page_size`` rows at a time; each
    row holds ``fields`` (columns of the responses table) in that order, the comment
    redacted."""
    for rows, _ in answer_pages(sessions, organisation_id, filters, fields, page_size):
        yield rows
