"""Scheduled backups: queued once a period when the newest backup is that old, taken by the
worker's task runner into the backup folder, the oldest deleted beyond the number kept."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import backup_task
from cxpulse.act.tasks import TaskContext, TaskRegistry, TaskRunner
from cxpulse.collect.links import LinkSigner
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.config import Settings
from cxpulse.store import accounts, backups
from cxpulse.store.db import session_factory
from cxpulse.store.models import OutboxItem


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def _runner(engine: Engine, clock: Clock, folder: Path, *, every: float | None) -> TaskRunner:
    def settings_of(url: str) -> Settings:
        return Settings(
            database_url=url,
            secret_key="k",
            backup_dir=str(folder),
            backup_every_hours=every,
            backup_keep=2,
        )

    registry = TaskRegistry()
    registry.register(backup_task.handler(settings_of))
    context = TaskContext(
        session_factory(engine),
        session_factory(engine, read_only=True),
        clock,
        LinkSigner("k"),
        SmtpSettings(),
    )
    return TaskRunner(context, registry)


@pytest.fixture
def organisation(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        return accounts.create_organisation(session, slug="acme", name="Acme").id


def test_a_backup_each_period_keeping_the_newest(
    engine: Engine, sessions: sessionmaker[Session], organisation: int, tmp_path: Path
) -> None:
    clock = Clock()
    folder = tmp_path / "kept"
    runner = _runner(engine, clock, folder, every=6)
    taken: list[str] = []
    for _ in range(4):
        assert runner.enqueue_due() == 1
        assert runner.enqueue_due() == 0  # the same period: already queued
        assert runner.run_once() == 1
        (newest,) = [b.path.name for b in backups.list_backups(folder)[:1]]
        taken.append(newest)
        assert runner.enqueue_due() == 0  # the newest backup is recent
        clock.now += timedelta(hours=6)
    assert sorted(os.listdir(folder)) == sorted(taken[-2:])  # CXPULSE_BACKUP_KEEP=2
    assert backups.newest_backup_age(folder, clock.now) == timedelta(hours=6)
    with sessions() as session:
        states = session.scalars(select(OutboxItem.state).where(OutboxItem.kind == "backup"))
        assert set(states) == {"sent"}  # the outbox's word for done


def test_off_by_default_and_nothing_to_back_up_without_an_organisation(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    clock = Clock()
    assert _runner(engine, clock, tmp_path / "b", every=1).enqueue_due() == 0  # no organisation
    with sessions.begin() as session:
        accounts.create_organisation(session, slug="acme", name="Acme")
    assert _runner(engine, clock, tmp_path / "b", every=None).enqueue_due() == 0
    assert not (tmp_path / "b").exists()
