from __future__ import annotations

import duckdb
import pytest

from cxpulse.engine.duck import (
    MB_PER_THREAD,
    MEMORY_MB,
    condense,
    connect,
    cores,
    fetch_all,
    ident,
    literal,
    threads_for,
)


def test_quoting() -> None:
    assert ident('say "hi"') == '"say ""hi"""'
    assert literal("it's") == "'it''s'"
    con = connect()
    try:
        sql = f"SELECT {literal(chr(39).join(['it', 's']))} AS {ident('a b')}"
        assert fetch_all(con, sql) == [("it's",)]
    finally:
        con.close()


def test_connection_settings() -> None:
    con = connect()
    try:
        threads, zone, bar, printing = con.execute(
            "SELECT current_setting('threads'), current_setting('TimeZone'), "
            "current_setting('enable_progress_bar'), current_setting('enable_progress_bar_print')"
        ).fetchone() or (None, None, None, None)
        assert threads == min(cores(), MEMORY_MB // MB_PER_THREAD)
        assert zone == "UTC"
        assert (bar, printing) == (False, False)
    finally:
        con.close()


def test_a_small_memory_cap_means_fewer_threads() -> None:
    # Each DuckDB thread needs its share to sort and spill: 128 MB split between two threads
    # ran a 1-million-row import out of memory instead of spilling.
    assert threads_for(MB_PER_THREAD - 1) == 1
    assert threads_for(128) == 1
    assert threads_for(2 * MB_PER_THREAD) == min(cores(), 2)
    con = connect(memory_mb=200)
    try:
        limit, threads = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads')"
        ).fetchone() or (None, None)
        assert threads == 1
        assert limit == "190.7 MiB"  # 200 MB, as DuckDB shows it
    finally:
        con.close()


def test_progress_reaches_100_and_errors_come_back() -> None:
    con = connect()
    seen: list[float] = []
    try:
        rows = fetch_all(
            con,
            "SELECT count(DISTINCT i % 1000003) FROM range(20000000) AS t(i)",
            progress=seen.append,
        )
        assert rows == [(1000003,)]
        assert seen[-1] == 100.0
        assert all(0 <= p <= 100 for p in seen)
        with pytest.raises(duckdb.Error, match="boom"):
            fetch_all(con, "SELECT error('boom')", progress=seen.append)
    finally:
        con.close()


@pytest.mark.parametrize(
    ("message", "short"),
    [
        (
            "Invalid Input Error: CSV Error on Line: 3\nOriginal Line: 4,b,c\n"
            "Expected Number of Columns: 2 Found: 3\nPossible fixes:\n* Disable strict mode",
            "CSV Error on Line: 3: Expected Number of Columns: 2 Found: 3",
        ),
        (
            'IO Error: No files found that match the pattern "x.csv"',
            'No files found that match the pattern "x.csv"',
        ),
        ("", "Exception"),
    ],
)
def test_condense(message: str, short: str) -> None:
    assert condense(Exception(message)) == short


def test_condense_cuts_long_messages() -> None:
    text = condense(Exception("Invalid Input Error: " + "x" * 1000))
    assert len(text) <= 240
    assert text.endswith("…")
