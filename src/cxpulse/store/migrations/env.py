"""Alembic environment: migrates the connection ``cxpulse.store.db.migrate`` hands over.

Run by the ``alembic`` command instead (developers writing a migration), it connects to
``sqlalchemy.url`` from the config, or to ``CXPULSE_DATABASE_URL``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cxpulse.store.models import Base


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from cxpulse.config import get_settings

    return get_settings().database_url


def run() -> None:
    if context.is_offline_mode():
        context.configure(
            url=_url(),
            target_metadata=Base.metadata,
            render_as_batch=True,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    from cxpulse.store.db import create_engine_for

    engine = create_engine_for(_url())
    try:
        with engine.connect() as own_connection:
            _configure_and_run(own_connection)
    finally:
        engine.dispose()


run()
