"""Fixtures shared by the whole suite: one database per test, on SQLite and on PostgreSQL.

- ``database_kind``: ``sqlite`` or ``postgresql``; every test using the fixtures below runs
  once with each.
- ``engine``: an engine on a database migrated to head and holding no rows: a fresh SQLite
  file in tmp_path (copied from a template migrated once), or a PostgreSQL database created
  for this test session (and xdist worker) on 127.0.0.1:5432, emptied before each test and
  dropped at the end.
- ``sessions``: a session factory on ``engine``; ``session``: one session from it, rolled
  back at the end.
- ``database_url``: the URL of an empty database without any table, for migration tests.

Each test process also remembers what FastAPI builds for the routes of every new app (their
parameters and response models), which the suite would otherwise rebuild for each of its
thousands of apps: see ``_remember_route_fields``.

PostgreSQL is started with pg_ctlcluster when it is down. If it still cannot be reached, its
half of the tests is skipped with the reason shown, or fails when ``CI=true``.
``CXPULSE_TEST_POSTGRES_URL`` points the suite at another server (an admin URL whose role
may create databases).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

# Importing scikit-learn's linear models draws from Python's global random generator. The
# in-process worker's comment analysis imports them on first use, in its own thread, which
# Hypothesis reports as a change of the global random state while it draws examples (the
# OpenAPI and stateful runs). Importing them here, before any test draws, prevents that.
import sklearn.linear_model  # noqa: F401
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.db import (
    create_engine_for,
    current_revision,
    head_revision,
    migrate,
    session_factory,
)
from cxpulse.store.models import Base


def _remember_route_fields() -> None:
    """Build each route's parameters and response model once per test process, not once per app.

    FastAPI (0.137 and later) builds, for every app, the dependant (the parameters) and the
    response-model field of each route of each included router, on the app's first request;
    each field is a pydantic TypeAdapter. A serving process builds one app, but the suite
    builds one per test, and this was most of a route test's time (~0.4 s of ~0.6 s). Both
    are pure functions of the route's definition, so they are remembered here by what they
    are built from; everything else of an app (its state, routes' handlers, middleware,
    dependency overrides) is still built per app. Should FastAPI rename these helpers, this
    does nothing and the suite is merely slower.
    """
    routing: Any = importlib.import_module("fastapi.routing")
    build = getattr(routing, "_build_dependant_with_parameterless_dependencies", None)
    make_field = getattr(routing, "create_model_field", None)
    if build is None or make_field is None:
        return
    dependants: dict[tuple[object, ...], tuple[object, object]] = {}
    fields: dict[tuple[object, ...], object] = {}

    def remembered_build(*, path: str, call: object, dependencies: Any) -> Any:
        # The route-level dependencies by identity: they live as long as their routes (the
        # value keeps them too, so that an id is never reused for another object).
        key = (path, call, *map(id, dependencies))
        try:
            found = dependants.get(key)
        except TypeError:  # an unhashable callable: build it as FastAPI does
            return build(path=path, call=call, dependencies=dependencies)
        if found is None:
            found = (build(path=path, call=call, dependencies=dependencies), list(dependencies))
            dependants[key] = found
        return found[0]

    def remembered_field(name: str, type_: Any, *args: Any, **options: Any) -> Any:
        if args or options.get("field_info") is not None:
            return make_field(name, type_, *args, **options)
        key = (name, type_, *sorted(options.items()))
        try:
            found = fields.get(key)
        except TypeError:
            return make_field(name, type_, **options)
        if found is None:
            found = fields[key] = make_field(name, type_, **options)
        return found

    routing._build_dependant_with_parameterless_dependencies = remembered_build
    routing.create_model_field = remembered_field


_remember_route_fields()

DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
_START_WAIT_SECONDS = 20.0


def _admin_url() -> str:
    return os.environ.get("CXPULSE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL)


def _reachable(url: str) -> str | None:
    """None when a connection succeeds, else why not."""
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except psycopg.OperationalError as error:
        return str(error).strip() or type(error).__name__


def _start_local_cluster() -> None:
    config = Path("/etc/postgresql")
    if not config.is_dir():
        return
    for version in sorted(p.name for p in config.iterdir() if p.is_dir()):
        # Another xdist worker may be starting it at the same moment; its error is harmless.
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
            capture_output=True,
            timeout=60,
        )


def _is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """An admin URL of a running PostgreSQL server, starting the local one if needed."""
    url = _admin_url()
    problem = _reachable(url)
    if problem is not None:
        _start_local_cluster()
        deadline = time.monotonic() + _START_WAIT_SECONDS
        while problem is not None and time.monotonic() < deadline:
            time.sleep(0.5)
            problem = _reachable(url)
    if problem is not None:
        message = f"PostgreSQL at {make_url(url).render_as_string()} is unreachable: {problem}"
        if _is_ci():
            pytest.fail(message + " (CI=true: PostgreSQL is required)", pytrace=False)
        pytest.skip(message)
    return url


BARE_SCHEMA = "bare"


@pytest.fixture(scope="session")
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """A database of this test session (and xdist worker), dropped afterwards.

    One database rather than one per purpose: creating and dropping a database each cost a
    checkpoint. Its ``public`` schema is kept migrated for ``engine``; ``database_url`` hands
    out the ``bare`` schema, so that a test may use both fixtures at once.

    Its commits do not wait for the WAL to reach the disk (``synchronous_commit=off``): that
    wait was ~3 ms a commit here, and a test commits tens of times. Only a crash of the
    server itself could lose such a commit, and no test crashes the shared server (the
    fault tests stop a private one); what each connection sees is unchanged.
    """
    worker = re.sub(r"[^a-z0-9]", "", os.environ.get("PYTEST_XDIST_WORKER", "").lower()) or "main"
    name = f"cxpulse_test_{worker}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    try:
        yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: faster than migrating each time."""
    path = tmp_path_factory.mktemp("template") / "cxpulse.db"
    created = create_engine_for(f"sqlite:///{path}")
    try:
        migrate(created)
    finally:
        # The last connection to close checkpoints the WAL into the file, so a copy is whole.
        created.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def database_url(database_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no tables at all) of the parametrised kind."""
    if database_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    database: str = request.getfixturevalue("postgres_database")
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {BARE_SCHEMA} CASCADE")
        connection.execute(f"CREATE SCHEMA {BARE_SCHEMA}")
    url = make_url(database).update_query_dict({"options": f"-c search_path={BARE_SCHEMA}"})
    return url.render_as_string(hide_password=False)


def _ready_postgres(url: str) -> Engine:
    """An engine on ``url`` at the newest schema with no rows: emptied when it is at head
    already (deleting a few rows is far faster than rebuilding the schema), else rebuilt."""
    created = create_engine_for(url)
    if current_revision(created) == head_revision():
        with created.begin() as connection:
            # One round trip for all tables, children first (a statement each took ~15 ms
            # more per test).
            quote = connection.dialect.identifier_preparer.format_table
            connection.exec_driver_sql(
                ";".join(
                    f"DELETE FROM {quote(table)}" for table in reversed(Base.metadata.sorted_tables)
                )
            )
        return created
    with created.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    migrate(created)
    return created


@pytest.fixture
def engine(database_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database of the parametrised kind, migrated to head, with no rows."""
    if database_kind == "sqlite":
        path = tmp_path / "cxpulse.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        created = create_engine_for(f"sqlite:///{path}")
    else:
        created = _ready_postgres(request.getfixturevalue("postgres_database"))
    try:
        yield created
    finally:
        created.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose uncommitted work is rolled back at the end."""
    with sessions() as opened:
        yield opened
        opened.rollback()
