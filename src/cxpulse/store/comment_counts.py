"""How many responses carry a comment in time slices of a period, for a sample.

The daily rollups do not know which answers carry a comment, so this reads the responses
table. ``report/comment_rate.py`` chooses the slices and estimates a rate from them (or
counts a small view whole with ``response_reads.count_responses``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from cxpulse.store.filters import ResponseFilters, filter_conditions, join_contacts
from cxpulse.store.models import Response


def commented_in_slices(
    session: Session,
    organisation_id: int,
    filters: ResponseFilters,
    slices: Sequence[tuple[datetime, datetime]],
    cap: int,
) -> list[tuple[int, int]]:
    """Per slice ``[since, until)`` of time, (responses with a comment, responses) among
    those the filters match, reading at most ``cap + 1`` responses of each slice: a count
    above ``cap`` says the slice was not read to its end.

    The filters' own ``start`` and ``end`` are left out: given both bounds, SQLite may start
    the index range at the filters' first day and walk to the slice.
    """
    conditions, needs_contacts = filter_conditions(
        organisation_id, dataclasses.replace(filters, start=None, end=None)
    )
    inner = select(Response.comment)
    if needs_contacts:
        inner = join_contacts(inner, organisation_id)
    # Inside a slice, a LIMIT stops a bunch of answers at one moment from being read whole.
    rows = (
        inner.where(
            *conditions,
            Response.submitted_at >= bindparam("since"),
            Response.submitted_at < bindparam("until"),
        )
        .limit(cap + 1)
        .subquery()
    )
    # The same test as the filters' has_comment, so a drill-down shows what is counted.
    with_comment = func.coalesce(func.sum(case((rows.c.comment.is_not(None), 1), else_=0)), 0)
    statement = select(with_comment, func.count()).select_from(rows)
    # One statement, built and compiled once and run per slice: a UNION with a part per
    # slice cost more to build in Python than the database took to answer it.
    found = []
    for since, until in slices:
        commented, count = session.execute(statement, {"since": since, "until": until}).one()
        found.append((int(commented), int(count)))
    return found
