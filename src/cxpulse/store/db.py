"""Engines, migrations and sessions for SQLite (embedded default) and PostgreSQL.

Repositories never commit: the caller owns the transaction (``with factory.begin() as s:``),
so a response, its rollup change and its audit entry land together or not at all.

SQLite allows one writer at a time. Write sessions begin with ``BEGIN IMMEDIATE`` so that a
transaction which reads before it writes (look up the survey, then insert) waits for the write
lock up front, under ``busy_timeout``; a deferred transaction would instead fail with "database
is locked" when it tries to upgrade its read snapshot while another writer commits. Long reads
(exports, dashboards) should use ``session_factory(engine, read_only=True)``, whose deferred
transactions never hold the write lock, so they do not stall writers.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from cxpulse.config import DEFAULT_SQLITE_BUSY_TIMEOUT_MS

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_BEGIN_OPTION = "cxpulse_sqlite_begin"
# Any constant works; it only has to be the same in every process migrating one database.
_MIGRATION_LOCK_ID = 0x6378_7075_6C73


def normalise_url(url: str | URL) -> URL:
    """Select psycopg 3 for ``postgresql://`` and ``postgres://`` URLs."""
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(engine_or_url: Engine | Connection | Session | URL | str) -> bool:
    if isinstance(engine_or_url, Engine | Connection):
        return engine_or_url.dialect.name == "sqlite"
    if isinstance(engine_or_url, Session):
        return engine_or_url.get_bind().dialect.name == "sqlite"
    return normalise_url(engine_or_url).get_backend_name() == "sqlite"


def create_engine_for(
    url: str | URL,
    *,
    busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
    yield_before_write: float = 0.0,
    **kwargs: Any,
) -> Engine:
    """An engine for ``url``; extra keyword arguments go to ``sqlalchemy.create_engine``.

    ``yield_before_write`` (SQLite only): seconds to wait before each write transaction, for
    background work that shares the database with a server. Its back-to-back transactions
    would otherwise take the write lock again as soon as they let it go, and submissions
    would wait behind all of them; the pause lets a waiting writer in between."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout_ms, yield_before_write, kwargs)
    if parsed.get_backend_name() == "postgresql":
        connect_args = dict(kwargs.pop("connect_args", {}))
        if "options" not in connect_args:
            # Periods are computed in UTC anyway; a UTC session keeps ad-hoc output alike.
            # Options given in the URL (such as a search_path) are kept, not replaced.
            given = parsed.query.get("options")
            timezone = "-c timezone=UTC"
            connect_args["options"] = f"{given} {timezone}" if isinstance(given, str) else timezone
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, connect_args=connect_args, **kwargs)
    raise ValueError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://"
    )


def _sqlite_engine(
    url: URL, busy_timeout_ms: int, yield_before_write: float, kwargs: dict[str, Any]
) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:")
    if not in_memory and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", busy_timeout_ms / 1000)
    if in_memory:
        # One shared connection, otherwise every pooled connection sees its own empty database.
        kwargs.setdefault("poolclass", StaticPool)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # The driver's own transaction handling skips BEGIN before SELECT and DDL; take it over.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            # Durable across application crashes; only an OS crash may lose the last commits.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        # On the driver's connection: through SQLAlchemy's statement path BEGIN cost several
        # times more than the statement itself, once per transaction of the write path.
        raw = connection.connection.dbapi_connection
        assert raw is not None
        if mode != "IMMEDIATE":
            raw.execute(f"BEGIN {mode}")
            return
        if yield_before_write > 0:
            time.sleep(yield_before_write)
        try:
            begin_immediate(raw, busy_timeout_ms)  # type: ignore[arg-type]
        except sqlite3.Error as error:
            # SQLAlchemy wraps what its own statements raise, not what an event raises: wrap
            # it the same way, so "database is locked" stays an ``OperationalError`` of
            # SQLAlchemy for every caller that tells a busy database from a broken one.
            raise DBAPIError.instance(
                "BEGIN IMMEDIATE", None, error, sqlite3.Error, dialect=engine.dialect
            ) from error

    return engine


_SQLITE_BUSY = 5
WRITE_LOCK_POLL_SECONDS = 0.0005
"""How often a writer waiting for SQLite's write lock tries again."""


def begin_immediate(connection: sqlite3.Connection, timeout_ms: int) -> None:
    """``BEGIN IMMEDIATE`` on ``connection``, waiting up to ``timeout_ms`` for the write lock
    by trying again every ``WRITE_LOCK_POLL_SECONDS``.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ms and so on, longer the longer
    it has waited: behind background work that commits every few milliseconds, a submission
    kept sleeping through the gaps between its transactions and waited for many of them.
    Polling takes the first gap. The connection's ``busy_timeout`` stays for every other
    statement (a reader may still wait for a checkpoint)."""
    connection.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                busy = getattr(error, "sqlite_errorcode", _SQLITE_BUSY) & 0xFF == _SQLITE_BUSY
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(WRITE_LOCK_POLL_SECONDS)
    finally:
        connection.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")


def ping(session: Session) -> None:
    """Run the cheapest statement there is: raises when the database cannot be reached."""
    session.execute(text("SELECT 1"))


# A write that changes nothing: both databases still check, before looking at any row, that
# the transaction may write to the table (SQLite: the file is not read-only; PostgreSQL: the
# transaction is not read-only, the server is no standby, the role may update the table).
# The Alembic version table exists in every migrated database and is never written elsewhere
# while the app runs. On SQLite the write session's BEGIN IMMEDIATE also takes the write lock,
# which a read-only file grants all the same: hence a statement that writes.
_WRITE_PROBE = text("UPDATE alembic_version SET version_num = version_num WHERE 1 = 0")


@dataclass(frozen=True)
class Readiness:
    """Whether the database takes traffic; ``reason`` says why not in plain words, ``error``
    is the driver's message (for the log, not for callers: it may name hosts and files)."""

    ready: bool
    reason: str = ""
    error: str = ""


def readiness(sessions: sessionmaker[Session]) -> Readiness:
    """Can the database be reached and does it accept a write? Nothing is changed: the probe
    matches no row and is rolled back. ``sessions`` must be write sessions (not read-only)."""
    try:
        with sessions() as session:
            try:
                ping(session)
                session.execute(_WRITE_PROBE)
            finally:
                session.rollback()
    except DBAPIError as error:
        return Readiness(False, _why_not_ready(error), str(error.orig))
    return Readiness(True)


_SQLITE_READONLY = 8
_SQLITE_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED
_SQLITE_CANTOPEN = 14
_PG_READ_ONLY = "25006"  # read_only_sql_transaction (also a standby in recovery)
_PG_BUSY_STATES = frozenset({"55P03", "40001", "40P01"})  # lock not available, conflicts


def _why_not_ready(error: DBAPIError) -> str:
    """In plain words, from the driver's own codes (SQLite result codes, PostgreSQL SQLSTATE):
    messages vary with versions and, on PostgreSQL, with the server's language."""
    original = error.orig
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    sqlstate = getattr(original, "sqlstate", None)
    primary = sqlite_code & 0xFF if isinstance(sqlite_code, int) else None
    if primary == _SQLITE_READONLY or sqlstate == _PG_READ_ONLY:
        return "the database is read-only: it answers reads but refuses every write"
    if primary in _SQLITE_BUSY_CODES or sqlstate in _PG_BUSY_STATES:
        return "the database is busy: a write could not start in time"
    if (
        primary == _SQLITE_CANTOPEN
        or (isinstance(sqlstate, str) and sqlstate.startswith("08"))  # connection exception
        or (sqlstate is None and sqlite_code is None)  # no answer from the server at all
        or error.connection_invalidated
    ):
        return "the database cannot be reached"
    return "the database refuses writes"


def session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``read_only`` ones never take SQLite's write lock.

    ``expire_on_commit=False`` keeps loaded rows readable after commit, for rendering.
    """
    bind = engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"}) if read_only else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


def alembic_config(url: str | URL | None = None) -> Config:
    """Alembic settings without an alembic.ini: the migrations ship inside the package.

    For writing a new migration: ``command.revision(alembic_config(url), "message",
    autogenerate=True)``.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        rendered = normalise_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision of the migrations shipped in the package (read once a process:
    they cannot change while it runs)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest); a no-op when already there.

    Safe to call from several processes starting at once: on PostgreSQL an advisory lock, on
    SQLite the immediate transaction, lets one migrate while the others wait, then find
    nothing to do.
    """
    if revision == "head" and current_revision(engine) == head_revision():
        return  # the usual start: one read instead of loading every migration script
    _run_migration(engine, lambda config: command.upgrade(config, revision))


def downgrade(engine: Engine, revision: str) -> None:
    """Step the schema back to ``revision``; data in dropped tables is lost."""
    _run_migration(engine, lambda config: command.downgrade(config, revision))


def _run_migration(engine: Engine, step: Callable[[Config], None]) -> None:
    config = alembic_config()
    sqlite = is_sqlite(engine)
    with engine.connect() as connection:
        if sqlite:
            # SQLite rebuilds a table to alter it (Alembic batch mode) and drops the old copy;
            # with foreign keys on, that drop would cascade into child rows. The pragma only
            # takes effect outside a transaction, hence on the raw connection before BEGIN.
            _raw_sqlite(connection).execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                if not sqlite:
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
                    )
                config.attributes["connection"] = connection
                step(config)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                _raw_sqlite(connection).execute("PRAGMA foreign_keys=ON")


def _raw_sqlite(connection: Connection) -> sqlite3.Connection:
    raw = connection.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw
