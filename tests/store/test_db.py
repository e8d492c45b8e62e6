from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.dialects.postgresql import JSONB
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


def test_a_writer_takes_the_first_gap_between_back_to_back_transactions(
    tmp_path: Path,
) -> None:
    """Background work commits every few milliseconds and begins again at once: a waiting
    writer (``begin_immediate``, trying every half millisecond) gets the lock in one of the
    short gaps, where SQLite's busy handler, sleeping 1, 2, 5 ... 100 ms, mostly slept
    through them. Afterwards the connection keeps its own busy timeout."""
    path = tmp_path / "x.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode=WAL")
    waiter = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    waiter.execute("PRAGMA busy_timeout=5000")
    stop = threading.Event()
    holding = threading.Event()

    def hold_with_gaps() -> None:
        while not stop.is_set():
            holder.execute("BEGIN IMMEDIATE")
            holding.set()
            time.sleep(0.030)
            holder.execute("COMMIT")
            time.sleep(0.003)

    thread = threading.Thread(target=hold_with_gaps)
    thread.start()
    try:
        assert holding.wait(5)
        started = time.monotonic()
        db.begin_immediate(waiter, 5000)
        waited = time.monotonic() - started
        waiter.execute("COMMIT")
    finally:
        stop.set()
        thread.join()
    # The first gap comes within 33 ms; fifteen more pass in half a second.
    assert waited < 0.5
    assert waiter.execute("PRAGMA busy_timeout").fetchone() == (5000,)
    holder.close()
    waiter.close()


def test_a_writer_gives_up_after_its_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    waiter = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        db.begin_immediate(waiter, 150)
    assert 0.15 <= time.monotonic() - started < 5
    assert waiter.execute("PRAGMA busy_timeout").fetchone() == (150,)
    assert not waiter.in_transaction
    holder.execute("COMMIT")
    holder.close()
    waiter.close()


def test_a_locked_database_raises_sqlalchemys_operational_error(tmp_path: Path) -> None:
    """The write lock is awaited in the engine's BEGIN; its "database is locked" reaches the
    caller as SQLAlchemy's ``OperationalError``, like any statement's (the web service
    answers it with 503 and Retry-After), and the engine works again once the lock is free."""
    path = tmp_path / "x.db"
    engine = db.create_engine_for(f"sqlite:///{path}", busy_timeout_ms=50)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE notes (body TEXT)"))
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="locked"), engine.begin() as connection:
            connection.execute(text("INSERT INTO notes VALUES ('x')"))
        holder.execute("ROLLBACK")
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO notes VALUES ('y')"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT body FROM notes")).scalars().all() == ["y"]
    finally:
        holder.close()
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


# -- 0006: canonical email addresses -----------------------------------------------------------

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _table(name: str, *columns: str, json: tuple[str, ...] = ()) -> sa.TableClause:
    return sa.table(name, *(sa.column(c) for c in columns), *(sa.column(c, _JSON) for c in json))


_USERS = _table(
    "users", "id", "organisation_id", "email", "role", "password_hash", "is_active", "created_at"
)
_CONTACTS = _table(
    "contacts",
    "id",
    "organisation_id",
    "external_id",
    "email",
    "name",
    "locale",
    "created_at",
    "updated_at",
    json=("attributes",),
)
_INVITATIONS = _table(
    "invitations",
    "id",
    "organisation_id",
    "survey_id",
    "contact_id",
    "channel",
    "status",
    "send_at",
    "created_at",
    json=("properties",),
)
_RESPONSES = _table(
    "responses",
    "id",
    "organisation_id",
    "survey_id",
    "contact_id",
    "score",
    "submitted_at",
    "received_at",
    "source",
    json=("properties",),
)
_UNSUBSCRIBES = sa.table(
    "unsubscribes",
    *(sa.column(c) for c in ("id", "organisation_id", "email", "source")),
    sa.column("at", sa.DateTime(timezone=True)),
)
_SCHEDULES = _table(
    "report_schedules",
    "id",
    "organisation_id",
    "survey_id",
    "language",
    "active",
    "created_at",
    json=("recipients",),
)
_OUTBOX = _table(
    "outbox",
    "id",
    "organisation_id",
    "kind",
    "dedupe_key",
    "state",
    "attempts",
    "available_at",
    "created_at",
    json=("payload",),
)


def _rows_at_0005(engine: Engine, at: datetime) -> None:
    """What an installation could hold before 0006: addresses as typed, look-alikes included."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organisations (id, slug, name, throttle_days, created_at) "
                "VALUES (1, 'acme', 'Acme', 30, :at), (2, 'globex', 'Globex', 30, :at)"
            ),
            {"at": at},
        )
        connection.execute(
            text(
                "INSERT INTO surveys (id, organisation_id, slug, name, metric, scale_low, "
                "scale_high, questions, default_language, status, created_at, updated_at) "
                "VALUES (1, 1, 's', 'S', 'csat', 1, 5, '{}', 'en', 'active', :at, :at)"
            ),
            {"at": at},
        )
        user = {"role": "viewer", "password_hash": "x", "is_active": True, "created_at": at}
        connection.execute(
            _USERS.insert(),
            [
                {"id": 1, "organisation_id": 1, "email": "ana@x.test", **user},
                {"id": 2, "organisation_id": 2, "email": "\uff41na@x.test", **user},
                {"id": 3, "organisation_id": 1, "email": "\uff42o@x.test", **user},
                {"id": 4, "organisation_id": 1, "email": "bo@x.test", **user},
                {"id": 5, "organisation_id": 1, "email": "cy\u200b@x.test", **user},
                {"id": 6, "organisation_id": 2, "email": "Dee@B\u00dcCHER.de", **user},
            ],
        )
        contact = {"name": None, "locale": None, "created_at": at, "updated_at": at}
        connection.execute(
            _CONTACTS.insert(),
            [
                {
                    **contact,
                    "id": 1,
                    "organisation_id": 1,
                    "external_id": None,
                    "email": "Throttle@A.test",
                    "name": "Tess",
                    "attributes": {"plan": "gold"},
                },
                {
                    **contact,
                    "id": 2,
                    "organisation_id": 1,
                    "external_id": "crm-2",
                    "email": "throttle@a.test",
                    "locale": "sv",
                    "attributes": {"plan": "basic", "vip": "yes"},
                },
                {
                    **contact,
                    "id": 3,
                    "organisation_id": 1,
                    "external_id": "crm-3",
                    "email": "THROTTLE@a.test",
                    "attributes": {},
                },
                {
                    **contact,
                    "id": 4,
                    "organisation_id": 1,
                    "external_id": "crm-4",
                    "email": "hidden\u200b@x.test",
                    "attributes": {},
                },
                {
                    **contact,
                    "id": 5,
                    "organisation_id": 2,
                    "external_id": None,
                    "email": "throttle@a.test",
                    "attributes": {},
                },
            ],
        )
        invitation = {"organisation_id": 1, "survey_id": 1, "channel": "email", "properties": {}}
        connection.execute(
            _INVITATIONS.insert(),
            [
                {
                    **invitation,
                    "id": 1,
                    "contact_id": 2,
                    "status": "sent",
                    "send_at": at,
                    "created_at": at,
                },
                {
                    **invitation,
                    "id": 2,
                    "contact_id": 3,
                    "status": "sent",
                    "send_at": at,
                    "created_at": at,
                },
            ],
        )
        connection.execute(
            _RESPONSES.insert(),
            {
                "id": 1,
                "organisation_id": 1,
                "survey_id": 1,
                "contact_id": 2,
                "score": 5,
                "submitted_at": at,
                "received_at": at,
                "source": "api",
                "properties": {},
            },
        )
        earlier = at - timedelta(days=3)
        connection.execute(
            _UNSUBSCRIBES.insert(),
            [
                {"id": 1, "organisation_id": 1, "email": "gone@x.test", "source": "link", "at": at},
                {
                    "id": 2,
                    "organisation_id": 1,
                    "email": "\uff47one@x.test",
                    "source": "api",
                    "at": earlier,
                },
                {"id": 3, "organisation_id": 1, "email": "junk\nBcc: x", "source": "api", "at": at},
                {"id": 4, "organisation_id": 2, "email": "Left@X.test", "source": "api", "at": at},
            ],
        )
        recipients = ["OK@x.test", "ok@x.test", "bad\x01@x.test", "\uff42oss@x.test"]
        connection.execute(
            _SCHEDULES.insert(),
            {
                "id": 1,
                "organisation_id": 1,
                "survey_id": 1,
                "language": "en",
                "active": True,
                "created_at": at,
                "recipients": {"emails": recipients},
            },
        )
        outbox = {
            "organisation_id": 1,
            "kind": "report",
            "attempts": 0,
            "available_at": at,
            "created_at": at,
        }
        payload = {"schedule_id": 1, "survey_id": 1, "month": "2026-10", "recipients": recipients}
        connection.execute(
            _OUTBOX.insert(),
            [
                {
                    **outbox,
                    "id": 1,
                    "dedupe_key": "report:1:2026-10",
                    "state": "pending",
                    "payload": payload,
                },
                {
                    **outbox,
                    "id": 2,
                    "dedupe_key": "report:1:2026-09",
                    "state": "sent",
                    "payload": payload,
                },
            ],
        )


def test_0006_makes_every_stored_address_canonical_and_loses_nothing(database_url: str) -> None:
    engine = db.create_engine_for(database_url)
    try:
        db.migrate(engine, "0005")
        moment = datetime(2026, 10, 12, 9, 30, tzinfo=UTC)
        at = moment.replace(tzinfo=None) if db.is_sqlite(engine) else moment
        _rows_at_0005(engine, at)
        db.migrate(engine, "0006")
        with engine.connect() as connection:

            def rows(query: str) -> list[tuple[object, ...]]:
                return [tuple(r) for r in connection.execute(text(query)).all()]

            # Users: canonical, per organisation; a look-alike in one organisation keeps its
            # spelling (no login reaches it), one that has no canonical form too.
            assert rows("SELECT id, organisation_id, email FROM users ORDER BY id") == [
                (1, 1, "ana@x.test"),
                (2, 2, "ana@x.test"),
                (3, 1, "\uff42o@x.test"),
                (4, 1, "bo@x.test"),
                (5, 1, "cy\u200b@x.test"),
                (6, 2, "dee@xn--bcher-kva.de"),
            ]
            # Contacts: 2 merged into 1 (older; takes its external id, locale and missing
            # attribute); 3 has another external id and stays; 4 loses an address that had
            # no canonical form; another organisation's contact is its own.
            contacts = connection.execute(sa.select(_CONTACTS).order_by(_CONTACTS.c.id)).all()
            assert [
                (c.id, c.organisation_id, c.external_id, c.email, c.name, c.locale, c.attributes)
                for c in contacts
            ] == [
                (1, 1, "crm-2", "throttle@a.test", "Tess", "sv", {"plan": "gold", "vip": "yes"}),
                (3, 1, "crm-3", "throttle@a.test", None, None, {}),
                (4, 1, "crm-4", None, None, None, {}),
                (5, 2, None, "throttle@a.test", None, None, {}),
            ]
            assert rows("SELECT id, contact_id FROM invitations ORDER BY id") == [(1, 1), (2, 3)]
            assert rows("SELECT id, contact_id FROM responses") == [(1, 1)]
            # Unsubscribes: one per address, dated at the earliest; junk kept, matching nothing.
            unsubscribes = connection.execute(
                sa.select(_UNSUBSCRIBES).order_by(_UNSUBSCRIBES.c.id)
            ).all()
            assert [(u.id, u.organisation_id, u.email) for u in unsubscribes] == [
                (1, 1, "gone@x.test"),
                (3, 1, "junk\nBcc: x"),
                (4, 2, "left@x.test"),
            ]
            first = unsubscribes[0].at
            assert first.replace(tzinfo=None) == (at - timedelta(days=3)).replace(tzinfo=None)
            # Schedules and the report waiting to go: canonical, once; the refused one kept
            # aside in the schedule, since it made the mailer refuse the whole email.
            [schedule] = connection.execute(sa.select(_SCHEDULES)).all()
            assert schedule.recipients == {
                "emails": ["ok@x.test", "boss@x.test"],
                "refused": ["bad\x01@x.test"],
            }
            payloads = [
                r.payload for r in connection.execute(sa.select(_OUTBOX).order_by(_OUTBOX.c.id))
            ]
            assert payloads[0]["recipients"] == ["ok@x.test", "boss@x.test"]
            assert payloads[1]["recipients"][0] == "OK@x.test", "a sent one is history"
            # The audit log tells each organisation what changed, and keeps what differed.
            audit = rows(
                "SELECT organisation_id, action, entity, entity_id FROM audit_log ORDER BY id"
            )
            assert sorted(audit) == [
                (1, "merge", "contact", "1"),
                (1, "update", "contact", "4"),
                (1, "update", "report_schedule", "1"),
                (1, "update", "user", "3"),
                (1, "update", "user", "5"),
            ]
            details: dict[tuple[str, str], Any] = {}
            for entity, entity_id, value in connection.execute(
                text("SELECT entity, entity_id, details FROM audit_log")
            ).all():
                details[(entity, entity_id)] = (
                    json.loads(value) if isinstance(value, str) else value
                )
            merge = details[("contact", "1")]
            assert merge["merged_contact"] == 2
            assert merge["differing"] == {"attributes.plan": "basic"}
            assert details[("contact", "4")]["removed_email"] == "hidden\u200b@x.test"
            assert "look-alike of user 4" in details[("user", "3")]["problem"]
        # An organisation's addresses are unique within it, not across organisations.
        with engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
            connection.execute(
                _USERS.insert(),
                {
                    "organisation_id": 2,
                    "email": "ana@x.test",
                    "role": "viewer",
                    "password_hash": "x",
                    "is_active": True,
                    "created_at": at,
                },
            )
        db.migrate(engine)
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


def _read_only_twin(engine: Engine) -> Engine:
    """The same database, readable but not writable: the SQLite file opened read-only, or
    PostgreSQL sessions whose transactions are read-only."""
    if db.is_sqlite(engine):
        return create_engine_for(f"sqlite:///file:{engine.url.database}?mode=ro&uri=true")
    given = engine.url.query.get("options")
    read_only = "-c default_transaction_read_only=on"
    options = f"{given} {read_only}" if isinstance(given, str) else read_only
    return create_engine_for(engine.url.update_query_dict({"options": options}))


def test_readiness_tries_a_write_and_changes_nothing(engine: Engine) -> None:
    assert db.readiness(db.session_factory(engine)) == db.Readiness(True)
    twin = _read_only_twin(engine)
    try:
        with Session(twin) as session:
            ping(session)  # reads work: a ping alone would say all is well
        found = db.readiness(db.session_factory(twin))
    finally:
        twin.dispose()
    assert not found.ready
    assert found.reason == "the database is read-only: it answers reads but refuses every write"
    assert "read" in found.error.lower()
    assert db.current_revision(engine) == db.head_revision()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_readiness_tells_an_unreachable_database(tmp_path: Path, kind: str) -> None:
    if kind == "sqlite":
        (tmp_path / "gone.db").mkdir()  # a folder where the file should be: nothing opens it
        url = f"sqlite:///{tmp_path / 'gone.db'}"
    else:
        url = "postgresql://postgres@127.0.0.1:1/cxpulse?connect_timeout=2"  # nobody listens
    gone = create_engine_for(url)
    try:
        found = db.readiness(db.session_factory(gone))
    finally:
        gone.dispose()
    assert found == db.Readiness(False, "the database cannot be reached", found.error)
    assert found.error
