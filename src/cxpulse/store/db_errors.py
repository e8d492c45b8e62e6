"""Which database errors are the database's state (busy, unavailable) and which are a fault.

A busy or unavailable database is worth a retry: the web answers 503 with Retry-After. Every
other error (a malformed statement, a missing table, a JSON path SQLite cannot read) will
fail the same way on every retry, so calling it "busy" would hide a bug behind an answer that
invites the client to try again forever. The classes come from the driver's own codes
(SQLite result codes, PostgreSQL SQLSTATE), never from message text, which varies with
versions and languages.
"""

from __future__ import annotations

import sqlite3
from typing import Literal

from sqlalchemy.exc import DBAPIError

Trouble = Literal["busy", "unavailable"]
"""busy: another transaction holds what this one needs (retry in a moment);
unavailable: the database cannot be reached, is read-only or is out of room (retry later)."""

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED
_SQLITE_UNAVAILABLE_CODES = frozenset(
    {
        7,  # SQLITE_NOMEM
        8,  # SQLITE_READONLY: "attempt to write a readonly database"
        10,  # SQLITE_IOERR
        13,  # SQLITE_FULL: the disk is full
        14,  # SQLITE_CANTOPEN: the file or its folder is gone or not readable
        15,  # SQLITE_PROTOCOL: a WAL lock race
    }
)

# PostgreSQL SQLSTATE codes and classes (the first two characters).
_PG_BUSY_STATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (lock_timeout, NOWAIT)
        "57014",  # query_canceled (statement_timeout)
    }
)
_PG_UNAVAILABLE_STATES = frozenset(
    {
        "25006",  # read_only_sql_transaction: a standby, or default_transaction_read_only
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, recovering)
        "58030",  # io_error
    }
)
_PG_UNAVAILABLE_CLASSES = frozenset(
    {
        "08",  # connection exception
        "53",  # insufficient resources: disk full, out of memory, too many connections
    }
)


def trouble(error: DBAPIError) -> Trouble | None:
    """Whether ``error`` is the database being busy or unavailable; None for any other error,
    which is a fault of the statement or of the schema and will not go away on a retry."""
    if error.connection_invalidated:
        return "unavailable"
    original = error.orig
    if isinstance(original, sqlite3.Error):
        return _sqlite_trouble(original)
    state = getattr(original, "sqlstate", None)
    if isinstance(state, str):
        return _postgresql_trouble(state)
    if original is not None and _is_psycopg_operational(original):
        # No SQLSTATE: the failure happened on the connection itself (refused, closed, reset).
        return "unavailable"
    return None


def _sqlite_trouble(error: sqlite3.Error) -> Trouble | None:
    code = getattr(error, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return None
    primary = code & 0xFF
    if primary in _SQLITE_BUSY_CODES:
        return "busy"
    if primary in _SQLITE_UNAVAILABLE_CODES:
        return "unavailable"
    return None


def _postgresql_trouble(state: str) -> Trouble | None:
    if state in _PG_BUSY_STATES:
        return "busy"
    if state in _PG_UNAVAILABLE_STATES or state[:2] in _PG_UNAVAILABLE_CLASSES:
        return "unavailable"
    return None


def _is_psycopg_operational(error: BaseException) -> bool:
    # psycopg is imported only when PostgreSQL is in use: SQLite installs need not load it.
    module = type(error).__module__
    if not module.startswith("psycopg"):
        return False
    import psycopg

    return isinstance(error, psycopg.OperationalError)
