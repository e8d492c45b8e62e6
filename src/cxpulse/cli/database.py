"""The database of a command: its settings (``--database`` over ``CXPULSE_DATABASE_URL``),
sessions on the migrated schema, organisations and surveys found by slug, and errors a user
can fix turned into one line each (never a traceback).

Every command that touches the database goes through ``settings_for`` and ``open_store``,
so that each of them also works on a new, empty database.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from cxpulse.cli.console import fail

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from cxpulse.config import Settings
    from cxpulse.store.models import Organisation, Survey


def settings_for(database: str | None) -> Settings:
    """The settings of a command: the environment's, with ``--database`` (when given) as the
    database, whose folder is created if need be (the secret key is kept beside it)."""
    from cxpulse.config import ConfigError, Settings

    if database is not None and not database.strip():
        fail("--database needs a URL such as sqlite:///cxpulse.db", code=2)
    try:
        return Settings.from_env(database_url=database.strip() if database else None)
    except ConfigError as error:
        fail(str(error), code=2)
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        fail(f"cannot use the database folder{where}: {error.strerror or error}", code=2)


def shown(url: str) -> str:
    """The URL with its password hidden, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _first_line(error: BaseException) -> str:
    """The first line of a driver error, without SQLAlchemy's statement dump."""
    from sqlalchemy.exc import DBAPIError

    cause: BaseException = error
    if isinstance(error, DBAPIError) and error.orig is not None:
        cause = error.orig
    lines = [line.strip() for line in str(cause).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


@contextlib.contextmanager
def one_line_errors(settings: Settings) -> Iterator[None]:
    """Turn the errors a user can cause or fix into one line each."""
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from cxpulse.store.errors import StoreError
    from cxpulse.store.lookups import Unresolved

    try:
        yield
    except Unresolved as error:
        fail(str(error), code=2)
    except StoreError as error:
        fail(str(error))
    except SQLAlchemyError as error:
        fail(f"database {shown(settings.database_url)}: {_first_line(error)}")
    except CommandError as error:
        fail(f"cannot migrate {shown(settings.database_url)}: {error}")


def engine_for(settings: Settings) -> Engine:
    from cxpulse.store.db import create_engine_for

    try:
        return create_engine_for(
            settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
    except (ValueError, ImportError) as error:
        fail(f"cannot use the database {shown(settings.database_url)}: {error}", code=2)


@contextlib.contextmanager
def open_store(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the migrated database; the engine is closed afterwards."""
    with open_reading_and_writing(settings) as (_, sessions):
        yield sessions


@contextlib.contextmanager
def open_reading_and_writing(
    settings: Settings,
) -> Iterator[tuple[sessionmaker[Session], sessionmaker[Session]]]:
    """Sessions that only read (on SQLite they never take the write lock) and sessions that
    write, on the migrated database; the engine is closed afterwards."""
    from cxpulse.store.db import migrate, session_factory

    engine = engine_for(settings)
    try:
        with one_line_errors(settings):
            migrate(engine)
            yield session_factory(engine, read_only=True), session_factory(engine)
    finally:
        engine.dispose()


def organisation_named(session: Session, slug: str | None) -> Organisation:
    """The organisation ``--org`` names (the only one when it is left out), else one line."""
    from cxpulse.store.lookups import Unresolved, find_organisation

    try:
        return find_organisation(session, slug)
    except Unresolved as error:
        fail(str(error), code=2)


def survey_named(session: Session, slug: str, org: str | None) -> Survey:
    """The survey ``--survey`` names (in ``--org`` when given), else one line."""
    from cxpulse.store.lookups import Unresolved, find_survey

    try:
        return find_survey(session, slug, org)
    except Unresolved as error:
        fail(str(error), code=2)
