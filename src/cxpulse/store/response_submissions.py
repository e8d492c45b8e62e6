"""Submissions one at a time, from many callers at once: ``add_each`` stores independent
responses of several organisations in a few Core statements, one result per item."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from cxpulse.metrics import Scale
from cxpulse.store import accounts, prebuilt, response_events, rollups
from cxpulse.store.errors import Conflict, Invalid, NotFound, StoreError
from cxpulse.store.models import Contact, Organisation, Response, Survey
from cxpulse.store.response_checks import (
    KEYED_ATTEMPTS,
    NewResponse,
    Target,
    checked_row,
    split_by_key,
)
from cxpulse.store.response_values import ResponseValues
from cxpulse.store.types import utc_now


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredResponse(ResponseValues):
    """A stored response as plain values: what ``add_each`` answers, without ORM objects.
    Its comment is as stored (redacted when the organisation redacts at storage)."""

    organisation_id: int
    invitation_id: int | None
    idempotency_key: str | None


_RESPONSES = cast(Table, Response.__table__)
_SURVEYS = cast(Table, Survey.__table__)
_CONTACTS = cast(Table, Contact.__table__)
_ORGANISATIONS = cast(Table, Organisation.__table__)
_STORED_COLUMNS = [_RESPONSES.c[field.name] for field in fields(StoredResponse)]

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
_DRIVER_INSERT = prebuilt.DriverInsert(_INSERT_RETURNING_ID)
_INSERT_KEYED_SQLITE = (
    sqlite.insert(_RESPONSES)
    .on_conflict_do_nothing()
    .returning(_RESPONSES.c.id, _RESPONSES.c.survey_id, _RESPONSES.c.idempotency_key)
)
_STORED_BY_KEYS = select(*_STORED_COLUMNS).where(
    _RESPONSES.c.survey_id == bindparam("survey_id"),
    _RESPONSES.c.idempotency_key.in_(bindparam("keys", expanding=True)),
)


# On PostgreSQL one statement stores a batch with everything its transaction must hold: the
# answers, their rollup increments and their ``response-event`` outbox items, from the rows
# given as one JSON array (psycopg adapts that one text for about half the cost of fourteen
# arrays). Its text is the same for any batch size, so psycopg prepares it once per
# connection; a multi-row VALUES list has a text per batch size (group sizes vary with the
# load), prepared only once that size has run five times, and one longer than 4 kB (about
# eight answers) is converted again by psycopg on every execution. One execution replaces
# one per rollup key and per outbox item, and one round trip three. The rollups and outbox
# items follow the rows the inserts return, so a key already taken adds to neither. It does
# what the SQLite path does with ``rollups.apply_deltas`` and ``response_events.queue``, and
# tests compare the two:
# - the rollup keys of the batch are added in one insert, in the order of
#   ``rollups.apply_deltas`` (COLLATE "C" sorts text by code point, as Python does), so that
#   every writer locks shared keys in one order and none can deadlock on them;
# - ``response_events.dedupe_key``: the kind, the answer's id and 16 random hex digits;
# - keyless rows are inserted as ``insert(...)`` would (any unique violation fails), rows with
#   a key with ``ON CONFLICT DO NOTHING`` as the SQLite path does.
_PG_COLUMNS = (
    ("organisation_id", "integer"),
    ("survey_id", "integer"),
    ("contact_id", "bigint"),
    ("score", "double precision"),
    ("comment", "text"),
    ("language", "text"),
    ("channel", "text"),
    ("touchpoint", "text"),
    ("properties", "jsonb"),
    ("submitted_at", "timestamptz"),
    ("received_at", "timestamptz"),
    ("source", "text"),
    ("invitation_id", "bigint"),
    ("idempotency_key", "text"),
)
_PG_NAMES = ", ".join(name for name, _ in _PG_COLUMNS)
_PG_RETURNED = (
    "id, organisation_id, survey_id, idempotency_key, submitted_at, channel, touchpoint, score"
)
_PG_DAY = "(submitted_at AT TIME ZONE 'UTC')::date"
_PG_STORE = text(f"""
WITH given AS (
    SELECT * FROM ROWS FROM (
        json_to_recordset(CAST(:rows AS json))
            AS ({", ".join(f"{name} {kind}" for name, kind in _PG_COLUMNS)})
    ) WITH ORDINALITY AS given({_PG_NAMES}, position)
), keyless AS (
    INSERT INTO responses ({_PG_NAMES}, unverified)
    SELECT {_PG_NAMES}, false FROM given WHERE idempotency_key IS NULL ORDER BY position
    RETURNING {_PG_RETURNED}
), keyed AS (
    INSERT INTO responses ({_PG_NAMES}, unverified)
    SELECT {_PG_NAMES}, false FROM given WHERE idempotency_key IS NOT NULL ORDER BY position
    ON CONFLICT DO NOTHING
    RETURNING {_PG_RETURNED}
), new AS (
    SELECT * FROM keyless UNION ALL SELECT * FROM keyed
), counted AS (
    INSERT INTO daily_rollups AS rollup
        (organisation_id, survey_id, day, channel, touchpoint, score, count)
    SELECT organisation_id, survey_id, {_PG_DAY}, coalesce(channel, ''),
        coalesce(touchpoint, ''), score, count(*)
    FROM new
    GROUP BY organisation_id, survey_id, {_PG_DAY}, coalesce(channel, ''),
        coalesce(touchpoint, ''), score
    ORDER BY organisation_id, survey_id, {_PG_DAY}, coalesce(channel, '') COLLATE "C",
        coalesce(touchpoint, '') COLLATE "C", score
    ON CONFLICT (survey_id, day, channel, touchpoint, score)
        DO UPDATE SET count = rollup.count + excluded.count
), queued AS (
    INSERT INTO outbox
        (organisation_id, kind, dedupe_key, payload, state, attempts, available_at, created_at)
    SELECT organisation_id, CAST(:kind AS text),
        CAST(:kind AS text) || ':' || id || ':' || left(md5(gen_random_uuid()::text), 16),
        jsonb_build_object('response_id', id), 'pending', 0, CAST(:now AS timestamptz),
        CAST(:now AS timestamptz)
    FROM new
)
SELECT id, survey_id, idempotency_key FROM new ORDER BY id
""")


def _json_instant(value: object) -> str:
    """Instants in ``_PG_STORE``'s rows: ISO 8601 with their UTC offset, which PostgreSQL
    reads as the same instant."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value of a response")


def _pg_store(
    connection: Connection, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[int], dict[tuple[int, str], int]]:
    """Store ``rows`` with ``_PG_STORE``: the ids of the keyless ones in their order (ids are
    drawn in the order of the insert's rows, as SQLAlchemy's own ordered insert relies on),
    and (survey id, key) -> id of the keyed ones stored (not those whose key was taken)."""
    params = {
        "rows": json.dumps(rows, ensure_ascii=False, default=_json_instant),
        "kind": response_events.KIND,
        "now": utc_now(),
    }
    keyless: list[int] = []
    keyed: dict[tuple[int, str], int] = {}
    for response_id, survey_id, key in connection.execute(_PG_STORE, params):
        if key is None:
            keyless.append(response_id)
        else:
            keyed[(survey_id, key)] = response_id
    return keyless, keyed


def _stored(row: Mapping[str, Any], response_id: int) -> StoredResponse:
    return StoredResponse(id=response_id, **row)


Result = tuple[StoredResponse, bool] | StoreError


def add_each(session: Session, entries: Sequence[tuple[int, NewResponse]]) -> list[Result]:
    """Store submissions of (organisation id, response) that are independent of each other.

    Unlike ``add_responses``, one bad item does not stop the others: each gets its own
    result, ``(response, created)`` or the error it would have raised alone (``NotFound`` for
    a survey or contact not in that organisation, ``Invalid`` naming the field). Idempotency
    is the same: an item whose key is stored already for its survey, or was taken by an
    earlier item of ``entries``, stores nothing and answers the stored response with
    ``created`` False. Each new answer's rollup increment and ``response-event`` outbox item
    are written with it. However many items there are, this costs a few statements through
    SQLAlchemy Core on the session's connection (on SQLite: surveys and contacts read, one
    insert, one rollup upsert, one read of repeats, one insert of outbox items; on
    PostgreSQL: surveys read, one statement for the rest, and the read of repeats): it is
    the path of ``POST /surveys/{id}/responses``, which commits many callers' submissions
    together.
    """
    results, _ = add_each_with_keys(session, [(org, None, item) for org, item in entries])
    complete: list[Result] = []
    for result in results:
        assert result is not None  # only an item with a key can be refused
        complete.append(result)
    return complete


def add_each_with_keys(
    session: Session, entries: Sequence[tuple[int, int | None, NewResponse]]
) -> tuple[list[Result | None], set[int]]:
    """``add_each`` for submissions of (organisation id, API key id or None, response),
    checking in the same transaction that each key still exists and is not revoked: an item
    whose key is not stores nothing and its result is None. Also answers the active keys.

    On PostgreSQL the keys are read with the surveys, in one statement.
    """
    results: list[Result | None] = [None] * len(entries)
    if not entries:
        return [], set()
    connection = session.connection()
    key_ids = {key_id for _, key_id, _ in entries if key_id is not None}
    wanted = {(org, item.survey_id) for org, _, item in entries}
    if connection.dialect.name == "postgresql":
        targets, active = _pg_targets_and_keys(connection, wanted, key_ids)
    else:
        active = accounts.active_api_key_ids(session, key_ids)
        targets = _targets(connection, wanted)
    accepted: list[tuple[int, tuple[int, NewResponse]]] = [
        (n, (org, item))
        for n, (org, key_id, item) in enumerate(entries)
        if key_id is None or key_id in active
    ]
    stored = _add_checked(connection, session, targets, [entry for _, entry in accepted])
    for (n, _), result in zip(accepted, stored, strict=True):
        results[n] = result
    return results, active


def _add_checked(
    connection: Connection,
    session: Session,
    targets: dict[tuple[int, int], Target],
    entries: Sequence[tuple[int, NewResponse]],
) -> list[Result]:
    """``add_each`` once the surveys are read."""
    results: list[Result | None] = [None] * len(entries)
    if not entries:
        return []
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
    postgres = connection.dialect.name == "postgresql"
    created: list[dict[str, Any]] = []
    created_ids: list[tuple[int, int]] = []
    keyless = [rows[n] for n in split.keyless]
    pending = split.keyed
    taken: dict[tuple[int, str], int] | None = None
    if postgres:
        # Keyless and keyed rows in one statement, with their rollups and outbox items.
        keyless_ids, taken = _pg_store(connection, keyless + [rows[n] for n in pending])
    else:
        keyless_ids = _insert_keyless(connection, keyless) if keyless else []
    for n, new_id in zip(split.keyless, keyless_ids, strict=True):
        results[positions[n]] = (_stored(rows[n], new_id), True)
        created.append(rows[n])
        created_ids.append((rows[n]["organisation_id"], new_id))
    for _ in range(KEYED_ATTEMPTS):
        if not pending:
            break
        if taken is None:
            taken = _insert_keyed(connection, [rows[n] for n in pending])
        for n in pending:
            row = rows[n]
            response_id = taken.get((row["survey_id"], row["idempotency_key"]))
            if response_id is not None:
                results[positions[n]] = (_stored(row, response_id), True)
                created.append(row)
                created_ids.append((row["organisation_id"], response_id))
        taken = None
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

    complete: list[Result] = []
    for result in results:
        assert result is not None
        complete.append(result)
    if postgres:
        return complete  # the insert added the rollups and outbox items (``_pg_store``)
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


# The survey targets of ``_TARGET_COLUMNS`` and the active keys of
# ``accounts.active_api_key_ids`` in one round trip; a fixed text for any number of surveys and
# keys. The keys come in a one-row subquery, so they come back when no survey matches.
_PG_TARGETS_AND_KEYS = text("""
SELECT keys.active, surveys.organisation_id, surveys.id, surveys.slug, surveys.scale_low,
    surveys.scale_high, surveys.touchpoint, organisations.redact_comments
FROM (
    SELECT ARRAY(
        SELECT id FROM api_keys
        WHERE id = ANY(CAST(:keys AS integer[])) AND revoked_at IS NULL
    ) AS active
) AS keys
LEFT JOIN (surveys JOIN organisations ON organisations.id = surveys.organisation_id)
    ON surveys.id = ANY(CAST(:surveys AS integer[]))
""")


def _pg_targets_and_keys(
    connection: Connection, wanted: set[tuple[int, int]], key_ids: set[int]
) -> tuple[dict[tuple[int, int], Target], set[int]]:
    params = {"keys": list(key_ids), "surveys": list({survey_id for _, survey_id in wanted})}
    active: set[int] = set()
    targets: dict[tuple[int, int], Target] = {}
    for keys, org, survey_id, slug, low, high, touchpoint, redact in connection.execute(
        _PG_TARGETS_AND_KEYS, params
    ):
        active = set(keys)
        if survey_id is not None and (org, survey_id) in wanted:
            targets[(org, survey_id)] = Target(
                org, survey_id, slug, Scale(low, high), touchpoint, bool(redact)
            )
    return targets, active


def _known_contacts(connection: Connection, wanted: set[tuple[int, int]]) -> set[tuple[int, int]]:
    if not wanted:
        return set()
    found = connection.execute(_CONTACT_OWNERS, {"ids": [contact_id for _, contact_id in wanted]})
    return {(org, contact_id) for org, contact_id in found} & wanted


def _insert_keyless(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """On SQLite, the ids of the inserted rows, in the order of ``rows``."""
    # SQLAlchemy inserts one row per statement when asked to keep the order on SQLite. Not
    # needed: SQLite gives each new row a rowid one more than the largest before it (while
    # that is below 2**63 - 1), so the ids of one insert, sorted, are in the order of its rows.
    return sorted(row[0] for row in _DRIVER_INSERT.returning(connection, rows))


def _insert_keyed(connection: Connection, rows: list[dict[str, Any]]) -> dict[tuple[int, str], int]:
    """(survey id, key) -> id of the rows stored, skipping those whose key is taken."""
    if connection.dialect.name == "postgresql":
        return _pg_store(connection, rows)[1]
    return {
        (survey_id, key): response_id
        for response_id, survey_id, key in connection.execute(_INSERT_KEYED_SQLITE, rows)
    }


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
