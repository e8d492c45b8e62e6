"""``cxpulse backup`` and ``cxpulse restore``: the whole database to one file and back
(``store.backups``: SQLite's online backup API, or pg_dump and pg_restore)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from cxpulse.cli.console import console, fail
from cxpulse.cli.database import one_line_errors, settings_for, shown
from cxpulse.cli.options import DatabaseOption
from cxpulse.cli.root import app


def _progress(line: str) -> None:
    console(stderr=True).print(line, soft_wrap=True, markup=False, highlight=False)


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse backup\n\n"
        "cxpulse backup --output /srv/backups/\n\n"
        "CXPULSE_DATABASE_URL=postgresql://cx:secret@db/cxpulse cxpulse backup -o cx.dump"
    ),
)
def backup(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="The backup file, or a folder to write it in. Default: "
            "$CXPULSE_BACKUP_DIR/cxpulse-<UTC time>.db (.dump on PostgreSQL).",
            show_default=False,
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Back the whole database up to one file, safely while cxpulse runs.

    SQLite: a copy made with SQLite's online backup API. PostgreSQL: pg_dump --format=custom
    (the client tools must be on the PATH, at least as new as the server). The file appears
    under its final name only once it is whole.
    """
    from cxpulse.store.backups import BackupError, backup_folder, backup_name, take_backup
    from cxpulse.store.db import normalise_url
    from cxpulse.store.types import utc_now

    settings = settings_for(database)
    kind = normalise_url(settings.database_url).get_backend_name()
    if kind not in ("sqlite", "postgresql"):
        fail(f"cannot back up {shown(settings.database_url)}", code=2)
    name = backup_name(kind, utc_now())
    if output is None:
        target = backup_folder(settings) / name
    elif output.is_dir() or str(output).endswith("/"):
        target = output / name
    else:
        target = output
    target = target.expanduser().resolve()
    started = time.monotonic()
    _progress(f"backing up {shown(settings.database_url)} to {target}")
    try:
        with one_line_errors(settings):
            size = take_backup(settings.database_url, target, progress=_progress)
    except BackupError as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot write {target}: {error.strerror or error}")
    console().print(
        f"wrote {target} ({size / 1_000_000:,.1f} MB) in {time.monotonic() - started:.1f} s",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse restore backups/cxpulse-20250101T020000Z.db\n\n"
        "cxpulse restore cx.dump --yes --database postgresql://cx:secret@db/cxpulse"
    ),
)
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `cxpulse backup`.")],
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Replace a database that holds data (refused without it)."),
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Put a backup back into the configured database, then migrate it to this version's
    schema (an older backup is upgraded).

    Refused when the database holds an organisation, unless --yes. Stop `cxpulse serve` and
    `cxpulse worker` first. A backup goes back into a database of the same kind only.
    """
    from cxpulse.store.backups import BackupError, restore_backup

    settings = settings_for(database)
    started = time.monotonic()
    try:
        with one_line_errors(settings):
            result = restore_backup(
                settings.database_url,
                file.expanduser().resolve(),
                overwrite=yes,
                progress=_progress,
            )
    except BackupError as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot restore {file}: {error.strerror or error}")
    console().print(
        f"restored {file} into {shown(settings.database_url)}: {result.organisations} "
        f"organisation(s), schema {result.revision} (the backup's: {result.backup_revision}), "
        f"in {time.monotonic() - started:.1f} s",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
