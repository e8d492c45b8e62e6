"""Submissions one at a time, from many callers at once: ``add_each`` stores independent
responses of several organisations in a few Core statements, one result per item."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from cxpulse.metrics import Scale
from cxpulse.store import response_events, rollups
from cxpulse.store.errors import Conflict, Invalid, NotFound, StoreError
from cxpulse.store.models import Contact, Organisation, Response, Survey
from cxpulse.store.response_checks import (
    KEYED_ATTEMPTS,
    NewResponse,
    Target,
    checked_row,
    split_by_key,
)
from cxpulse.store.types import utc_now


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A stored response as plain values: what ``add_each`` answers, without ORM objects."""

    id: int
    organisation_id: int
    survey_id: int
    contact_id: int | None
    score: float
    comment: str | None
    language: str | None
    channel: str | None
    touchpoint: str | None
    properties: dict[str, str]
    submitted_at: datetime
    received_at: datetime
    source: str
    invitation_id: int | None
    idempotency_key: str | None


_RESPONSES = cast(Table, Response.__table__)
_SURVEYS = cast(Table, Survey.__table__)
_CONTACTS = cast(Table, Contact.__table__)
_ORGANISATIONS = cast(Table, Organisation.__table__)
_STORED_COLUMNS = [_RESPONSES.c[name] for name in StoredResponse.__slots__]

# Built once: building a statement costs more than running it on SQLite. The organisation's
# redaction choice comes with its surveys, so redacting at storage costs no extra read.
_TARGET_COLUMNS = select(
    _SURVEYS.c.organisation_id,
    _SURVEYS.c.id,
    _SURVEYS.c.slug,
    _SURVEYS.c.scale_low,
    _SURVEYS.c.scale_high,
    _SURVEYS.c.touchpoint,
    _ORGANISATIONS.c.redact_comments,
).join(_ORGANISATIONS, _ORGANISATIONS.c.id == _SURVEYS.c.organisation_id)
_SURVEY_TARGETS = _TARGET_COLUMNS.where(_SURVEYS.c.id.in_(bindparam("ids", expanding=True)))
# A batch usually answers one survey: a fixed statement, where an expanding IN list is
# rendered again on every execution.
_SURVEY_TARGET = _TARGET_COLUMNS.where(_SURVEYS.c.id == bindparam("id"))
_CONTACT_OWNERS = select(_CONTACTS.c.organisation_id, _CONTACTS.c.id).where(
    _CONTACTS.c.id.in_(bindparam("ids", expanding=True))
)
_INSERT_RETURNING_ID = insert(_RESPONSES).returning(_RESPONSES.c.id)
_INSERT_RETURNING_ID_ORDERED = insert(_RESPONSES).returning(
    _RESPONSES.c.id, sort_by_parameter_order=True
)
_STORED_BY_KEYS = select(*_STORED_COLUMNS).where(
    _RESPONSES.c.survey_id == bindparam("survey_id"),
    _RESPONSES.c.idempotency_key.in_(bindparam("keys", expanding=True)),
)


def _stored(row: Mapping[str, Any], response_id: int) -> StoredResponse:
    return StoredResponse(id=response_id, **row)


def add_each(
    session: Session, entries: Sequence[tuple[int, NewResponse]]
) -> list[tuple[StoredResponse, bool] | StoreError]:
    """Store submissions of (organisation id, response) that are independent of each other.

    Unlike ``add_responses``, one bad item does not stop the others: each gets its own
    result, ``(response, created)`` or the error it would have raised alone (``NotFound`` for
    a survey or contact not in that organisation, ``Invalid`` naming the field). Idempotency
    is the same: an item whose key is stored already for its survey, or was taken by an
    earlier item of ``entries``, stores nothing and answers the stored response with
    ``created`` False. However many items there are, this costs a few statements (surveys
    and contacts read, one insert, one rollup upsert, one read of repeats, one insert of
    the new answers' ``response-event`` outbox items) through
    SQLAlchemy Core on the session's connection: it is the path of
    ``POST /surveys/{id}/responses``, which commits many callers' submissions together.
    """
    results: list[tuple[StoredResponse, bool] | StoreError | None] = [None] * len(entries)
    if not entries:
        return []
    connection = session.connection()
    targets = _targets(connection, {(org, item.survey_id) for org, item in entries})
    known_contacts = _known_contacts(
        connection,
        {(org, item.contact_id) for org, item in entries if item.contact_id is not None},
    )
    now = utc_now()
    rows: list[dict[str, Any]] = []
    positions: list[int] = []
    for n, (organisation_id, item) in enumerate(entries):
        target = targets.get((organisation_id, item.survey_id))
        if target is None:
            results[n] = NotFound("survey", item.survey_id)
        elif (
            item.contact_id is not None and (organisation_id, item.contact_id) not in known_contacts
        ):
            results[n] = NotFound("contact", item.contact_id)
        else:
            try:
                rows.append(checked_row(target, item, None, now))
            except Invalid as error:
                results[n] = error
            else:
                positions.append(n)

    split = split_by_key(rows)
    created: list[dict[str, Any]] = []
    created_ids: list[tuple[int, int]] = []
    if split.keyless:
        keyless = [rows[n] for n in split.keyless]
        for n, new_id in zip(split.keyless, _insert_keyless(connection, keyless), strict=True):
            results[positions[n]] = (_stored(rows[n], new_id), True)
            created.append(rows[n])
            created_ids.append((rows[n]["organisation_id"], new_id))
    pending = split.keyed
    for _ in range(KEYED_ATTEMPTS):
        if not pending:
            break
        statement = _insert_keyed(connection.dialect.name)
        taken: dict[tuple[int, str], int] = {
            (survey_id, key): response_id
            for response_id, survey_id, key in connection.execute(
                statement, [rows[n] for n in pending]
            )
        }
        for n in pending:
            row = rows[n]
            response_id = taken.get((row["survey_id"], row["idempotency_key"]))
            if response_id is not None:
                results[positions[n]] = (_stored(row, response_id), True)
                created.append(row)
                created_ids.append((row["organisation_id"], response_id))
        waiting = [n for n in pending if results[positions[n]] is None]
        if waiting:
            for stored in _existing_stored(connection, [rows[n] for n in waiting]):
                assert stored.idempotency_key is not None
                n = split.first_with_key[(stored.survey_id, stored.idempotency_key)]
                results[positions[n]] = (stored, False)
        # A key whose holder was deleted between the two statements: insert it again.
        pending = [n for n in waiting if results[positions[n]] is None]
    for n in pending:
        results[positions[n]] = Conflict(
            "idempotency_key", "was being stored and deleted at once; send it again"
        )
    for n, first in split.repeats.items():
        original = results[positions[first]]
        assert isinstance(original, tuple)
        results[positions[n]] = (original[0], False)

    rollups.apply_deltas(
        session,
        [
            rollups.key_of(
                row["organisation_id"],
                row["survey_id"],
                row["submitted_at"],
                row["channel"],
                row["touchpoint"],
                row["score"],
            )
            for row in created
        ],
    )
    # The rules of the new answers run in the worker: one insert for the whole batch.
    response_events.queue(session, created_ids)
    complete: list[tuple[StoredResponse, bool] | StoreError] = []
    for result in results:
        assert result is not None
        complete.append(result)
    return complete


def _targets(connection: Connection, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], Target]:
    """(organisation id, survey id) -> what checking a response needs, for the surveys that
    exist in that organisation."""
    survey_ids = {survey_id for _, survey_id in wanted}
    if len(survey_ids) == 1:
        (survey_id,) = survey_ids
        found = connection.execute(_SURVEY_TARGET, {"id": survey_id})
    else:
        found = connection.execute(_SURVEY_TARGETS, {"ids": list(survey_ids)})
    targets = {
        (org, survey_id): Target(
            org, survey_id, slug, Scale(low, high), touchpoint, bool(redact_comments)
        )
        for org, survey_id, slug, low, high, touchpoint, redact_comments in found
    }
    return {key: target for key, target in targets.items() if key in wanted}


def _known_contacts(connection: Connection, wanted: set[tuple[int, int]]) -> set[tuple[int, int]]:
    if not wanted:
        return set()
    found = connection.execute(_CONTACT_OWNERS, {"ids": [contact_id for _, contact_id in wanted]})
    return {(org, contact_id) for org, contact_id in found} & wanted


def _insert_keyless(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """The ids of the inserted rows, in the order of ``rows``."""
    if connection.dialect.name == "sqlite":
        # SQLAlchemy inserts one row per statement when asked to keep the order on SQLite.
        # Not needed: SQLite gives each new row a rowid one more than the largest before it
        # (while that is below 2**63 - 1), so the ids of one insert, sorted, are in the
        # order of its rows.
        return sorted(connection.execute(_INSERT_RETURNING_ID, rows).scalars())
    return list(connection.execute(_INSERT_RETURNING_ID_ORDERED, rows).scalars())


@functools.cache
def _insert_keyed(dialect: str) -> Executable:
    base = postgresql.insert(_RESPONSES) if dialect == "postgresql" else sqlite.insert(_RESPONSES)
    return base.on_conflict_do_nothing().returning(
        _RESPONSES.c.id, _RESPONSES.c.survey_id, _RESPONSES.c.idempotency_key
    )


def _existing_stored(connection: Connection, rows: list[dict[str, Any]]) -> list[StoredResponse]:
    by_survey: dict[int, list[str]] = {}
    for row in rows:
        by_survey.setdefault(row["survey_id"], []).append(row["idempotency_key"])
    found: list[StoredResponse] = []
    for survey_id, keys in by_survey.items():
        for start in range(0, len(keys), 500):
            params = {"survey_id": survey_id, "keys": keys[start : start + 500]}
            found.extend(
                StoredResponse(**row)
                for row in connection.execute(_STORED_BY_KEYS, params).mappings()
            )
    return found
