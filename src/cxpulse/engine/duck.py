"""DuckDB plumbing shared by the file engine: connections, quoting, progress, short errors.

DuckDB is imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

MEMORY_MB = 1000
"""DuckDB's memory cap for scoring a file, in megabytes (decimal, as DuckDB counts them)."""
MB_PER_THREAD = 125
"""Memory each DuckDB thread needs to sort, join and spill: with less, DuckDB runs out of
memory instead of spilling (its guide says at least 125 MB a thread). A connection gets at
most ``memory // MB_PER_THREAD`` threads, at least one."""
PROGRESS_INTERVAL = 0.1


def cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def threads_for(memory_mb: int) -> int:
    """Threads for a connection capped at ``memory_mb``: one per core, as memory allows."""
    return max(1, min(cores(), memory_mb // MB_PER_THREAD))


def connect(
    spill_directory: Path | None = None, *, memory_mb: int | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with a memory cap, threads to match and UTC time.

    ``memory_mb`` (default :data:`MEMORY_MB`) caps what DuckDB holds in memory; beyond it,
    sorts, joins and tables spill to ``spill_directory``. Each thread needs its own share
    (:data:`MB_PER_THREAD`), so a small cap means fewer threads, never a query that runs out
    of memory because many threads split it.
    UTC makes TIMESTAMP WITH TIME ZONE columns fall into the same days on every machine.
    Extensions are never installed (no network); the ones built in (parquet, json, icu) load.
    DuckDB's own progress bar is off: it would draw on the terminal.
    """
    import duckdb

    memory = int(memory_mb if memory_mb is not None else MEMORY_MB)
    config: dict[str, Any] = {
        "threads": threads_for(memory),
        "memory_limit": f"{memory}MB",
        "TimeZone": "UTC",
        "autoinstall_known_extensions": False,
    }
    if spill_directory is not None:
        config["temp_directory"] = str(spill_directory)
    con = duckdb.connect(":memory:", config=config)
    # DuckDB draws its own progress bar on the terminal for queries over 2 s: never here.
    con.execute("SET enable_progress_bar = false; SET enable_progress_bar_print = false")
    return con


def ident(name: str) -> str:
    """A column name as a SQL identifier: ``"my ""odd"" name"``."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """Text as a SQL string literal: ``'it''s'``."""
    return "'" + text.replace("'", "''") + "'"


def fetch_all(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    progress: Callable[[float], None] | None = None,
) -> list[tuple[Any, ...]]:
    """Run ``sql`` and return its rows.

    With ``progress``, the query runs in a worker thread (DuckDB releases the GIL while it
    works) and ``progress(percent)`` is called about every 0.1 s with DuckDB's estimate.
    """
    if progress is None:
        return con.execute(sql).fetchall()
    con.execute("SET enable_progress_bar = true; SET progress_bar_time = 0")
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["rows"] = con.execute(sql).fetchall()
        except BaseException as error:  # re-raised in the calling thread
            outcome["error"] = error

    worker = threading.Thread(target=work, name="cxpulse-query", daemon=True)
    worker.start()
    try:
        while True:
            worker.join(PROGRESS_INTERVAL)
            if not worker.is_alive():
                break
            percent = con.query_progress()
            if percent >= 0:
                progress(min(100.0, percent))
    except BaseException:
        con.interrupt()
        worker.join()
        raise
    if "error" in outcome:
        raise outcome["error"]
    progress(100.0)
    rows: list[tuple[Any, ...]] = outcome["rows"]
    return rows


_PREFIX = re.compile(r"^(?:[A-Z][A-Za-z]*\s)*(?:Error|Exception):\s*")
_USEFUL = re.compile(
    r"^(?:Expected Number of Columns|Error when converting|Could not convert|Invalid unicode"
    r"|Value with unterminated quote|Maximum line size)",
)
MAX_MESSAGE = 240


def condense(error: BaseException | str) -> str:
    """One short line from a DuckDB error: no type prefix, hints, dialect dumps or SQL."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return error if isinstance(error, str) else type(error).__name__
    parts = [_PREFIX.sub("", lines[0])]
    parts += [line for line in lines[1:] if _USEFUL.match(line)]
    text = ": ".join(part.rstrip(".: ") for part in parts if part)
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1].rstrip() + "…"
    return text
