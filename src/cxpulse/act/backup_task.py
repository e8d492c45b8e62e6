"""Scheduled backups by the worker: every ``CXPULSE_BACKUP_EVERY_HOURS`` (off by default) a
backup of the whole database into ``CXPULSE_BACKUP_DIR``, keeping the newest
``CXPULSE_BACKUP_KEEP`` (``store.backups``).

The backup is an outbox task like the closed loop's, so that several workers (or the
background process of several ``cxpulse serve``) take one backup per period between them: the
item's dedupe key names the period. It is queued only when the newest backup in the folder is
at least a period old, so a backup taken by hand also counts. An outbox item belongs to an
organisation; a backup, of all of them, is given to the oldest (none: nothing to back up).

The settings are read when the task runs, not when it is registered (``act.loop`` registers
it at import, before any process has settings of its own), for the database the worker runs
on (its ``--database`` may differ from ``CXPULSE_DATABASE_URL``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from cxpulse.act.tasks import TASKS, Done, Outcome, Retry, TaskContext, TaskHandler
from cxpulse.config import Settings
from cxpulse.store import backups, outbox
from cxpulse.store.db import normalise_url
from cxpulse.store.outbox import Claimed

__all__ = ["KIND", "handler", "register"]

KIND = "backup"


def _period_key(now: datetime, hours: float) -> str:
    period = int(now.timestamp() // (hours * 3600))
    return f"{KIND}:{period}"


SettingsOf = Callable[[str], Settings]
"""The settings of the scheduled backups for a database URL."""


def settings_from_environment(database_url: str) -> Settings:
    """``CXPULSE_BACKUP_*`` from the environment, for the worker's database. Only the backup
    settings are read from it: the placeholder key spares making a secret key file."""
    return Settings(database_url=database_url, secret_key="unused-by-backups")  # noqa: S106


def _url(bind: object) -> str:
    assert isinstance(bind, Engine | Connection)
    return bind.engine.url.render_as_string(hide_password=False)


def _enqueue_due(settings_of: SettingsOf, session: Session, now: datetime) -> int:
    settings = settings_of(_url(session.get_bind()))
    hours = settings.backup_every_hours
    if hours is None:
        return 0
    age = backups.newest_backup_age(backups.backup_folder(settings), now)
    if age is not None and age < timedelta(hours=hours):
        return 0
    owner = backups.first_organisation_id(session)
    if owner is None:
        return 0
    return int(outbox.enqueue(session, owner, KIND, _period_key(now, hours), available_at=now))


def _run(
    settings_of: SettingsOf, context: TaskContext, items: Sequence[Claimed]
) -> Sequence[Outcome]:
    url = _url(context.sessions.kw["bind"])
    settings = settings_of(url)
    folder = backups.backup_folder(settings)
    now = context.clock()
    # Several items (periods missed while no worker ran) need one backup, not one each.
    age = backups.newest_backup_age(folder, now)
    hours = settings.backup_every_hours
    if age is not None and hours is not None and age < timedelta(hours=hours) / 2:
        return [Done("a recent backup exists") for _ in items]
    kind = normalise_url(url).get_backend_name()
    target = folder / backups.backup_name(kind, now)
    try:
        size = backups.take_backup(url, target)
    except (backups.BackupError, OSError) as error:
        return [Retry(f"backup failed: {error}", delay=timedelta(minutes=15)) for _ in items]
    removed = backups.prune_backups(folder, settings.backup_keep)
    note = f"{target.name}: {size:,} bytes; {len(removed)} older backup(s) deleted"
    return [Done(note) for _ in items]


def handler(settings_of: SettingsOf = settings_from_environment) -> TaskHandler:
    """The backup task; ``settings_of`` gives the settings when it runs (tests pass theirs)."""
    return TaskHandler(
        kind=KIND,
        run=lambda context, items: _run(settings_of, context, items),
        batch=10,
        max_attempts=3,
        enqueue_due=lambda session, now: _enqueue_due(settings_of, session, now),
    )


_HANDLER = handler()


def register() -> None:
    TASKS.register(_HANDLER)
