"""Commands that run the service: ``cxpulse migrate``, ``cxpulse serve`` and ``cxpulse demo``.

Each works on ``CXPULSE_DATABASE_URL`` (default: ``cxpulse.db`` in the working directory), or
on ``--database URL``, and brings the schema up to date first.
"""

from __future__ import annotations

import errno
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypedDict

import typer

from cxpulse.cli.console import console, fail
from cxpulse.cli.database import engine_for, one_line_errors, open_store, settings_for, shown
from cxpulse.cli.options import DatabaseOption, HostOption, PortOption
from cxpulse.cli.root import app

if TYPE_CHECKING:
    from cxpulse.config import Settings


def _browser_url(host: str, port: int, path: str = "") -> str:
    if host in ("127.0.0.1", "localhost", "0.0.0.0", "::", ""):  # noqa: S104 (only a label)
        # Browsers keep Secure cookies on http://localhost, and it reaches 0.0.0.0 too.
        label = "localhost"
    elif ":" in host:
        label = f"[{host}]"
    else:
        label = host
    return f"http://{label}:{port}{path}"


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


class ProxyOptions(TypedDict):
    proxy_headers: bool
    forwarded_allow_ips: list[str]


def proxy_options(settings: Settings) -> ProxyOptions:
    """Uvicorn's proxy options from ``CXPULSE_TRUSTED_PROXIES``.

    Uvicorn's own default believes ``X-Forwarded-For`` from 127.0.0.1, which lets any client
    reaching the app through something on the same machine (or the machine itself) pick the
    address that the login and answer limits count it by. So the headers are read only when
    proxies are listed, and only from those addresses."""
    trusted = list(settings.trusted_proxies)
    if not trusted:
        return ProxyOptions(proxy_headers=False, forwarded_allow_ips=[])
    return ProxyOptions(proxy_headers=True, forwarded_allow_ips=trusted)


def default_workers() -> int:
    """Server processes ``cxpulse serve`` starts unless told: one."""
    return 1


def refuse_sqlite_workers(settings: Settings, workers: int) -> None:
    """Stop (code 2) when several server processes are asked for on SQLite.

    SQLite's one writer at a time is queued inside one process (``web.state.database_turn``),
    and answers are committed in groups by that process; several processes would fight over
    the file's lock instead, and each would count the rate limits on its own. PostgreSQL
    shares all of that between processes (docs/deployment.md, "Several processes")."""
    from cxpulse.store.db import is_sqlite

    if is_sqlite(settings.database_url):
        fail(
            f"--workers {workers} needs PostgreSQL: SQLite is served by one process. Set "
            "CXPULSE_DATABASE_URL=postgresql://user:password@host/database (or --database), "
            "or leave out --workers",
            code=2,
        )


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
        f"cxpulse is serving {shown(settings.database_url)} on "
        f"[bold]{_browser_url(host, port)}[/]  (API docs: {_browser_url(host, port, '/docs')})"
        "  Ctrl+C stops it.",
        markup=True,
        soft_wrap=True,
    )
    sys.stdout.flush()
    if reload or workers > 1:
        # Child processes build their own app from the environment: point it at the same
        # database (and so the same secret key file).
        import cxpulse
        from cxpulse.config import pass_to_child_processes

        pass_to_child_processes(settings)

        uvicorn.run(
            "cxpulse.web:create_app",
            factory=True,
            host=host,
            port=port,
            reload=reload,
            reload_dirs=[str(Path(cxpulse.__file__).parent)] if reload else None,
            workers=None if reload else workers,
            access_log=access_log,
            **proxy_options(settings),
        )
        return
    from cxpulse.web import create_app

    with one_line_errors(settings):
        web_app = create_app(settings=settings)
    uvicorn.run(
        web_app,
        host=host,
        port=port,
        access_log=access_log,
        **proxy_options(settings),
    )


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse migrate\n\n"
        "CXPULSE_DATABASE_URL=postgresql://cx:secret@db/cxpulse cxpulse migrate"
    )
)
def migrate(database: DatabaseOption = None) -> None:
    """Bring the database schema up to date; safe to run at any time, and from several places.

    `cxpulse serve` also does this when it starts.
    """
    from cxpulse.store import db

    settings = settings_for(database)
    engine = engine_for(settings)
    try:
        with one_line_errors(settings):
            before = db.current_revision(engine)
            db.migrate(engine)
            after = db.current_revision(engine)
    finally:
        engine.dispose()
    where = shown(settings.database_url)
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
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    reload: Annotated[
        bool, typer.Option("--reload", help="Restart when the code changes (for development).")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Server processes sharing the port (PostgreSQL only: SQLite is served by "
            "one process). Default: 1.",
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
    database: DatabaseOption = None,
) -> None:
    """Run the web app and REST API (uvicorn); the schema is migrated on start.

    The API is under /api/v1, its documentation at /docs.
    """
    if reload and workers is not None and workers > 1:
        fail("--reload runs one server process: leave out --workers", code=2)
    settings = settings_for(database)
    if workers is not None and workers > 1:
        refuse_sqlite_workers(settings, workers)
    _check_port_free(host, port)
    # The app migrates on start too; doing it first turns a database problem into one line.
    with open_store(settings):
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
    port: PortOption = 8000,
    host: HostOption = "127.0.0.1",
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Create the demo data, then stop.")
    ] = False,
    months: Annotated[
        int, typer.Option("--months", min=1, max=60, help="Months of responses to generate.")
    ] = 12,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the generated data.")] = 7,
    database: DatabaseOption = None,
) -> None:
    """Create the "Demo Shop" with a year of responses, then serve it.

    Three surveys (CSAT after a support ticket, relationship NPS, CES after a return), 1,500
    contacts and thousands of responses with segments and comments in English, Swedish, Dutch
    and Macedonian, and a month of follow-up cases opened by four rules. Running it again
    reuses the demo shop: nothing is duplicated. The admin
    login is demo-admin@example.com with the password cxpulse-demo.
    """
    from cxpulse.demo.seed import seed_demo

    settings = settings_for(database)
    if not no_serve:
        _check_port_free(host, port)
    started = time.perf_counter()
    with open_store(settings) as sessions, sessions.begin() as session:
        summary = seed_demo(session, months=months, seed=seed)
    elapsed = time.perf_counter() - started

    out = console()
    state = "created" if summary.organisation_created else "already there, reused"
    out.print(
        f"[bold]{summary.organisation_name}[/] ({summary.organisation_slug}, {state}) "
        f"in {shown(settings.database_url)}",
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
            + ("" if database is None else f" --database {shown(settings.database_url)}"),
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
