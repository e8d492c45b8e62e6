"""``cxpulse backup`` and ``cxpulse restore``: a file named by the UTC time, progress and size
shown, a database with data kept unless --yes, and one clear line (exit 1) for each failure."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

import cxpulse.cli.backup_command  # noqa: F401  (registers the commands)
from cxpulse.cli.root import app
from cxpulse.store import accounts, contacts
from cxpulse.store.models import Contact, Organisation

NAME = re.compile(r"cxpulse-\d{8}T\d{6}Z\.(db|dump)")


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("CXPULSE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CXPULSE_SECRET_KEY", "test-key")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)  # PostgreSQL's default folder: ./backups
    return CliRunner()


@pytest.fixture
def acme(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        organisation = accounts.create_organisation(session, slug="acme", name="Acme")
        contacts.create_contact(session, organisation.id, email="anna@example.com")
        return organisation.id


def _default_folder(engine: Engine, tmp_path: Path) -> Path:
    if engine.dialect.name == "sqlite":
        assert engine.url.database is not None
        return Path(engine.url.database).parent / "backups"
    return tmp_path / "backups"


def test_backup_then_restore_with_and_without_consent(
    cli: CliRunner, engine: Engine, acme: int, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    made = cli.invoke(app, ["backup"])
    assert made.exit_code == 0, made.output
    folder = _default_folder(engine, tmp_path)
    (backup,) = os.listdir(folder)
    assert NAME.fullmatch(backup)
    assert backup.endswith(".db" if engine.dialect.name == "sqlite" else ".dump")
    assert f"wrote {folder / backup} (" in made.stdout
    assert " MB) in " in made.stdout
    assert "backing up" in made.stderr  # progress

    with sessions.begin() as session:
        contacts.create_contact(session, acme, email="bo@example.com")
    refused = cli.invoke(app, ["restore", str(folder / backup)])
    assert refused.exit_code == 1
    assert "holds 1 organisation(s)" in refused.stderr
    assert "--yes" in refused.stderr
    assert "Traceback" not in refused.output
    with sessions() as session:
        assert len(session.scalars(select(Contact.email)).all()) == 2

    restored = cli.invoke(app, ["restore", str(folder / backup), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "1 organisation(s)" in restored.stdout
    with sessions() as session:
        assert session.scalars(select(Contact.email)).all() == ["anna@example.com"]


def test_restore_into_an_empty_sqlite_database(
    cli: CliRunner, engine: Engine, acme: int, tmp_path: Path
) -> None:
    target = tmp_path / "mine.db"
    made = cli.invoke(app, ["backup", "--output", str(target)])
    assert made.exit_code == 0, made.output
    if engine.dialect.name != "sqlite":
        assert target.read_bytes()[:5] == b"PGDMP"
        return
    fresh = f"sqlite:///{tmp_path / 'fresh' / 'cxpulse.db'}"
    restored = cli.invoke(app, ["restore", str(target), "--database", fresh])
    assert restored.exit_code == 0, restored.output
    from cxpulse.store.db import create_engine_for

    other = create_engine_for(fresh)
    try:
        with Session(other) as session:
            assert session.scalars(select(Organisation.slug)).all() == ["acme"]
    finally:
        other.dispose()
    again = cli.invoke(app, ["backup", "--output", str(target)])
    assert again.exit_code == 1
    assert "exists already" in again.stderr


def test_failures_are_one_line_and_leave_no_file(
    cli: CliRunner, engine: Engine, acme: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = cli.invoke(app, ["restore", str(tmp_path / "nothing.db")])
    assert missing.exit_code == 1
    assert "there is no backup at" in missing.stderr
    if engine.dialect.name == "sqlite":
        return
    tools = tmp_path / "bin"
    tools.mkdir()
    monkeypatch.setenv("PATH", str(tools))
    out = tmp_path / "out"
    absent = cli.invoke(app, ["backup", "--output", str(out / "x.dump")])
    assert absent.exit_code == 1
    assert "pg_dump was not found on the PATH" in absent.stderr
    # An old client: the version is all that is asked of it before the refusal.
    old = tools / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n", encoding="utf-8")
    old.chmod(0o755)
    too_old = cli.invoke(app, ["backup", "--output", str(out / "x.dump")])
    assert too_old.exit_code == 1
    assert "is PostgreSQL 9, older than the server's" in too_old.stderr
    assert os.listdir(out) == []
