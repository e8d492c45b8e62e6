"""Database errors answered by their cause (``web/errors.py``, ``store/db_errors.py``), with
real errors from real databases.

Busy (a lock another connection holds, a statement timeout) and unavailable (read-only,
cannot open, unreachable) are 503 with Retry-After: worth a retry. Any other database error
(a JSON path SQLite cannot read, a missing table) is a fault that every retry repeats: a
logged 500 with a generic message. Before, every OperationalError was "busy", so a malformed
JSON path left pages at 503 for good.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from cxpulse.store.db import create_engine_for
from cxpulse.web.errors import install_error_handlers

Work = Callable[[], None]


Answer = tuple[int, dict[str, str], Any]
"""Status, headers and the body's ``detail``."""


def _answer(work: Work) -> Answer:
    """What the app's error handlers answer when a request runs ``work``."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/work")
    def run() -> dict[str, str]:
        work()
        return {"detail": "done"}

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/work")
    return answer.status_code, dict(answer.headers), answer.json()["detail"]


def _execute(engine: Engine, *statements: str) -> Work:
    def work() -> None:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))

    return work


def _assert_busy(answer: Answer) -> None:
    status, headers, detail = answer
    assert (status, detail) == (503, "the database is busy; retry shortly")
    assert headers["retry-after"] == "1"


def _assert_unavailable(answer: Answer) -> None:
    status, headers, detail = answer
    assert (status, detail) == (503, "the database is unavailable; retry later")
    assert headers["retry-after"] == "5"


def _assert_fault(answer: Answer, caplog: pytest.LogCaptureFixture, cause: str) -> None:
    status, headers, detail = answer
    assert (status, detail) == (500, "internal server error")
    assert "retry-after" not in headers
    assert cause not in detail  # the answer names no internals ...
    [record] = [r for r in caplog.records if r.name == "cxpulse.web" and r.levelno >= logging.ERROR]
    assert record.exc_info is not None  # ... the log has the traceback
    assert cause in str(record.exc_info[1])


# -- SQLite -----------------------------------------------------------------------------------


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "errors.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
    return path


@pytest.fixture
def sqlite_engine(sqlite_file: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{sqlite_file}", busy_timeout_ms=50)
    yield engine
    engine.dispose()


def test_sqlite_locked_by_another_writer_is_busy(sqlite_file: Path, sqlite_engine: Engine) -> None:
    holder = sqlite3.connect(sqlite_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        answer = _answer(_execute(sqlite_engine, "INSERT INTO notes VALUES ('x')"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _assert_busy(answer)


def test_sqlite_read_only_file_is_unavailable(sqlite_file: Path) -> None:
    engine = create_engine_for(f"sqlite:///file:{sqlite_file}?mode=ro&uri=true")
    try:
        answer = _answer(_execute(engine, "INSERT INTO notes VALUES ('x')"))
    finally:
        engine.dispose()
    _assert_unavailable(answer)


def test_sqlite_file_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///file:{tmp_path / 'gone.db'}?mode=ro&uri=true")
    try:
        answer = _answer(_execute(engine, "SELECT 1"))
    finally:
        engine.dispose()
    _assert_unavailable(answer)


@pytest.mark.parametrize(
    ("statement", "cause"),
    [
        # The very error of a double quote in a property name, read inside a JSON path.
        ("""SELECT json_extract('{"a": 1}', '$."a"b"')""", "JSON path error"),
        ("SELECT * FROM no_such_table", "no such table"),
    ],
)
def test_sqlite_fault_is_a_logged_500(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture, statement: str, cause: str
) -> None:
    _assert_fault(_answer(_execute(sqlite_engine, statement)), caplog, cause)


def test_no_free_pooled_connection_is_busy(sqlite_file: Path) -> None:
    engine = create_engine_for(
        f"sqlite:///{sqlite_file}", pool_size=1, max_overflow=0, pool_timeout=0.05
    )
    try:
        with engine.connect():  # the pool's one connection, held by another request
            answer = _answer(_execute(engine, "SELECT 1"))
    finally:
        engine.dispose()
    _assert_busy(answer)


def test_an_integrity_error_is_still_a_conflict(sqlite_file: Path, sqlite_engine: Engine) -> None:
    with sqlite3.connect(sqlite_file) as connection:
        connection.execute("CREATE TABLE keyed (id INTEGER PRIMARY KEY)")
    status, _, detail = _answer(
        _execute(sqlite_engine, "INSERT INTO keyed VALUES (1)", "INSERT INTO keyed VALUES (1)")
    )
    assert status == 409
    assert detail[0]["type"] == "conflict"


# -- PostgreSQL -------------------------------------------------------------------------------

SCHEMA = "errors_test"


@pytest.fixture
def pg_url(postgres_database: str) -> Iterator[str]:
    """A PostgreSQL URL whose search path is a schema of this module with one table."""
    with psycopg.connect(postgres_database, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        admin.execute(f"CREATE SCHEMA {SCHEMA}")
        admin.execute(f"CREATE TABLE {SCHEMA}.notes (body TEXT)")
    url = make_url(postgres_database).update_query_dict({"options": f"-c search_path={SCHEMA}"})
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(postgres_database, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = create_engine_for(pg_url)
    yield engine
    engine.dispose()


def test_postgresql_lock_timeout_is_busy(pg_url: str, pg_engine: Engine) -> None:
    conninfo = make_url(pg_url).set(query={}).render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as holder:
        holder.execute(f"LOCK TABLE {SCHEMA}.notes IN ACCESS EXCLUSIVE MODE")
        answer = _answer(
            _execute(pg_engine, "SET LOCAL lock_timeout = '50ms'", "SELECT * FROM notes")
        )
        holder.rollback()
    _assert_busy(answer)


def test_postgresql_statement_timeout_is_busy(pg_engine: Engine) -> None:
    work = _execute(pg_engine, "SET LOCAL statement_timeout = '20ms'", "SELECT pg_sleep(2)")
    _assert_busy(_answer(work))


def test_postgresql_read_only_is_unavailable(pg_engine: Engine) -> None:
    # As on a standby: the server answers reads and refuses every write.
    work = _execute(pg_engine, "SET TRANSACTION READ ONLY", "INSERT INTO notes VALUES ('x')")
    _assert_unavailable(_answer(work))


def test_postgresql_unreachable_is_unavailable() -> None:
    # A loopback port nobody listens on: the connection is refused at once.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{port}/none",
        connect_args={"connect_timeout": 2},
    )
    try:
        _assert_unavailable(_answer(_execute(engine, "SELECT 1")))
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("statement", "cause"),
    [
        ("SELECT * FROM no_such_table", "no_such_table"),
        ("SELEC 1", "syntax error"),
    ],
)
def test_postgresql_fault_is_a_logged_500(
    pg_engine: Engine, caplog: pytest.LogCaptureFixture, statement: str, cause: str
) -> None:
    _assert_fault(_answer(_execute(pg_engine, statement)), caplog, cause)
