"""Backups and restores of the whole database (``store.backups``) on SQLite and PostgreSQL:
everything comes back into an empty database, a database with data is not overwritten
without consent, an older backup is upgraded, a backup taken while another thread writes is
consistent, and no half-written file ever carries a backup's name."""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, func, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.demo.seed import seed_demo
from cxpulse.store import accounts, backups, contacts, loop_settings, text_themes
from cxpulse.store.backups import BackupError
from cxpulse.store.db import create_engine_for, current_revision, head_revision, migrate
from cxpulse.store.models import (
    Base,
    Contact,
    FollowUpCase,
    LoopSettings,
    Organisation,
    Response,
    Rule,
    TextTheme,
)

NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


@pytest.fixture
def empty_url(database_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database of the parametrised kind that does not exist yet (SQLite) or
    holds nothing at all (PostgreSQL: a database of its own, dropped afterwards)."""
    if database_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'cxpulse.db'}"
        return
    admin: str = request.getfixturevalue("postgres_admin_url")
    yield from _scratch_postgres(admin)


def _scratch_postgres(admin: str) -> Iterator[str]:
    name = f"cxpulse_restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def seed(sessions: sessionmaker[Session]) -> None:
    """The demo shop (answers, contacts, cases, rules, surveys, invitations ...) plus a theme
    and the closed loop's settings, which the demo leaves at their defaults."""
    with sessions.begin() as session:
        summary = seed_demo(session, months=1, now=NOW)
        organisation_id = summary.organisation_id
        text_themes.create_theme(
            session,
            organisation_id,
            key="delivery-time",
            name="Delivery time",
            phrases={"en": ["late delivery", "took ages"]},
        )
        loop_settings.update_settings(
            session, organisation_id, retention_months=24, timezone="Europe/Stockholm"
        )


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        counts = {
            each.name: int(connection.execute(select(func.count()).select_from(each)).scalar_one())
            for each in Base.metadata.sorted_tables
        }
        counts["alembic_version"] = int(
            connection.execute(
                select(func.count()).select_from(table("alembic_version"))
            ).scalar_one()
        )
    return counts


def sample_values(engine: Engine) -> dict[str, object]:
    with Session(engine) as session:
        return {
            "organisation": session.scalars(select(Organisation.slug)).all(),
            "comments": session.scalars(
                select(Response.comment).where(Response.comment.is_not(None)).order_by(Response.id)
            ).all()[:20],
            "contact": session.scalars(select(Contact.email).order_by(Contact.id)).first(),
            "rules": sorted(session.scalars(select(Rule.name))),
            "cases": session.scalars(select(FollowUpCase.state).order_by(FollowUpCase.id)).all(),
            "themes": sorted(session.scalars(select(TextTheme.name))),
            "retention": session.scalars(select(LoopSettings.retention_months)).all(),
            "timezone": session.scalars(select(LoopSettings.timezone)).all(),
        }


def test_a_restore_into_an_empty_database_finds_everything(
    engine: Engine, sessions: sessionmaker[Session], empty_url: str, tmp_path: Path
) -> None:
    seed(sessions)
    before_counts, before_values = row_counts(engine), sample_values(engine)
    with Session(engine) as session:
        max_contact_id = session.scalar(select(func.max(Contact.id))) or 0
    for name in ("responses", "contacts", "cases", "rules", "text_themes", "response_answers"):
        assert before_counts[name] > 0, name
    assert before_counts["loop_settings"] == 1
    kind = engine.dialect.name
    target = tmp_path / "out" / backups.backup_name(kind, NOW)
    lines: list[str] = []

    size = backups.take_backup(_url(engine), target, progress=lines.append)

    assert target.stat().st_size == size > 0
    assert oct(target.stat().st_mode & 0o777) == "0o600"  # a backup holds personal data
    assert lines  # progress was reported
    assert sorted(os.listdir(target.parent)) == [target.name]  # no temporary file left
    result = backups.restore_backup(empty_url, target)
    assert result.organisations == 1
    assert result.revision == result.backup_revision == head_revision()
    restored = create_engine_for(empty_url)
    try:
        assert row_counts(restored) == before_counts
        assert sample_values(restored) == before_values
        with Session(restored) as session:  # sequences and ids go on where they stopped
            organisation_id = session.scalars(select(Organisation.id)).one()
            added = contacts.create_contact(session, organisation_id, email="new@example.com")
            assert added.id > max_contact_id
            session.rollback()
    finally:
        restored.dispose()


def test_a_database_with_data_is_not_overwritten_without_consent(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions.begin() as session:
        accounts.create_organisation(session, slug="acme", name="Acme")
    target = tmp_path / "acme.backup"
    backups.take_backup(_url(engine), target)
    with sessions.begin() as session:
        accounts.create_organisation(session, slug="globex", name="Globex")

    with pytest.raises(BackupError, match=r"holds 2 organisation\(s\).*--yes"):
        backups.restore_backup(_url(engine), target)
    with sessions() as session:
        assert sorted(session.scalars(select(Organisation.slug))) == ["acme", "globex"]

    result = backups.restore_backup(_url(engine), target, overwrite=True)
    assert result.organisations == 1
    with sessions() as session:
        assert session.scalars(select(Organisation.slug)).all() == ["acme"]


def test_an_older_backup_is_upgraded_into_a_database_already_at_head(
    engine: Engine, database_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # The usual move to a new server: `cxpulse serve` has created the newest (empty) schema
    # there before the old backup arrives.
    if database_kind == "sqlite":
        old_urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'old.db'}"])
    else:
        old_urls = _scratch_postgres(request.getfixturevalue("postgres_admin_url"))
    old_url = next(old_urls)
    try:
        old = create_engine_for(old_url)
        migrate(old, "0010")
        with old.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO organisations (slug, name, created_at, throttle_days)"
                    " VALUES ('acme', 'Acme', :t, 0)"
                ),
                {"t": NOW},
            )
        old.dispose()
        target = tmp_path / "old.backup"
        backups.take_backup(old_url, target)
    finally:
        for _ in old_urls:  # drops the PostgreSQL database
            pass

    result = backups.restore_backup(_url(engine), target)

    assert (result.backup_revision, result.revision) == ("0010", head_revision())
    assert current_revision(engine) == head_revision()
    with Session(engine) as session:
        assert session.scalars(select(Organisation.slug)).all() == ["acme"]


def test_a_backup_of_the_other_kind_or_of_nothing_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    stranger = tmp_path / "notes.txt"
    stranger.write_text("not a database", encoding="utf-8")
    with pytest.raises(BackupError, match="not a cxpulse backup"):
        backups.restore_backup(_url(engine), stranger)
    with pytest.raises(BackupError, match="no backup at"):
        backups.restore_backup(_url(engine), tmp_path / "missing.db")
    other = tmp_path / "other"
    if engine.dialect.name == "sqlite":
        other.write_bytes(b"PGDMP" + bytes(100))
        expected = "backup of a postgresql database; the configured database is sqlite"
    else:
        with sqlite3.connect(other) as connection:
            connection.execute("CREATE TABLE t (x)")
        expected = "backup of a sqlite database; the configured database is postgresql"
    with pytest.raises(BackupError, match=expected):
        backups.restore_backup(_url(engine), other)


def test_a_backup_made_by_a_newer_version_is_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999')")
    connection.close()
    with pytest.raises(BackupError, match="'9999' is unknown to this cxpulse"):
        backups.restore_backup(f"sqlite:///{tmp_path / 'target.db'}", newer)


def test_an_existing_file_is_never_replaced_and_a_failure_leaves_no_file(tmp_path: Path) -> None:
    taken = tmp_path / "taken.db"
    taken.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="exists already"):
        backups.take_backup(f"sqlite:///{tmp_path / 'cx.db'}", taken)
    assert taken.read_bytes() == b"keep me"
    folder = tmp_path / "backups"
    with pytest.raises(BackupError, match="no database at"):
        backups.take_backup(f"sqlite:///{tmp_path / 'missing.db'}", folder / "x.db")
    assert os.listdir(folder) == []
    assert not (tmp_path / "missing.db").exists()  # not created by the attempt


def test_a_sqlite_backup_taken_while_another_thread_writes_is_consistent(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "busy.db"
    path.write_bytes(sqlite_template.read_bytes())
    engine = create_engine_for(f"sqlite:///{path}")
    with Session(engine) as session, session.begin():
        organisation_id = accounts.create_organisation(session, slug="acme", name="Acme").id
    stop = threading.Event()
    written = [0]

    def write() -> None:
        # Each transaction adds two contacts: a consistent copy holds an even number.
        while not stop.is_set():
            with Session(engine) as session, session.begin():
                for _ in range(2):
                    contacts.create_contact(
                        session, organisation_id, email=f"c{uuid.uuid4().hex}@example.com"
                    )
            written[0] += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        copies = []
        for index in range(5):
            copy = tmp_path / f"copy-{index}.db"
            backups.take_backup(f"sqlite:///{path}", copy)
            copies.append(copy)
    finally:
        stop.set()
        writer.join()
    engine.dispose()
    assert written[0] > 5
    seen = []
    for copy in copies:
        with sqlite3.connect(copy) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            count = connection.execute("SELECT count(*) FROM contacts").fetchone()[0]
        connection.close()
        assert count % 2 == 0
        seen.append(count)
    assert seen == sorted(seen)
    assert not list(tmp_path.glob("copy-*-wal"))  # each copy is one self-contained file


def test_names_newest_age_and_pruning(tmp_path: Path) -> None:
    assert backups.backup_name("sqlite", NOW) == "cxpulse-20250314T092653Z.db"
    assert backups.backup_name("postgresql", NOW) == "cxpulse-20250314T092653Z.dump"
    assert backups.newest_backup_age(tmp_path / "none", NOW) is None
    for hours in (30, 2, 54, 6):
        (tmp_path / backups.backup_name("sqlite", NOW - timedelta(hours=hours))).write_bytes(b"x")
    (tmp_path / "cxpulse-notes.db").write_bytes(b"mine")  # not a backup's name: never pruned
    assert backups.newest_backup_age(tmp_path, NOW) == timedelta(hours=2)
    assert [b.taken_at for b in backups.list_backups(tmp_path)] == [
        NOW - timedelta(hours=h) for h in (2, 6, 30, 54)
    ]
    removed = backups.prune_backups(tmp_path, 2)
    assert sorted(p.name for p in removed) == sorted(
        backups.backup_name("sqlite", NOW - timedelta(hours=h)) for h in (30, 54)
    )
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["cxpulse-notes.db"]
        + [backups.backup_name("sqlite", NOW - timedelta(hours=h)) for h in (2, 6)]
    )
