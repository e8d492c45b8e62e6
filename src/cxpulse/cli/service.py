"""Commands that run the service: migrate, serve, demo, create-user and api-key.

Every command works on ``CXPULSE_DATABASE_URL`` (default: ``cxpulse.db`` in the working
directory), or on ``--database URL``, and brings its schema up to date first, so that each
of them also works on a new, empty database. Store, database and configuration errors end
the command with one clear line, never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxpulse.cli.app import app
from cxpulse.cli.console import console, fail

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from cxpulse.config import Settings
    from cxpulse.store.models import ApiKey, Organisation

api_key_app = typer.Typer(
    help="Create, list and revoke API keys: Bearer tokens for scripts and integrations.",
    epilog="Example: `cxpulse api-key create --org acme --name helpdesk --scope write` "
    "(prints the key once; store it in your helpdesk's secret settings).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(api_key_app, name="api-key")


class RoleOption(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    ANALYST = "analyst"
    AGENT = "agent"
    VIEWER = "viewer"


class ScopeOption(StrEnum):
    READ = "read"
    WRITE = "write"


class ListFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


DatabaseArg = Annotated[
    str | None,
    typer.Option(
        "--database",
        metavar="URL",
        help="sqlite:///PATH or postgresql://USER:PASSWORD@HOST/NAME. "
        "Default: $CXPULSE_DATABASE_URL, else cxpulse.db in the working directory.",
        show_default=False,
    ),
]
HostArg = Annotated[
    str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for every interface.")
]
PortArg = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")]
OrgArg = Annotated[
    str, typer.Option("--org", metavar="SLUG", help="The organisation's slug.", show_default=False)
]


# Shared plumbing


def _settings(database: str | None) -> Settings:
    """Settings from the environment; ``--database`` overrides ``CXPULSE_DATABASE_URL``.

    The override goes into the environment too, so that a server started from here (and its
    reloading child) reads the same database.
    """
    from sqlalchemy.engine import make_url

    from cxpulse.config import (
        DEFAULT_DATABASE_URL,
        ConfigError,
        absolute_sqlite_url,
        get_settings,
    )

    try:
        if database is not None:
            if not database.strip():
                fail("--database needs a URL such as sqlite:///cxpulse.db", code=2)
            os.environ["CXPULSE_DATABASE_URL"] = absolute_sqlite_url(database.strip(), Path.cwd())
            get_settings.cache_clear()
        url = absolute_sqlite_url(
            os.environ.get("CXPULSE_DATABASE_URL") or DEFAULT_DATABASE_URL, Path.cwd()
        )
        path = make_url(url).database if make_url(url).get_backend_name() == "sqlite" else None
        if path and path != ":memory:" and not path.startswith("file:"):
            # The secret key is kept beside the database file: its folder must exist.
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return get_settings()
    except ConfigError as error:
        fail(str(error), code=2)
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        fail(f"cannot use the database folder{where}: {error.strerror or error}", code=2)


def _shown(url: str) -> str:
    """The URL with its password hidden, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _short(error: BaseException) -> str:
    """The first line of a driver error, without SQLAlchemy's statement dump."""
    from sqlalchemy.exc import DBAPIError

    cause: BaseException = error
    if isinstance(error, DBAPIError) and error.orig is not None:
        cause = error.orig
    lines = [line.strip() for line in str(cause).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


@contextlib.contextmanager
def _errors(settings: Settings) -> Iterator[None]:
    """Turn the errors a user can cause or fix into one line each."""
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from cxpulse.store.errors import StoreError

    try:
        yield
    except StoreError as error:
        fail(str(error))
    except SQLAlchemyError as error:
        fail(f"database {_shown(settings.database_url)}: {_short(error)}")
    except CommandError as error:
        fail(f"cannot migrate {_shown(settings.database_url)}: {error}")


def _engine(settings: Settings) -> Engine:
    from cxpulse.store.db import create_engine_for

    try:
        return create_engine_for(
            settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
    except (ValueError, ImportError) as error:
        fail(f"cannot use the database {_shown(settings.database_url)}: {error}", code=2)


@contextlib.contextmanager
def _store(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the migrated database; the engine is closed afterwards."""
    from cxpulse.store.db import migrate, session_factory

    engine = _engine(settings)
    try:
        with _errors(settings):
            migrate(engine)
            yield session_factory(engine)
    finally:
        engine.dispose()


def _organisation(session: Session, slug: str) -> Organisation:
    from cxpulse.store import accounts
    from cxpulse.store.errors import NotFound

    try:
        return accounts.get_organisation_by_slug(session, slug)
    except NotFound:
        fail(f"no organisation {slug!r}; `cxpulse create-user --create-org NAME` creates one")


def _browser_url(host: str, port: int, path: str = "") -> str:
    if host in ("127.0.0.1", "localhost", "0.0.0.0", "::", ""):  # noqa: S104 (only a label)
        # Browsers keep Secure cookies on http://localhost, and it reaches 0.0.0.0 too.
        shown = "localhost"
    elif ":" in host:
        shown = f"[{host}]"
    else:
        shown = host
    return f"http://{shown}:{port}{path}"


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                fail(
                    f"cannot listen on {host}:{port}: {error.strerror}; choose another --port "
                    "(or stop what runs there)"
                )
            fail(f"cannot listen on {host}:{port}: {error.strerror or error}")


def _is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def default_workers() -> int:
    """Server processes ``cxpulse serve`` starts unless told: one."""
    return 1


def _run_server(
    settings: Settings,
    host: str,
    port: int,
    reload: bool,
    *,
    workers: int = 1,
    access_log: bool = True,
) -> None:
    import uvicorn

    out = console()
    out.print(
        f"cxpulse is serving {_shown(settings.database_url)} on "
        f"[bold]{_browser_url(host, port)}[/]  (API docs: {_browser_url(host, port, '/docs')})"
        "  Ctrl+C stops it.",
        markup=True,
        soft_wrap=True,
    )
    sys.stdout.flush()
    if reload or workers > 1:
        # Child processes build their own app from the environment, which ``_settings`` has
        # pointed at the same database (and the same secret key file).
        import cxpulse

        uvicorn.run(
            "cxpulse.web:create_app",
            factory=True,
            host=host,
            port=port,
            reload=reload,
            reload_dirs=[str(Path(cxpulse.__file__).parent)] if reload else None,
            workers=None if reload else workers,
            access_log=access_log,
        )
        return
    from cxpulse.web import create_app

    with _errors(settings):
        web_app = create_app(settings=settings)
    uvicorn.run(web_app, host=host, port=port, access_log=access_log)


# migrate, serve


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse migrate\n\n"
        "CXPULSE_DATABASE_URL=postgresql://cx:secret@db/cxpulse cxpulse migrate"
    )
)
def migrate(database: DatabaseArg = None) -> None:
    """Bring the database schema up to date; safe to run at any time, and from several places.

    `cxpulse serve` also does this when it starts.
    """
    from cxpulse.store import db

    settings = _settings(database)
    engine = _engine(settings)
    try:
        with _errors(settings):
            before = db.current_revision(engine)
            db.migrate(engine)
            after = db.current_revision(engine)
    finally:
        engine.dispose()
    where = _shown(settings.database_url)
    if before == after:
        console().print(f"{where} is up to date (revision {after})", soft_wrap=True)
    else:
        console().print(
            f"migrated {where} from revision {before or '(empty database)'} to {after}",
            soft_wrap=True,
        )


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse serve\n\n"
        "CXPULSE_DATABASE_URL=postgresql://cx:secret@db/cxpulse cxpulse serve --host 0.0.0.0 "
        "--port 8080"
    )
)
def serve(
    host: HostArg = "127.0.0.1",
    port: PortArg = 8000,
    reload: Annotated[
        bool, typer.Option("--reload", help="Restart when the code changes (for development).")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Server processes sharing the port. Default: 1.",
            show_default=False,
        ),
    ] = None,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log every request on standard output (off behind a proxy that logs them).",
        ),
    ] = True,
    database: DatabaseArg = None,
) -> None:
    """Run the web app and REST API (uvicorn); the schema is migrated on start.

    The API is under /api/v1, its documentation at /docs.
    """
    if reload and workers is not None and workers > 1:
        fail("--reload runs one server process: leave out --workers", code=2)
    settings = _settings(database)
    _check_port_free(host, port)
    # The app migrates on start too; doing it first turns a database problem into one line.
    with _store(settings):
        pass
    _run_server(
        settings,
        host,
        port,
        reload,
        workers=default_workers() if workers is None else workers,
        access_log=access_log,
    )


# demo


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse demo\n\n"
        "cxpulse demo --no-serve --database sqlite:///demo.db\n\n"
        "cxpulse demo --months 24 --port 8080"
    )
)
def demo(
    port: PortArg = 8000,
    host: HostArg = "127.0.0.1",
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Create the demo data, then stop.")
    ] = False,
    months: Annotated[
        int, typer.Option("--months", min=1, max=60, help="Months of responses to generate.")
    ] = 12,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the generated data.")] = 7,
    database: DatabaseArg = None,
) -> None:
    """Create the "Demo Shop" with a year of responses, then serve it.

    Three surveys (CSAT after a support ticket, relationship NPS, CES after a return), 1,500
    contacts and thousands of responses with segments and comments in English, Swedish, Dutch
    and Macedonian. Running it again reuses the demo shop: nothing is duplicated. The admin
    login is demo-admin@example.com with the password cxpulse-demo.
    """
    from cxpulse.demo.seed import seed_demo

    settings = _settings(database)
    if not no_serve:
        _check_port_free(host, port)
    started = time.perf_counter()
    with _store(settings) as sessions, sessions.begin() as session:
        summary = seed_demo(session, months=months, seed=seed)
    elapsed = time.perf_counter() - started

    out = console()
    state = "created" if summary.organisation_created else "already there, reused"
    out.print(
        f"[bold]{summary.organisation_name}[/] ({summary.organisation_slug}, {state}) "
        f"in {_shown(settings.database_url)}",
        markup=True,
        soft_wrap=True,
    )
    for survey in summary.surveys:
        out.print(
            f"  {survey.slug:<18} {survey.metric.upper():<5} {survey.responses:>7,} responses",
            soft_wrap=True,
        )
    if summary.responses_added:
        out.print(
            f"  generated {summary.responses_added:,} responses and "
            f"{summary.contacts_added:,} contacts in {elapsed:.1f} s",
            soft_wrap=True,
        )
    if summary.admin_password is not None:
        login = f"{summary.admin_email}  password: {summary.admin_password}"
    else:
        login = f"{summary.admin_email}  (its password was changed since the demo was created)"
    out.print(f"[bold]Log in:[/] {login}", markup=True, soft_wrap=True)
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    out.print(f"[bold]Dashboard:[/] {base}/login", markup=True, soft_wrap=True)
    for survey in summary.surveys:
        out.print(
            f"[bold]Survey page:[/] {base}/s/{summary.organisation_slug}/{survey.slug}",
            markup=True,
            soft_wrap=True,
        )
    out.print(f"[bold]API documentation:[/] {base}/docs", markup=True, soft_wrap=True)
    if no_serve:
        out.print(
            "Serve it with: cxpulse serve"
            + ("" if database is None else f" --database {_shown(settings.database_url)}"),
            soft_wrap=True,
        )
        return
    if not _is_loopback(host):
        console(stderr=True).print(
            f"[yellow]warning:[/] listening on {host}: anyone who can reach it can log in with "
            "the published demo password",
            markup=True,
            soft_wrap=True,
        )
    _run_server(settings, host, port, reload=False)


# create-user


def _read_password(password: str | None) -> str:
    if password == "-":  # noqa: S105 (the "read standard input" marker)
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            fail("--password -: standard input held no password")
        return line
    if password is not None:
        fail(
            "--password only takes '-' (read it from standard input), so that it stays out of "
            "your shell history; leave it out to be asked",
            code=2,
        )
    if not sys.stdin.isatty():
        fail("no terminal to ask for the password on: pass --password - and pipe it in", code=2)
    entered: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return entered


@app.command(
    name="create-user",
    epilog=(
        "Examples:\n\n"
        "cxpulse create-user --org acme --create-org 'Acme Ltd' --email ana@acme.example "
        "--role owner\n\n"
        'echo "$PASSWORD" | cxpulse create-user --org acme --email bo@acme.example '
        "--role analyst --password -"
    ),
)
def create_user(
    org: OrgArg,
    email: Annotated[
        str, typer.Option("--email", help="Login email address (unique).", show_default=False)
    ],
    role: Annotated[
        RoleOption,
        typer.Option(
            "--role",
            help="owner, admin, analyst, agent or viewer.",
            case_sensitive=False,
            show_default=False,
        ),
    ],
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            metavar="-",
            help="'-' reads the password from standard input; without it you are asked twice.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    create_org: Annotated[
        str | None,
        typer.Option(
            "--create-org",
            metavar="NAME",
            help="Create the organisation SLUG with this name if it does not exist.",
            show_default=False,
        ),
    ] = None,
    database: DatabaseArg = None,
) -> None:
    """Create a user who logs in with an email address and a password (8 characters or more)."""
    from cxpulse.store import accounts, audit
    from cxpulse.store.errors import NotFound

    settings = _settings(database)
    secret = _read_password(password)
    with _store(settings) as sessions, sessions.begin() as session:
        created_org = False
        try:
            organisation = accounts.get_organisation_by_slug(session, org)
        except NotFound:
            if create_org is None:
                fail(f"no organisation {org!r}; add --create-org NAME to create it")
            organisation = accounts.create_organisation(session, slug=org, name=create_org)
            audit.record(
                session,
                organisation.id,
                actor=audit.SYSTEM,
                action="create",
                entity="organisation",
                entity_id=organisation.id,
                details={"via": "cli"},
            )
            created_org = True
        user = accounts.create_user(
            session, organisation.id, email=email, password=secret, role=role.value, name=name
        )
        audit.record(
            session,
            organisation.id,
            actor=audit.SYSTEM,
            action="create",
            entity="user",
            entity_id=user.id,
            details={"role": user.role, "via": "cli"},
        )
        user_id, user_email, org_slug, org_name = (
            user.id,
            user.email,
            organisation.slug,
            organisation.name,
        )
    out = console()
    if created_org:
        out.print(f"created organisation {org_slug} ({org_name})", soft_wrap=True)
    out.print(f"created user {user_id}: {user_email}, {role.value} of {org_slug}", soft_wrap=True)


# api-key


def _key_row(key: ApiKey, organisation_slug: str) -> dict[str, Any]:
    from cxpulse.store.security import API_KEY_TAG

    return {
        "id": key.id,
        "organisation": organisation_slug,
        "name": key.name,
        "prefix": f"{API_KEY_TAG}_{key.prefix}",
        "scope": key.scope,
        "created_at": key.created_at.isoformat(timespec="seconds"),
        "last_used_at": key.last_used_at.isoformat(timespec="seconds")
        if key.last_used_at
        else None,
        "revoked_at": key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else None,
    }


@api_key_app.command(
    name="create",
    epilog=(
        "Examples:\n\n"
        "cxpulse api-key create --org acme --name 'Zendesk sync' --scope write\n\n"
        "KEY=$(cxpulse api-key create --org acme --name dashboards --scope read)"
    ),
)
def api_key_create(
    org: OrgArg,
    name: Annotated[
        str,
        typer.Option("--name", help="What the key is for, to tell keys apart.", show_default=False),
    ],
    scope: Annotated[
        ScopeOption,
        typer.Option(
            "--scope",
            help="read: surveys, responses, metrics, exports; write: also submit and change.",
            case_sensitive=False,
            show_default=False,
        ),
    ],
    database: DatabaseArg = None,
) -> None:
    """Create an API key and print it, once: only its hash is stored.

    The key goes to standard output alone, the notes to standard error, so that scripts can
    capture it. Send it as `Authorization: Bearer <key>`.
    """
    from cxpulse.store import accounts, audit

    settings = _settings(database)
    with _store(settings) as sessions, sessions.begin() as session:
        organisation = _organisation(session, org)
        key, plaintext = accounts.create_api_key(
            session, organisation.id, name=name, scope=scope.value
        )
        audit.record(
            session,
            organisation.id,
            actor=audit.SYSTEM,
            action="create",
            entity="api_key",
            entity_id=key.id,
            details={"scope": key.scope, "via": "cli"},
        )
        key_id, key_name, org_slug = key.id, key.name, organisation.slug
    notes = console(stderr=True)
    notes.print(
        f"created API key {key_id} {key_name!r} ({scope.value}) for {org_slug}",
        soft_wrap=True,
    )
    sys.stdout.write(plaintext + "\n")
    sys.stdout.flush()
    notes.print(
        "[bold yellow]warning:[/] copy the key now: it is shown only this once and cannot be "
        "recovered (revoke it and create another if it is lost)",
        markup=True,
        soft_wrap=True,
    )


@api_key_app.command(
    name="list",
    epilog="Examples:\n\ncxpulse api-key list\n\ncxpulse api-key list --org acme --format json",
)
def api_key_list(
    org: Annotated[
        str | None,
        typer.Option(
            "--org", metavar="SLUG", help="Only this organisation's keys.", show_default=False
        ),
    ] = None,
    output: Annotated[
        ListFormat | None,
        typer.Option("--format", "-f", help="table (default on a terminal) or json."),
    ] = None,
    database: DatabaseArg = None,
) -> None:
    """List API keys: id, name, prefix, scope, when created and last used, and if revoked.

    Keys themselves cannot be shown: only their hashes are stored.
    """
    from sqlalchemy import select

    from cxpulse.store import accounts
    from cxpulse.store.models import Organisation

    settings = _settings(database)
    rows: list[dict[str, Any]] = []
    with _store(settings) as sessions, sessions() as session:
        if org is not None:
            organisations = [_organisation(session, org)]
        else:
            organisations = list(session.scalars(select(Organisation).order_by(Organisation.id)))
        for organisation in organisations:
            rows.extend(
                _key_row(key, organisation.slug)
                for key in accounts.list_api_keys(session, organisation.id)
            )
    if output is ListFormat.JSON or (output is None and not sys.stdout.isatty()):
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    out = console()
    if not rows:
        out.print("no API keys" + (f" in {org}" if org else ""))
        return
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    table.add_column("id", justify="right", no_wrap=True)
    if org is None:
        table.add_column("organisation", overflow="fold")
    table.add_column("name", overflow="fold")
    for column in ("key", "scope", "created", "last used", "status"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        cells = [str(row["id"])]
        if org is None:
            cells.append(row["organisation"])
        cells += [
            row["name"],
            row["prefix"],
            row["scope"],
            row["created_at"][:10],
            row["last_used_at"][:10] if row["last_used_at"] else "never",
            "revoked" if row["revoked_at"] else "active",
        ]
        table.add_row(*cells)
    out.print(table)


@api_key_app.command(
    name="revoke",
    epilog="Examples:\n\ncxpulse api-key revoke 3\n\ncxpulse api-key revoke 3 --org acme",
)
def api_key_revoke(
    key_id: Annotated[
        int, typer.Argument(metavar="ID", help="The key's id, from `cxpulse api-key list`.")
    ],
    org: Annotated[
        str | None,
        typer.Option(
            "--org",
            metavar="SLUG",
            help="Refuse unless the key belongs to this organisation.",
            show_default=False,
        ),
    ] = None,
    database: DatabaseArg = None,
) -> None:
    """Revoke an API key: requests with it are refused from now on. It cannot be undone."""
    from cxpulse.store import accounts, audit
    from cxpulse.store.models import ApiKey

    settings = _settings(database)
    with _store(settings) as sessions, sessions.begin() as session:
        found = session.get(ApiKey, key_id)
        if org is not None:
            organisation = _organisation(session, org)
            if found is not None and found.organisation_id != organisation.id:
                found = None
        if found is None:
            fail(f"no API key {key_id}" + (f" in {org}" if org else ""))
        already = found.revoked_at
        key = accounts.revoke_api_key(session, found.organisation_id, key_id)
        if already is None:
            audit.record(
                session,
                key.organisation_id,
                actor=audit.SYSTEM,
                action="revoke",
                entity="api_key",
                entity_id=key.id,
                details={"via": "cli"},
            )
        name = key.name
    if already is not None:
        console().print(
            f"API key {key_id} {name!r} was already revoked on "
            f"{already.isoformat(timespec='seconds')}",
            soft_wrap=True,
        )
    else:
        console().print(f"revoked API key {key_id} {name!r}", soft_wrap=True)
