"""Statements built once (``store.prebuilt``), on SQLite and PostgreSQL: an insert that
skips a taken key returns the new row's columns, and nothing for the taken one; an insert
handed to the driver stores what SQLAlchemy's own would, and refuses rows it cannot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, outbox, prebuilt, response_submissions, rollups, surveys
from cxpulse.store.models import OutboxItem, Response


def test_an_insert_ignoring_a_taken_key_returns_only_new_rows(
    sessions: sessionmaker[Session],
) -> None:
    table = cast(Table, OutboxItem.__table__)
    statements = prebuilt.insert_ignoring(
        table, ["organisation_id", "dedupe_key"], [table.c.id, table.c.dedupe_key]
    )
    assert set(statements) == {"postgresql", "sqlite"}
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme").id
        statement = statements[session.get_bind().dialect.name]
        rows: list[dict[str, object]] = [
            {"organisation_id": org, "kind": "webhook", "dedupe_key": key, "payload": {}}
            for key in ("vip", "late")
        ]
        first = session.connection().execute(statement, rows).all()
        more = [*rows, {**rows[0], "dedupe_key": "new"}]
        again = session.connection().execute(statement, more).all()
    assert sorted(key for _, key in first) == ["late", "vip"]
    assert [key for _, key in again] == ["new"]
    with sessions() as session:
        assert sorted(session.scalars(select(OutboxItem.dedupe_key))) == ["late", "new", "vip"]


def _same_rows_both_ways(
    sessions: sessionmaker[Session], rows: list[dict[str, Any]]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows of ``responses`` stored by SQLAlchemy's insert and by ``DriverInsert``, each
    in a survey of its own, every column but the id and survey read back as stored."""
    table = cast(Table, Response.__table__)
    driver = prebuilt.DriverInsert(insert(table).returning(table.c.id))
    shown = [c for c in table.c if c.key not in {"id", "survey_id"}]
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme").id
        by_sqlalchemy, by_driver = (
            surveys.create_survey(session, org, slug=slug, name=slug, metric="csat").id
            for slug in ("a", "b")
        )
        connection = session.connection()
        connection.execute(
            insert(table),
            [{**row, "organisation_id": org, "survey_id": by_sqlalchemy} for row in rows],
        )
        ids = driver.returning(
            connection,
            [{**row, "organisation_id": org, "survey_id": by_driver} for row in rows],
            per_statement=2,
        )
        assert len(ids) == len(rows)
    with sessions() as session:
        stored = [
            [
                tuple(row)
                for row in session.execute(
                    select(*shown).where(table.c.survey_id == survey_id).order_by(table.c.id)
                )
            ]
            for survey_id in (by_sqlalchemy, by_driver)
        ]
    return stored[0], stored[1]


def test_a_driver_insert_stores_what_sqlalchemys_insert_stores(
    sessions: sessionmaker[Session],
) -> None:
    """Instants with and without a zone, JSON, a float, None and the constant default of a
    column left out (``unverified``) are converted by the same rules, whatever the order."""
    if sessions.kw["bind"].dialect.name != "sqlite":
        pytest.skip("the driver path is taken on SQLite (positional parameters)")
    when = datetime(2026, 3, 1, 10, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    rows: list[dict[str, Any]] = [
        {
            "score": float(n),
            "comment": None if n % 2 else f"row {n} – åäö",
            "channel": "email",
            "properties": {"agent": "Ana", "n": n, "vip": n == 3} if n % 3 else None,
            "submitted_at": when + timedelta(days=n),
            "received_at": datetime(2026, 3, 9, 8, 0, tzinfo=UTC),
            "source": "api",
            "idempotency_key": None,
        }
        for n in range(5)
    ]
    by_sqlalchemy, by_driver = _same_rows_both_ways(sessions, rows)
    assert by_driver == by_sqlalchemy
    assert len(by_driver) == 5


def test_a_driver_insert_refuses_rows_it_cannot_convert_alike(
    sessions: sessionmaker[Session],
) -> None:
    if sessions.kw["bind"].dialect.name != "sqlite":
        pytest.skip("the driver path is taken on SQLite (positional parameters)")
    table = cast(Table, OutboxItem.__table__)
    driver = prebuilt.DriverInsert(insert(table))
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme").id
        connection = session.connection()
        bare = {"organisation_id": org, "kind": "webhook", "dedupe_key": "a", "payload": {}}
        with pytest.raises(ValueError, match="available_at needs a value"):
            driver.execute(connection, [bare])  # its default is the time of the insert
        now = datetime.now(UTC)
        row = {**bare, "state": "pending", "created_at": now, "available_at": now}
        with pytest.raises(ValueError, match="same keys"):
            driver.execute(connection, [row, {**row, "dedupe_key": "b", "attempts": 2}])
        other = {k: v for k, v in row.items() if k != "state"} | {"stat": "pending"}
        with pytest.raises(KeyError):
            driver.execute(connection, [row, {**other, "dedupe_key": "c"}])
        with pytest.raises(ValueError, match="not columns"):
            driver.execute(connection, [{**row, "colour": "red"}])
        session.rollback()


def test_a_driver_insert_converts_each_column_as_sqlalchemy_would(
    sessions: sessionmaker[Session],
) -> None:
    """For the three inserts the submissions' writer hands to the driver, each value goes
    through the processor SQLAlchemy's own execution would use (the dialect's form of the
    type: SQLite's DATE formats the rollups' day itself)."""
    dialect = sessions.kw["bind"].dialect
    if dialect.name != "sqlite":
        pytest.skip("the driver path is taken on SQLite (positional parameters)")
    inserts = {
        "answers": (
            response_submissions._DRIVER_INSERT,
            {"organisation_id", "survey_id", "contact_id", "score", "comment", "language"}
            | {"channel", "touchpoint", "properties", "submitted_at", "received_at", "source"}
            | {"invitation_id", "idempotency_key"},
        ),
        "outbox": (
            outbox._INSERT_ITEMS,
            {
                "organisation_id",
                "kind",
                "dedupe_key",
                "payload",
                "state",
                "created_at",
                "available_at",
            },
        ),
        "rollups": (
            rollups._UPSERTS["sqlite"],
            {"organisation_id", "survey_id", "day", "channel", "touchpoint", "score", "count"},
        ),
    }
    for name, (driver, keys) in inserts.items():
        row = dict.fromkeys(sorted(keys))
        ours = driver._compile(dialect, row)
        theirs = driver._statement.compile(dialect=dialect, column_keys=list(row))
        expected = theirs._bind_processors
        for key, _, _, process in ours.getters:
            # The same kind of processor (each call makes a new closure), or none on both.
            want = getattr(expected.get(key), "__qualname__", None)
            assert getattr(process, "__qualname__", None) == want, (name, key)
        if name == "rollups":
            assert dict((key, process) for key, _, _, process in ours.getters)["day"] is not None
