"""Writing responses: batches (all or nothing), bulk imports, and changing or deleting one.

Every insert, delete and change of a counted field updates the daily rollups in the same
transaction (``cxpulse.store.rollups``), so they always equal a recount. Submissions from
many callers at once take another path: ``store/response_submissions.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from cxpulse.store import _values as values
from cxpulse.store import comment_analyses, rollups
from cxpulse.store.errors import Conflict, NotFound
from cxpulse.store.models import MAX_COMMENT_LENGTH, Response, Survey
from cxpulse.store.response_checks import (
    KEYED_ATTEMPTS,
    NewResponse,
    check_contacts,
    check_score,
    checked_rows,
    redacts_comments,
    split_by_key,
    stored_comment,
)


def add_responses(
    session: Session, organisation_id: int, items: Sequence[NewResponse]
) -> list[tuple[Response, bool]]:
    """Store a batch, all or nothing; per item ``(response, created)`` in the order given.

    An item whose idempotency key is already stored for its survey (or appears earlier in the
    batch) is not stored again: its result is the existing response with ``created`` False,
    and the rollups are not touched, whatever else the repeat says.
    """
    if not items:
        return []
    rows = checked_rows(session, organisation_id, items)
    split = split_by_key(rows)
    results: list[tuple[Response, bool] | None] = [None] * len(rows)

    created: list[Response] = []
    if split.keyless:
        inserted = session.scalars(
            insert(Response).returning(Response, sort_by_parameter_order=True),
            [rows[n] for n in split.keyless],
        ).all()
        for n, response in zip(split.keyless, inserted, strict=True):
            results[n] = (response, True)
            created.append(response)
    pending = split.keyed
    for _ in range(KEYED_ATTEMPTS):
        if not pending:
            break
        for response in _insert_if_new(session, [rows[n] for n in pending]):
            assert response.idempotency_key is not None
            position = split.first_with_key[(response.survey_id, response.idempotency_key)]
            results[position] = (response, True)
            created.append(response)
        waiting = [n for n in pending if results[n] is None]
        if waiting:
            for response in _existing(session, organisation_id, [rows[n] for n in waiting]):
                assert response.idempotency_key is not None
                position = split.first_with_key[(response.survey_id, response.idempotency_key)]
                results[position] = (response, False)
        # A key whose holder was deleted between the two statements: insert it again.
        pending = [n for n in waiting if results[n] is None]
    if pending:
        raise Conflict("idempotency_key", "was being stored and deleted at once; send it again")
    for n, first in split.repeats.items():
        original = results[first]
        assert original is not None
        results[n] = (original[0], False)

    rollups.apply_deltas(session, [rollups.key_of_response(r) for r in created])
    complete: list[tuple[Response, bool]] = []
    for result in results:
        assert result is not None
        complete.append(result)
    return complete


@dataclass(frozen=True)
class ImportCounts:
    created: int
    repeated: int
    """Items not stored because their idempotency key was already taken."""


def import_responses(
    session: Session, organisation_id: int, items: Sequence[NewResponse]
) -> ImportCounts:
    """Store a batch like ``add_responses`` but return only counts: about twice as fast, for
    bulk imports, because no Response objects are built."""
    if not items:
        return ImportCounts(0, 0)
    rows = checked_rows(session, organisation_id, items)
    split = split_by_key(rows)
    unique = [rows[n] for n in split.keyless] + [rows[n] for n in split.keyed]
    inserted = session.execute(_insert_counted(session.get_bind().dialect.name), unique).all()
    rollups.apply_deltas(session, [rollups.key_of(organisation_id, *row) for row in inserted])
    return ImportCounts(created=len(inserted), repeated=len(items) - len(inserted))


@functools.cache
def _insert_counted(dialect: str) -> Executable:
    table = cast(Table, Response.__table__)
    base = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return base.on_conflict_do_nothing().returning(
        table.c.survey_id,
        table.c.submitted_at,
        table.c.channel,
        table.c.touchpoint,
        table.c.score,
    )


def _insert_if_new(session: Session, rows: list[dict[str, Any]]) -> Sequence[Response]:
    """Insert the rows whose key is not taken; a key committed meanwhile by another
    transaction is skipped by the database, not raised as an error."""
    dialect = session.get_bind().dialect.name
    statement = (
        postgresql.insert(Response) if dialect == "postgresql" else sqlite.insert(Response)
    ).on_conflict_do_nothing()
    return session.scalars(statement.returning(Response), rows).all()


def _existing(session: Session, organisation_id: int, rows: list[dict[str, Any]]) -> list[Response]:
    by_survey: dict[int, list[str]] = {}
    for row in rows:
        by_survey.setdefault(row["survey_id"], []).append(row["idempotency_key"])
    found: list[Response] = []
    for survey_id, keys in by_survey.items():
        for start in range(0, len(keys), 500):
            found.extend(
                session.scalars(
                    select(Response).where(
                        Response.organisation_id == organisation_id,
                        Response.survey_id == survey_id,
                        Response.idempotency_key.in_(keys[start : start + 500]),
                    )
                )
            )
    return found


def add_response(
    session: Session,
    organisation_id: int,
    survey_id: int,
    score: float,
    *,
    submitted_at: datetime | None = None,
    comment: str | None = None,
    language: str | None = None,
    channel: str | None = None,
    touchpoint: str | None = None,
    properties: Mapping[str, object] | None = None,
    contact_id: int | None = None,
    source: str = "api",
    invitation_id: int | None = None,
    idempotency_key: str | None = None,
    unverified: bool = False,
) -> tuple[Response, bool]:
    """Store one response; see ``add_responses`` for idempotency. ``unverified``: it came
    through an unsigned link (``collect/unsigned_answers.py``), marked in the same
    transaction."""
    item = NewResponse(
        survey_id=survey_id,
        score=score,
        submitted_at=submitted_at,
        comment=comment,
        language=language,
        channel=channel,
        touchpoint=touchpoint,
        properties=properties,
        contact_id=contact_id,
        source=source,
        invitation_id=invitation_id,
        idempotency_key=idempotency_key,
    )
    stored, created = add_responses(session, organisation_id, [item])[0]
    if created and unverified:
        stored.unverified = True
        session.flush()
    return stored, created


def delete_response(session: Session, organisation_id: int, response_id: int) -> None:
    """Delete a response and take it out of the rollups.

    DELETE ... RETURNING decides atomically which of two concurrent deletes removed the row,
    so only that one decrements.
    """
    # Before the DELETE: the database cascades the analysis rows but not their daily counts.
    comment_analyses.on_response_deleted(session, organisation_id, response_id)
    gone = session.execute(
        delete(Response)
        .where(Response.organisation_id == organisation_id, Response.id == response_id)
        .returning(
            Response.survey_id,
            Response.submitted_at,
            Response.channel,
            Response.touchpoint,
            Response.score,
        )
    ).one_or_none()
    if gone is None:
        raise NotFound("response", response_id)
    survey_id, submitted_at, channel, touchpoint, score = gone
    rollups.apply_deltas(
        session,
        {rollups.key_of(organisation_id, survey_id, submitted_at, channel, touchpoint, score): -1},
    )


def update_response(
    session: Session,
    organisation_id: int,
    response_id: int,
    *,
    score: float | values.Unset = values.UNSET,
    submitted_at: datetime | values.Unset = values.UNSET,
    comment: str | values.Unset | None = values.UNSET,
    language: str | values.Unset | None = values.UNSET,
    channel: str | values.Unset | None = values.UNSET,
    touchpoint: str | values.Unset | None = values.UNSET,
    properties: Mapping[str, object] | values.Unset = values.UNSET,
    contact_id: int | values.Unset | None = values.UNSET,
    contact_consent: bool | values.Unset | None = values.UNSET,
) -> Response:
    """Change the given fields, moving the response between rollup keys when needed.

    ``contact_consent`` is the respondent's answer to "may we contact you about this?"
    (``None``: not asked); only the respondent's own pages and the widget set it."""
    response = session.scalar(
        select(Response)
        .where(Response.organisation_id == organisation_id, Response.id == response_id)
        # Locks the row on PostgreSQL, so that the old key subtracted is the one stored;
        # and refreshes a copy already in the session, which may hold an older score.
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if response is None:
        raise NotFound("response", response_id)
    before = rollups.key_of_response(response)
    analysed_as = (response.comment, response.score, response.language)
    placed_at = response.submitted_at
    if score is not values.UNSET:
        survey = session.get(Survey, response.survey_id)
        assert survey is not None
        response.score = check_score(survey, score)
    if submitted_at is not values.UNSET:
        response.submitted_at = values.answer_time("submitted_at", submitted_at)
    if comment is not values.UNSET:
        checked = values.text("comment", comment, MAX_COMMENT_LENGTH)
        if checked is not None and redacts_comments(session, organisation_id):
            checked = stored_comment(checked)
        response.comment = checked
    if language is not values.UNSET:
        response.language = values.text("language", language, 35)
    if channel is not values.UNSET:
        response.channel = values.text("channel", channel, 50)
    if touchpoint is not values.UNSET:
        response.touchpoint = values.text("touchpoint", touchpoint, 100)
    if properties is not values.UNSET:
        response.properties = values.text_mapping("properties", properties)
    if contact_id is not values.UNSET:
        if contact_id is not None:
            check_contacts(session, organisation_id, {contact_id})
        response.contact_id = contact_id
    if contact_consent is not values.UNSET:
        response.contact_consent = contact_consent
    session.flush()
    after = rollups.key_of_response(response)
    if after != before:
        rollups.apply_deltas(session, {before: -1, after: 1})
    reanalyse = analysed_as != (response.comment, response.score, response.language)
    if reanalyse or placed_at != response.submitted_at:
        # The analysis copies the score and time, and its sentiment follows the score band.
        comment_analyses.on_response_changed(session, response, reanalyse=reanalyse)
    return response
