"""An import killed half-way (SIGKILL, no chance to clean up) leaves nothing behind.

The import runs as a real ``cxpulse import`` process; the test waits until it is inserting
(it has read the file and holds the write lock: SQLite's, or PostgreSQL's on responses),
kills it, and checks the database against what it held before: the same responses,
contacts and audit entries, and rollups equal to a recount.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import psycopg
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import rollups
from cxpulse.store.models import AuditLog, Contact, Organisation, Response

from .conftest import run_import, write_csv

CXPULSE = str(Path(sys.executable).parent / "cxpulse")
ROWS = 300_000
AGAIN = 5_000
"""Rows imported again after the kill."""
MAP = "id=id,score=score,date=at,channel=channel,comment=comment,contact=customer"


def _big_file(path: Path) -> Path:
    duckdb.execute(
        "COPY (SELECT 'big' || i AS id, 1 + i % 5 AS score, "
        "strftime(TIMESTAMP '2024-01-01' + to_seconds(i * 37), '%Y-%m-%d %H:%M:%S') AS at, "
        "['email', 'web', 'chat'][1 + i % 3] AS channel, 'comment ' || i AS comment, "
        f"'cust' || (i % 5000) AS customer FROM range({ROWS}) t(i)) TO '{path}' (HEADER)"
    )
    return path


def _snapshot(
    sessions: sessionmaker[Session],
) -> tuple[int, int, int, dict[rollups.RollupKey, int]]:
    with sessions() as session:
        kept = rollups.stored(session)
        assert kept == rollups.recount(session)
        return (
            session.scalar(select(func.count()).select_from(Response)) or 0,
            session.scalar(select(func.count()).select_from(Contact)) or 0,
            session.scalar(select(func.count()).select_from(AuditLog)) or 0,
            dict(kept),
        )


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the import ended (exit {process.returncode}) before it could be killed")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the import never started writing")
        time.sleep(0.05)


def _sqlite_writing(path: str, scratch: Path) -> Callable[[], bool]:
    """Whether the import is inserting: it has read the file (its DuckDB staging database
    exists in its scratch directory) and holds the database's write lock."""

    def locked() -> bool:
        connection = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            connection.close()

    def check() -> bool:
        return any(scratch.glob("cxpulse-*/stage.duckdb")) and locked()

    return check


def _postgres_writing(url: str) -> Callable[[], bool]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    def check() -> bool:
        with psycopg.connect(dsn, autocommit=True) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = 'responses' AND l.mode = 'RowExclusiveLock' "
                "AND l.pid <> pg_backend_pid()"
            ).fetchone()
        return bool(row and row[0])

    return check


def _end_orphans(url: str) -> None:
    """The killed client's server process ends when it notices; end it now instead."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.mark.slow
@pytest.mark.timeout(900)  # reading 300,000 rows: minutes on a loaded 2-core machine
def test_killed_import_leaves_nothing(
    sessions: sessionmaker[Session], org: Organisation, engine: Engine, tmp_path: Path
) -> None:
    database_url = engine.url.render_as_string(hide_password=False)
    small = write_csv(
        tmp_path / "small.csv",
        [
            "id,score,at,channel,comment,customer",
            "s1,5,2024-01-01 10:00:00,email,Nice,cust1",
            "s2,2,2024-01-02 10:00:00,web,,cust2",
        ],
    )
    run_import(sessions, org, small, mapping=MAP)
    before = _snapshot(sessions)
    assert before[:3] == (2, 2, 1)

    path = _big_file(tmp_path / "big.csv")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "CXPULSE_DATABASE_URL": database_url, "TMPDIR": str(scratch)}
    process = subprocess.Popen(
        [CXPULSE, "import", str(path), "--survey", "support-csat", "--map", MAP],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if database_url.startswith("sqlite"):
            _wait_for(_sqlite_writing(str(engine.url.database), scratch), process)
        else:
            _wait_for(_postgres_writing(database_url), process)
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    if not database_url.startswith("sqlite"):
        _end_orphans(database_url)

    assert _snapshot(sessions) == before
    # And the database still takes an import whole: the file's first rows, those the killed
    # import was writing (all new again: none of their keys was left behind). Not the whole
    # file: a second import of all its rows took most of this test's minutes and proves no
    # more than the snapshot above.
    lines = path.read_text().splitlines(keepends=True)[: AGAIN + 1]
    head = tmp_path / "head.csv"
    head.write_text("".join(lines))
    done = run_import(sessions, org, head, mapping=MAP)
    assert (done.imported, done.already_present) == (AGAIN, 0)
    after = _snapshot(sessions)
    assert after[0] == AGAIN + 2
