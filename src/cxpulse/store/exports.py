"""The reads behind an export of responses: the property names in use, how many rows match,
and the matching rows themselves, page by page.

Rows are read by keyset pagination on (submitted_at, id), each page in its own short read
transaction: a long export never holds a snapshot open, and rows added meanwhile never shift a
page. The formats (CSV, XLSX, Parquet) are written by ``cxpulse.web.exporters``.

The ``comment`` column is the shown comment, personal data replaced
(``store.shown_comments``): an export never holds a comment as it is stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Row, func, select, true
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.filters import ResponseFilters, filter_conditions, join_contacts
from cxpulse.store.keyset import after_key
from cxpulse.store.models import Response
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
    base = base.where(*conditions).order_by(Response.submitted_at, Response.id)
    after: tuple[Any, int] | None = None
    with sessions() as session:
        while True:
            query = base
            if after is not None:
                query = query.where(*after_key(Response.submitted_at, Response.id, after))
            rows = session.execute(query.limit(page_size)).all()
            session.rollback()  # end the read transaction between pages
            if rows:
                yield rows
            if len(rows) < page_size:
                return
            after = (rows[-1].submitted_at, rows[-1].id)
