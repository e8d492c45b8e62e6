from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cxpulse.store import db, rollups
from cxpulse.store.db import create_engine_for, ping
from cxpulse.store.models import Base


def test_postgres_urls_select_psycopg_3() -> None:
    assert db.normalise_url("postgresql://u@h/d").drivername == "postgresql+psycopg"
    assert db.normalise_url("postgres://u@h/d").drivername == "postgresql+psycopg"
    assert db.normalise_url("postgresql+psycopg://u@h/d").drivername == "postgresql+psycopg"
    assert db.normalise_url("sqlite:///x.db").drivername == "sqlite"


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        db.create_engine_for("mysql://u@h/d")


def test_sqlite_connections_are_tuned(tmp_path: Path) -> None:
    engine = db.create_engine_for(f"sqlite:///{tmp_path / 'nested' / 'x.db'}", busy_timeout_ms=1234)
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    # synchronous 1 is NORMAL.
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 1234,
    }


def test_in_memory_sqlite_is_one_database() -> None:
    engine = db.create_engine_for("sqlite://")
    try:
        db.migrate(engine)
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


def test_migrations_create_the_models_schema_from_empty(database_url: str) -> None:
    engine = db.create_engine_for(database_url)
    try:
        assert db.current_revision(engine) is None
        db.migrate(engine)
        assert db.current_revision(engine) == db.head_revision()
        with engine.connect() as connection:
            differences = compare_metadata(
                MigrationContext.configure(connection, opts={"compare_type": True}),
                Base.metadata,
            )
        assert differences == [], "models and migrations disagree: add a migration"
    finally:
        engine.dispose()


def test_migrating_twice_changes_nothing(engine: Engine) -> None:
    def snapshot() -> dict[str, object]:
        inspector = inspect(engine)
        return {
            table: (
                [c["name"] for c in inspector.get_columns(table)],
                sorted(i["name"] or "" for i in inspector.get_indexes(table)),
            )
            for table in sorted(inspector.get_table_names())
        }

    before = snapshot()
    db.migrate(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert snapshot() == before


def test_an_existing_database_upgrades_without_loss(database_url: str) -> None:
    """Data written under revision 0001 survives, and 0002 counts it into the rollups."""
    engine = db.create_engine_for(database_url)
    try:
        db.migrate(engine, "0001")
        moment = datetime(2024, 5, 6, 23, 30, tzinfo=UTC)
        stored = moment.replace(tzinfo=None) if db.is_sqlite(engine) else moment
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO organisations (id, slug, name, throttle_days, created_at) "
                    "VALUES (1, 'acme', 'Acme', 30, :at)"
                ),
                {"at": stored},
            )
            connection.execute(
                text(
                    "INSERT INTO surveys (id, organisation_id, slug, name, metric, scale_low, "
                    "scale_high, questions, default_language, status, created_at, updated_at) "
                    "VALUES (1, 1, 's', 'S', 'csat', 1, 5, '{}', 'en', 'active', :at, :at)"
                ),
                {"at": stored},
            )
            for n, (score, channel) in enumerate([(5, "email"), (5, "email"), (2, None)]):
                connection.execute(
                    text(
                        "INSERT INTO responses (id, organisation_id, survey_id, score, "
                        "properties, submitted_at, received_at, source, channel, comment) "
                        "VALUES (:id, 1, 1, :score, '{}', :at, :at, 'import', :channel, 'kept')"
                    ),
                    {"id": n + 1, "score": score, "at": stored, "channel": channel},
                )
        db.migrate(engine)
        assert db.current_revision(engine) == db.head_revision()
        with Session(engine) as session:
            comments = session.execute(text("SELECT comment FROM responses")).scalars().all()
            assert comments == ["kept"] * 3
            assert rollups.stored(session) == rollups.recount(session)
            assert sum(rollups.stored(session).values()) == 3
            assert {key.day.isoformat() for key in rollups.stored(session)} == {"2024-05-06"}
    finally:
        engine.dispose()


def test_downgrade_to_empty_and_back(engine: Engine) -> None:
    db.downgrade(engine, "base")
    assert db.current_revision(engine) is None
    assert "responses" not in inspect(engine).get_table_names()
    db.migrate(engine)
    assert db.current_revision(engine) == db.head_revision()


def test_read_only_sessions_do_not_take_the_sqlite_write_lock(tmp_path: Path) -> None:
    engine = db.create_engine_for(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_ms=100)
    try:
        db.migrate(engine)
        readers = db.session_factory(engine, read_only=True)
        writers = db.session_factory(engine)
        with readers() as reader, writers() as writer:
            reader.execute(text("SELECT count(*) FROM organisations")).scalar()
            # The reader's open transaction does not block this writer.
            writer.execute(
                text(
                    "INSERT INTO organisations (slug, name, throttle_days, created_at) "
                    "VALUES ('a', 'A', 30, '2024-01-01 00:00:00')"
                )
            )
            writer.commit()
    finally:
        engine.dispose()


def test_constraint_and_index_names_match_the_models(engine: Engine) -> None:
    """Alembic does not compare CHECK constraints or names; later migrations rely on both."""
    inspector = inspect(engine)
    found: set[str | None] = set()
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        found.add(inspector.get_pk_constraint(table)["name"])
        found.update(c["name"] for c in inspector.get_check_constraints(table))
        found.update(c["name"] for c in inspector.get_unique_constraints(table))
        found.update(c["name"] for c in inspector.get_foreign_keys(table))
        found.update(c["name"] for c in inspector.get_indexes(table))
    expected: set[str | None] = set()
    for model_table in Base.metadata.tables.values():
        expected.update(str(c.name) for c in model_table.constraints)
        expected.update(str(i.name) for i in model_table.indexes)
    assert found == expected


def test_ping_answers_on_a_live_database_and_raises_on_a_closed_one(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'ping.db'}")
    with Session(engine) as session:
        ping(session)
    engine.dispose()
    (tmp_path / "ping.db").unlink()
    (tmp_path / "ping.db").mkdir()  # a folder where the file was: nothing can open it
    broken = create_engine_for(f"sqlite:///{tmp_path / 'ping.db'}")
    with Session(broken) as session, pytest.raises(OperationalError):
        ping(session)
