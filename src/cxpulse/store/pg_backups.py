"""PostgreSQL's half of ``store.backups``: ``pg_dump`` and ``pg_restore`` run as child
processes, found on the PATH.

Both tools must be at least as new as the server (pg_dump refuses an older tool's dump of a
newer server, with a message that does not say what to install). The connection is handed
over as a libpq URL without its password, since a command line is
visible to every user of the machine (``ps``): the password goes in a password file of
mode 0600 (libpq's ``passfile``), deleted afterwards.

A dump is ``--format=custom``: compressed, read by ``pg_restore`` table by table. A restore
runs in one transaction (``--single-transaction``), dropping what the dump recreates
(``--clean --if-exists``); cxpulse tables of the target that the dump lacks (those of newer
migrations, when an older backup goes into a database that ``cxpulse serve`` already created)
are dropped first, so that the migration that follows can create them again.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL

from cxpulse.store.errors import StoreError
from cxpulse.store.models import Base

__all__ = ["BackupError", "Progress", "dump", "restore", "revision_in"]

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")
_TABLE_ENTRY = re.compile(r"^\d+;\s+\d+\s+\d+\s+TABLE\s+(\S+)\s+(\S+)\s")
_REPORT_EVERY_SECONDS = 5.0
_VERSION_TABLE = "alembic_version"


Progress = Callable[[str], None]
"""Where a long step says how it is getting on (one line each time)."""


class BackupError(StoreError):
    """A backup or restore that cannot be done, in words the user can act on."""


def _error(message: str) -> BackupError:
    return BackupError(message)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise _error(
            f"{name} was not found on the PATH: install the PostgreSQL client tools of the "
            "server's version (Debian/Ubuntu: apt install postgresql-client)"
        )
    return found


def _major_version(tool: str) -> int:
    shown = subprocess.run(
        [tool, "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    match = _VERSION.search(shown.stdout)
    if shown.returncode != 0 or match is None:
        raise _error(f"cannot tell the version of {tool}: {shown.stdout or shown.stderr}")
    return int(match.group(1))


def _server_major(engine: Engine) -> int:
    with engine.connect() as connection:
        number = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    return number // 10_000


def _checked_tool(name: str, engine: Engine) -> str:
    tool = _tool(name)
    mine, server = _major_version(tool), _server_major(engine)
    if mine < server:
        raise _error(
            f"{tool} is PostgreSQL {mine}, older than the server's {server}: install the "
            f"client tools of PostgreSQL {server} or newer (apt install postgresql-client-{server})"
        )
    return tool


@contextlib.contextmanager
def _connection(url: URL) -> Iterator[str]:
    """A libpq URL without the password, which goes in a private password file (``passfile``)
    deleted afterwards."""
    bare = url.set(drivername="postgresql", password=None)
    if url.password is None:
        yield bare.render_as_string(hide_password=False)
        return
    secret = str(url.password).replace("\\", "\\\\").replace(":", "\\:")
    handle, name = tempfile.mkstemp(prefix="cxpulse-pgpass-")  # mode 0600, as libpq wants
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as passfile:
            passfile.write(f"*:*:*:*:{secret}\n")
        yield bare.update_query_dict({"passfile": name}).render_as_string(hide_password=False)
    finally:
        os.unlink(name)


def _last_lines(output: str, count: int = 3) -> str:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return "; ".join(lines[-count:]) or "no message"


def dump(url: URL, target: Path, report: Progress) -> None:
    """``pg_dump --format=custom`` of the database into ``target`` (replaced)."""
    from cxpulse.store.db import create_engine_for

    engine = create_engine_for(url)
    try:
        tool = _checked_tool("pg_dump", engine)
    finally:
        engine.dispose()
    report(f"dumping {_shown(url)} with {tool}")
    started = time.monotonic()
    with _connection(url) as dbname:
        process = subprocess.Popen(
            [tool, "--format=custom", f"--file={target}", f"--dbname={dbname}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        last_report = started
        while True:
            try:
                _, errors = process.communicate(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() - last_report >= _REPORT_EVERY_SECONDS:
                    last_report = time.monotonic()
                    size = target.stat().st_size if target.exists() else 0
                    report(f"{size / 1_000_000:,.1f} MB written so far")
    if process.returncode != 0:
        raise _error(f"pg_dump failed: {_last_lines(errors)}")
    # The archive's table of contents must read back: a cheap check that it is whole.
    listed = subprocess.run(
        [_tool("pg_restore"), "--list", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        raise _error(f"the dump cannot be read back: {_last_lines(listed.stderr)}")
    report(f"dumped in {time.monotonic() - started:.1f} s")


def revision_in(source: Path) -> str:
    """The schema revision a dump holds (its ``alembic_version`` row), read without restoring."""
    shown = subprocess.run(
        [_tool("pg_restore"), "--data-only", f"--table={_VERSION_TABLE}", "--file=-", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if shown.returncode != 0:
        raise _error(f"{source} cannot be read: {_last_lines(shown.stderr)}")
    lines = shown.stdout.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("COPY ") and _VERSION_TABLE in line and index + 1 < len(lines):
            value = lines[index + 1].strip()
            if value and value != "\\.":
                return value
    raise _error(f"{source} is not a cxpulse backup: it has no schema revision")


def _dumped_tables(tool: str, source: Path) -> set[tuple[str, str]]:
    listed = subprocess.run(
        [tool, "--list", str(source)], capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        raise _error(f"{source} cannot be read: {_last_lines(listed.stderr)}")
    return {
        (match.group(1), match.group(2))
        for line in listed.stdout.splitlines()
        if (match := _TABLE_ENTRY.match(line))
    }


def restore(url: URL, source: Path, engine: Engine, report: Progress) -> None:
    """``pg_restore`` of ``source`` into the database of ``engine`` (the caller has checked
    that it may be overwritten)."""
    tool = _checked_tool("pg_restore", engine)
    dumped = _dumped_tables(tool, source)
    with engine.begin() as connection:
        schema = str(connection.execute(text("SELECT current_schema()")).scalar_one())
        present = set(inspect(connection).get_table_names())
        ours = set(Base.metadata.tables) | {_VERSION_TABLE}
        extra = sorted((present & ours) - {name for where, name in dumped if where == schema})
        for name in extra:
            connection.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    if extra:
        report(f"dropped {len(extra)} table(s) the backup does not have: {', '.join(extra)}")
    report(f"restoring {source} into {_shown(url)}")
    started = time.monotonic()
    with _connection(url) as dbname:
        restored = subprocess.run(
            [
                tool,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={dbname}",
                str(source),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if restored.returncode != 0:
        raise _error(f"pg_restore failed (nothing was restored): {_last_lines(restored.stderr)}")
    report(f"restored in {time.monotonic() - started:.1f} s")


def _shown(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=True)
