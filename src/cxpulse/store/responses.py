"""Responses: one answered score each, with its comment and segments.

Every insert, delete and change of a counted field updates the daily rollups in the same
transaction (``cxpulse.store.rollups``), so they always equal a recount.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, and_, bindparam, delete, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from cxpulse.metrics import Scale
from cxpulse.store import _values as values
from cxpulse.store import rollups
from cxpulse.store.errors import Conflict, Invalid, NotFound, StoreError
from cxpulse.store.models import MAX_COMMENT_LENGTH, SOURCES, Contact, Response, Survey
from cxpulse.store.sql import json_text
from cxpulse.store.types import utc_now

MAX_IDEMPOTENCY_KEY_LENGTH = 200
MAX_PAGE_SIZE = 1000

Cursor = tuple[datetime, int]
"""Position after which a page starts: the (submitted_at, id) of the previous page's last row."""


@dataclass(frozen=True)
class NewResponse:
    """A response to store. ``submitted_at`` defaults to now; ``touchpoint`` to the survey's."""

    survey_id: int
    score: float
    submitted_at: datetime | None = None
    comment: str | None = None
    language: str | None = None
    channel: str | None = None
    touchpoint: str | None = None
    properties: Mapping[str, object] | None = None
    contact_id: int | None = None
    source: str = "api"
    invitation_id: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ResponseFilters:
    """Which responses to list; every given field must match. ``end`` is exclusive."""

    survey_id: int | None = None
    contact_id: int | None = None
    start: date | datetime | None = None
    end: date | datetime | None = None
    channel: str | None = None
    touchpoint: str | None = None
    language: str | None = None
    source: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    has_comment: bool | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    contact_attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResponsePage:
    items: list[Response]
    next_after: Cursor | None
    """Pass as ``after`` to get the next page; None on the last page."""


@dataclass(frozen=True)
class _Target:
    """What checking a response needs of its survey, read once per batch rather than through
    ORM attributes once per row."""

    organisation_id: int
    survey_id: int
    slug: str
    scale: Scale
    touchpoint: str | None

    @classmethod
    def of(cls, survey: Survey) -> _Target:
        return cls(survey.organisation_id, survey.id, survey.slug, survey.scale, survey.touchpoint)


def _score(target: _Target, score: object, index: int | None) -> float:
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise Invalid("score", f"must be a number, not {type(score).__name__}", index=index)
    scale = target.scale
    if not math.isfinite(score) or not scale.contains(score):
        raise Invalid(
            "score",
            f"{score:g} is not on the {scale.name} scale of survey {target.slug!r} "
            f"(whole numbers {scale.low} to {scale.high})",
            index=index,
        )
    return float(score)


def check_score(survey: Survey, score: object, *, index: int | None = None) -> float:
    """The score as stored, or Invalid when it is not an answer on the survey's scale."""
    return _score(_Target.of(survey), score, index)


def _row(target: _Target, item: NewResponse, index: int | None, now: datetime) -> dict[str, Any]:
    """The column values of ``item``, checked; raises Invalid naming the field."""
    source = item.source
    if source not in SOURCES:
        raise Invalid("source", f"must be one of {', '.join(SOURCES)}", index=index)
    submitted_at = (
        now
        if item.submitted_at is None
        else values.aware("submitted_at", item.submitted_at, index=index)
    )
    comment = values.text("comment", item.comment, MAX_COMMENT_LENGTH, index=index)
    touchpoint = values.text("touchpoint", item.touchpoint, 100, index=index)
    return {
        "organisation_id": target.organisation_id,
        "survey_id": target.survey_id,
        "contact_id": item.contact_id,
        "score": _score(target, item.score, index),
        "comment": comment,
        "language": values.text("language", item.language, 35, index=index),
        "channel": values.text("channel", item.channel, 50, index=index),
        "touchpoint": touchpoint if touchpoint is not None else target.touchpoint,
        "properties": values.text_mapping("properties", item.properties, index=index),
        "submitted_at": submitted_at,
        "received_at": now,
        "source": source,
        "invitation_id": item.invitation_id,
        "idempotency_key": values.text(
            "idempotency_key", item.idempotency_key, MAX_IDEMPOTENCY_KEY_LENGTH, index=index
        ),
    }


def _surveys(session: Session, organisation_id: int, ids: set[int]) -> dict[int, Survey]:
    if len(ids) == 1:
        # The common case (one survey); session.get may answer from the identity map.
        (survey_id,) = ids
        survey = session.get(Survey, survey_id)
        if survey is None or survey.organisation_id != organisation_id:
            raise NotFound("survey", survey_id)
        return {survey_id: survey}
    found = {
        survey.id: survey
        for survey in session.scalars(
            select(Survey).where(Survey.organisation_id == organisation_id, Survey.id.in_(ids))
        )
    }
    missing = ids - set(found)
    if missing:
        raise NotFound("survey", min(missing))
    return found


def _check_contacts(session: Session, organisation_id: int, ids: set[int]) -> None:
    if not ids:
        return
    found = set(
        session.scalars(
            select(Contact.id).where(
                Contact.organisation_id == organisation_id, Contact.id.in_(ids)
            )
        )
    )
    missing = ids - found
    if missing:
        raise NotFound("contact", min(missing))


def check_new_response(survey: Survey, item: NewResponse, *, index: int | None = None) -> None:
    """Raise Invalid (naming the field) if ``item`` cannot be stored in ``survey``: lets an
    import sort good rows from bad ones before storing the good ones."""
    _row(_Target.of(survey), item, index, utc_now())


def _checked_rows(
    session: Session, organisation_id: int, items: Sequence[NewResponse]
) -> list[dict[str, Any]]:
    surveys = _surveys(session, organisation_id, {item.survey_id for item in items})
    _check_contacts(
        session, organisation_id, {i.contact_id for i in items if i.contact_id is not None}
    )
    targets = {survey_id: _Target.of(survey) for survey_id, survey in surveys.items()}
    now = utc_now()
    # Positions in errors only help when there is more than one item to tell apart.
    return [
        _row(targets[item.survey_id], item, n if len(items) > 1 else None, now)
        for n, item in enumerate(items)
    ]


@dataclass
class _Split:
    keyless: list[int] = field(default_factory=list)
    keyed: list[int] = field(default_factory=list)
    """First occurrence of each (survey, key), in key order: two PostgreSQL transactions
    inserting overlapping keys then wait on each other in one direction only, instead of
    deadlocking."""
    first_with_key: dict[tuple[int, str], int] = field(default_factory=dict)
    repeats: dict[int, int] = field(default_factory=dict)
    """Position of an item -> position of the earlier item with the same key."""


def _split(rows: list[dict[str, Any]]) -> _Split:
    split = _Split()
    for n, row in enumerate(rows):
        key = row["idempotency_key"]
        if key is None:
            split.keyless.append(n)
        elif (row["survey_id"], key) in split.first_with_key:
            split.repeats[n] = split.first_with_key[(row["survey_id"], key)]
        else:
            split.first_with_key[(row["survey_id"], key)] = n
            split.keyed.append(n)
    split.keyed.sort(key=lambda n: (rows[n]["survey_id"], rows[n]["idempotency_key"]))
    return split


KEYED_ATTEMPTS = 3
"""Rounds of "insert if new, else read the stored one" for idempotency keys: the stored one
can be deleted between the two statements, and then the key is free again."""


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
    rows = _checked_rows(session, organisation_id, items)
    split = _split(rows)
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


# Submissions one at a time, from many callers at once


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
_STORED_COLUMNS = [_RESPONSES.c[name] for name in StoredResponse.__slots__]

# Built once: building a statement costs more than running it on SQLite.
_SURVEY_TARGETS = select(
    _SURVEYS.c.organisation_id,
    _SURVEYS.c.id,
    _SURVEYS.c.slug,
    _SURVEYS.c.scale_low,
    _SURVEYS.c.scale_high,
    _SURVEYS.c.touchpoint,
).where(_SURVEYS.c.id.in_(bindparam("ids", expanding=True)))
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
    and contacts read, one insert, one rollup upsert, one read of repeats) through
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
                rows.append(_row(target, item, None, now))
            except Invalid as error:
                results[n] = error
            else:
                positions.append(n)

    split = _split(rows)
    created: list[dict[str, Any]] = []
    if split.keyless:
        keyless = [rows[n] for n in split.keyless]
        for n, new_id in zip(split.keyless, _insert_keyless(connection, keyless), strict=True):
            results[positions[n]] = (_stored(rows[n], new_id), True)
            created.append(rows[n])
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
    complete: list[tuple[StoredResponse, bool] | StoreError] = []
    for result in results:
        assert result is not None
        complete.append(result)
    return complete


def _targets(
    connection: Connection, wanted: set[tuple[int, int]]
) -> dict[tuple[int, int], _Target]:
    """(organisation id, survey id) -> what checking a response needs, for the surveys that
    exist in that organisation."""
    found = connection.execute(_SURVEY_TARGETS, {"ids": [survey_id for _, survey_id in wanted]})
    targets = {
        (org, survey_id): _Target(org, survey_id, slug, Scale(low, high), touchpoint)
        for org, survey_id, slug, low, high, touchpoint in found
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
    rows = _checked_rows(session, organisation_id, items)
    split = _split(rows)
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
) -> tuple[Response, bool]:
    """Store one response; see ``add_responses`` for idempotency."""
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
    return add_responses(session, organisation_id, [item])[0]


def get_response(session: Session, organisation_id: int, response_id: int) -> Response:
    response = session.scalar(
        select(Response).where(
            Response.organisation_id == organisation_id, Response.id == response_id
        )
    )
    if response is None:
        raise NotFound("response", response_id)
    return response


def delete_response(session: Session, organisation_id: int, response_id: int) -> None:
    """Delete a response and take it out of the rollups.

    DELETE ... RETURNING decides atomically which of two concurrent deletes removed the row,
    so only that one decrements.
    """
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
) -> Response:
    """Change the given fields, moving the response between rollup keys when needed."""
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
    if score is not values.UNSET:
        survey = session.get(Survey, response.survey_id)
        assert survey is not None
        response.score = check_score(survey, score)
    if submitted_at is not values.UNSET:
        response.submitted_at = values.aware("submitted_at", submitted_at)
    if comment is not values.UNSET:
        response.comment = values.text("comment", comment, MAX_COMMENT_LENGTH)
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
            _check_contacts(session, organisation_id, {contact_id})
        response.contact_id = contact_id
    session.flush()
    after = rollups.key_of_response(response)
    if after != before:
        rollups.apply_deltas(session, {before: -1, after: 1})
    return response


def filter_conditions(organisation_id: int, filters: ResponseFilters) -> tuple[list[Any], bool]:
    """WHERE conditions on responses for ``filters``, and whether they need contacts joined."""
    conditions: list[Any] = [Response.organisation_id == organisation_id]
    if filters.survey_id is not None:
        conditions.append(Response.survey_id == filters.survey_id)
    if filters.contact_id is not None:
        conditions.append(Response.contact_id == filters.contact_id)
    if filters.start is not None:
        conditions.append(Response.submitted_at >= values.instant("start", filters.start))
    if filters.end is not None:
        conditions.append(Response.submitted_at < values.instant("end", filters.end))
    for name in ("channel", "touchpoint", "language", "source"):
        wanted = getattr(filters, name)
        if wanted is not None:
            conditions.append(getattr(Response, name) == wanted)
    if filters.min_score is not None:
        conditions.append(Response.score >= filters.min_score)
    if filters.max_score is not None:
        conditions.append(Response.score <= filters.max_score)
    if filters.has_comment is not None:
        has = Response.comment.is_not(None)
        conditions.append(has if filters.has_comment else ~has)
    for name, wanted in filters.properties.items():
        conditions.append(json_text(Response.properties, name) == wanted)
    for name, wanted in filters.contact_attributes.items():
        conditions.append(json_text(Contact.attributes, name) == wanted)
    return conditions, bool(filters.contact_attributes)


def join_contacts(query: Select[Any], organisation_id: int) -> Select[Any]:
    """Responses with their contact's row (or NULLs), never another organisation's contact."""
    return query.outerjoin(
        Contact,
        and_(Contact.id == Response.contact_id, Contact.organisation_id == organisation_id),
    )


def list_responses(
    session: Session,
    organisation_id: int,
    filters: ResponseFilters | None = None,
    *,
    after: Cursor | None = None,
    limit: int = 100,
) -> ResponsePage:
    """Responses in (submitted_at, id) order, ``limit`` at a time.

    Keyset pagination: the page after ``after`` is found by an index range, so page 1,000 costs
    what page 1 does, and rows added meanwhile never shift a page.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise Invalid("limit", f"must be 1 to {MAX_PAGE_SIZE}")
    conditions, needs_contacts = filter_conditions(organisation_id, filters or ResponseFilters())
    if after is not None:
        moment, last_id = after
        moment = values.aware("after", moment)
        # The redundant first term lets the database start the index range at ``moment``.
        conditions.append(Response.submitted_at >= moment)
        conditions.append(
            or_(
                Response.submitted_at > moment,
                and_(Response.submitted_at == moment, Response.id > last_id),
            )
        )
    query = select(Response)
    if needs_contacts:
        query = join_contacts(query, organisation_id)
    query = query.where(*conditions).order_by(Response.submitted_at, Response.id).limit(limit + 1)
    rows = list(session.scalars(query))
    items = rows[:limit]
    more = len(rows) > limit
    last = items[-1] if items else None
    return ResponsePage(items, (last.submitted_at, last.id) if more and last else None)


def encode_cursor(cursor: Cursor) -> str:
    """An opaque, URL-safe page token for APIs."""
    moment, last_id = cursor
    raw = f"{values.aware('after', moment).isoformat()}|{last_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(token: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
        moment_text, _, id_text = raw.partition("|")
        moment = datetime.fromisoformat(moment_text)
        return values.aware("after", moment), int(id_text)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise Invalid("after", "is not a page token this server gave out") from None


# Answers through a personal link: one response per invitation


def find_by_invitation(
    session: Session, organisation_id: int, invitation_id: int, *, lock: bool = False
) -> Response | None:
    """The response given through ``invitation_id``, if any (locked for update on request,
    so that the old rollup key subtracted by a change is the one stored)."""
    query = select(Response).where(
        Response.organisation_id == organisation_id, Response.invitation_id == invitation_id
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)
