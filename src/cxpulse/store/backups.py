"""Backups of the whole database and putting one back: ``take_backup`` and ``restore_backup``.

- **SQLite**: SQLite's online backup API (``sqlite3.Connection.backup``) copies the file in
  one step, which reads one consistent snapshot; in WAL mode writers carry on meanwhile. The
  copy is switched to a rollback journal, so the backup is one self-contained file, and
  checked (``PRAGMA quick_check``). A restore copies it back with the same API, which replaces
  the target's pages in one transaction.
- **PostgreSQL**: ``pg_dump --format=custom`` (a consistent snapshot as well) and
  ``pg_restore --clean --if-exists`` in one transaction; see ``store.pg_backups``.

A backup is written under a temporary name in the destination folder and renamed when whole,
so a file with the final name is never half written. A restore goes into an empty database
(no organisation) unless the caller confirms overwriting, and then migrates to the newest
schema, so that an older backup is upgraded. Backups are named ``cxpulse-<UTC time>.db``
(SQLite) or ``.dump`` (PostgreSQL): the scheduled backups keep the newest N of those names,
and ``newest_backup_age`` reads the newest one's age from the names alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from cxpulse.config import Settings
from cxpulse.store import pg_backups
from cxpulse.store.db import (
    alembic_config,
    create_engine_for,
    current_revision,
    migrate,
    normalise_url,
)
from cxpulse.store.models import Organisation
from cxpulse.store.pg_backups import BackupError, Progress

__all__ = [
    "BackupError",
    "BackupFile",
    "Progress",
    "RestoreResult",
    "backup_folder",
    "backup_name",
    "first_organisation_id",
    "list_backups",
    "newest_backup_age",
    "organisation_count",
    "prune_backups",
    "restore_backup",
    "take_backup",
]

PREFIX = "cxpulse-"
SUFFIXES = {"sqlite": ".db", "postgresql": ".dump"}
_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"^cxpulse-(\d{8}T\d{6}Z)\.(db|dump)$")
_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class BackupFile:
    """A backup found in a folder by its name."""

    path: Path
    taken_at: datetime
    size: int


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did: the schema revision of the backup and the database's afterwards."""

    backup_revision: str
    revision: str
    organisations: int


def _quiet(_line: str) -> None:
    return None


# -- names and folders ------------------------------------------------------------------------


def backup_name(kind: str, now: datetime) -> str:
    """``cxpulse-20240131T120000Z.db``: the kind's suffix and the UTC time, to the second."""
    return f"{PREFIX}{now.astimezone(UTC).strftime(_TIME_FORMAT)}{SUFFIXES[kind]}"


def backup_folder(settings: Settings) -> Path:
    """``CXPULSE_BACKUP_DIR``; by default a ``backups`` folder beside the SQLite file, else
    in the working directory."""
    if settings.backup_dir:
        return Path(settings.backup_dir).expanduser().resolve()
    url = normalise_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / "backups"
    return Path.cwd() / "backups"


def list_backups(folder: Path) -> list[BackupFile]:
    """The backups in ``folder`` named as cxpulse names them, newest first (other files are
    never counted, so they are never pruned)."""
    found: list[BackupFile] = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(folder):
            match = _NAME.match(entry.name)
            if match is None or not entry.is_file():
                continue
            taken = datetime.strptime(match.group(1), _TIME_FORMAT).replace(tzinfo=UTC)
            found.append(BackupFile(Path(entry.path), taken, entry.stat().st_size))
    return sorted(found, key=lambda backup: (backup.taken_at, backup.path.name), reverse=True)


def newest_backup_age(folder: Path, now: datetime) -> timedelta | None:
    """How old the newest backup in ``folder`` is (None: there is none), from its name."""
    backups = list_backups(folder)
    return now - backups[0].taken_at if backups else None


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups of ``folder``; the paths deleted."""
    removed: list[Path] = []
    for backup in list_backups(folder)[keep:]:
        with contextlib.suppress(FileNotFoundError):
            backup.path.unlink()
            removed.append(backup.path)
    return removed


def organisation_count(session: Session) -> int:
    """Organisations in the database: a restore target with none counts as empty."""
    return int(session.scalar(select(func.count()).select_from(Organisation)) or 0)


def first_organisation_id(session: Session) -> int | None:
    """The oldest organisation: the owner of the scheduled backup's outbox items (an item
    belongs to an organisation; a backup is of them all)."""
    found = session.scalar(select(func.min(Organisation.id)))
    return int(found) if found is not None else None


# -- taking a backup --------------------------------------------------------------------------


def take_backup(database_url: str | URL, output: Path, *, progress: Progress = _quiet) -> int:
    """Back the database up to ``output`` (which must not exist); its size in bytes."""
    url = normalise_url(database_url)
    kind = url.get_backend_name()
    if output.exists():
        raise BackupError(f"{output} exists already: choose another name")
    output.parent.mkdir(parents=True, exist_ok=True)
    with _written_whole(output) as partial:
        if kind == "sqlite":
            _sqlite_backup(_sqlite_path(url), partial, progress)
        elif kind == "postgresql":
            pg_backups.dump(url, partial, progress)
        else:
            raise BackupError(f"cannot back up a {kind} database")
    return output.stat().st_size


@contextlib.contextmanager
def _written_whole(output: Path) -> Iterator[Path]:
    """A temporary file beside ``output`` (mode 0600: a backup holds personal data), renamed
    to ``output`` when the block succeeds and deleted when it fails."""
    handle, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        os.replace(partial, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        for extra in ("-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{partial}{extra}").unlink()


def _sqlite_path(url: URL) -> Path:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise BackupError("only an SQLite database in a file can be backed up or restored")
    return Path(database)


def _open_sqlite(path: Path, mode: str) -> sqlite3.Connection:
    # ``mode=rw`` or ``ro``: never create an empty database where a file was expected.
    uri = f"file:{quote(str(path.resolve()))}?mode={mode}"
    connection = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def _sqlite_backup(source_path: Path, target: Path, progress: Progress) -> None:
    if not source_path.is_file():
        raise BackupError(f"there is no database at {source_path}")
    progress(f"copying {source_path} ({_megabytes(source_path.stat().st_size)})")
    started = time.monotonic()
    source = _open_sqlite(source_path, "rw")
    copy = sqlite3.connect(target, isolation_level=None)
    try:
        # One step (pages=-1) reads one snapshot; several steps would start over each time
        # another connection writes, and might never finish on a busy database.
        source.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode=DELETE")
        verdict = copy.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error as error:
        raise BackupError(f"cannot back up {source_path}: {error}") from error
    finally:
        copy.close()
        source.close()
    if verdict is None or verdict[0] != "ok":
        raise BackupError(f"the copy of {source_path} fails its check: {verdict}")
    progress(f"copied in {time.monotonic() - started:.1f} s")


# -- restoring --------------------------------------------------------------------------------


def restore_backup(
    database_url: str | URL, source: Path, *, overwrite: bool = False, progress: Progress = _quiet
) -> RestoreResult:
    """Put the backup ``source`` into the database, then migrate it to the newest schema.

    Refused when the database holds an organisation, unless ``overwrite``.
    """
    url = normalise_url(database_url)
    kind = url.get_backend_name()
    if not source.is_file():
        raise BackupError(f"there is no backup at {source}")
    with source.open("rb") as opened:
        start = opened.read(16)
    found = "sqlite" if start == _SQLITE_MAGIC else "postgresql" if start[:5] == b"PGDMP" else None
    if found is None:
        raise BackupError(f"{source} is not a cxpulse backup (neither SQLite nor pg_dump -Fc)")
    if found != kind:
        raise BackupError(
            f"{source} is a backup of a {found} database; the configured database is {kind} "
            "(restore it into a database of the same kind)"
        )
    if kind == "sqlite":
        backup_revision = _sqlite_revision(source)
    else:
        backup_revision = pg_backups.revision_in(source)
    _known_revision(backup_revision)
    engine = create_engine_for(url)
    try:
        _refuse_unless_empty(engine, overwrite)
        if kind == "sqlite":
            engine.dispose()
            _sqlite_restore(source, _sqlite_path(url), progress)
        else:
            pg_backups.restore(url, source, engine, progress)
        progress(f"migrating the backup (schema {backup_revision}) to the newest schema")
        try:
            migrate(engine)
        except CommandError as error:
            raise BackupError(f"the restored database cannot be migrated: {error}") from error
        with Session(engine) as session:
            organisations = organisation_count(session)
        revision = _current(engine)
    finally:
        engine.dispose()
    return RestoreResult(backup_revision, revision, organisations)


def _current(engine: Engine) -> str:
    return current_revision(engine) or ""


def _refuse_unless_empty(engine: Engine, overwrite: bool) -> None:
    if overwrite or not inspect(engine).has_table(Organisation.__tablename__):
        return
    with Session(engine) as session:
        count = organisation_count(session)
    if count:
        raise BackupError(
            f"the database holds {count} organisation(s): restoring would replace them; "
            "confirm with --yes, or restore into an empty database"
        )


def _sqlite_revision(source: Path) -> str:
    try:
        connection = _open_sqlite(source, "ro")
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise BackupError(f"{source} is not a cxpulse backup: {error}") from error
    if row is None:
        raise BackupError(f"{source} is not a cxpulse backup: it has no schema revision")
    return str(row[0])


def _known_revision(revision: str) -> None:
    """Refuse a backup made by a newer cxpulse: its schema cannot be migrated from here."""
    scripts = ScriptDirectory.from_config(alembic_config())
    try:
        known = scripts.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(
            f"the backup's schema revision {revision!r} is unknown to this cxpulse: it was "
            "made by a newer version; upgrade cxpulse, then restore"
        )


def _sqlite_restore(source: Path, target_path: Path, progress: Progress) -> None:
    progress(f"copying {source} ({_megabytes(source.stat().st_size)}) into {target_path}")
    target_path.parent.mkdir(parents=True, exist_ok=True)
    origin = _open_sqlite(source, "ro")
    target = sqlite3.connect(target_path, timeout=30, isolation_level=None)
    try:
        target.execute("PRAGMA busy_timeout=30000")
        origin.backup(target, pages=-1)
    except sqlite3.Error as error:
        raise BackupError(f"cannot restore into {target_path}: {error}") from error
    finally:
        target.close()
        origin.close()


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"
