"""``cxpulse export-parquet``: an organisation's answers as Parquet files partitioned by day
(``store.parquet_export``), for a data lake; run it daily (cron, or the worker's task)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cxpulse.cli.console import console, fail
from cxpulse.cli.database import open_store, organisation_named, settings_for
from cxpulse.cli.options import DatabaseOption, OrgOption
from cxpulse.cli.root import app


@app.command(
    "export-parquet",
    epilog=(
        "Examples:\n\n"
        "cxpulse export-parquet /srv/lake/cxpulse --org acme\n\n"
        "cxpulse export-parquet lake/ --org acme --since 2026-01-01\n\n"
        "duckdb -c \"SELECT day, count(*) FROM read_parquet('lake/**/*.parquet', "
        'hive_partitioning = true) GROUP BY day"'
    ),
)
def export_parquet(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="The lake folder.", show_default=False)
    ],
    org: OrgOption = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="YYYY-MM-DD",
            help="Rewrite every day from this one. Default: the days not yet written, and today.",
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Write the answers under DIR/organisation=SLUG/day=YYYY-MM-DD/part-0.parquet.

    Incremental: days that are over and already written are skipped; today's is rewritten.
    """
    from cxpulse.store.parquet_export import export_responses_parquet

    start: date | None = None
    if since is not None:
        try:
            start = date.fromisoformat(since.strip())
        except ValueError:
            fail(f"--since needs a date such as 2026-01-31, not {since!r}", code=2)
    settings = settings_for(database)
    began = time.monotonic()
    out = console()
    with open_store(settings) as sessions, sessions() as session:
        organisation = organisation_named(session, org)
        try:
            done = export_responses_parquet(
                session,
                organisation.id,
                organisation.slug,
                folder.expanduser().resolve(),
                since=start,
                progress=lambda day, n: console(stderr=True).print(
                    f"{day.isoformat()}: {n} answers", highlight=False
                ),
            )
        except OSError as error:
            fail(f"cannot write under {folder}: {error.strerror or error}")
    total = sum(done.written.values())
    out.print(
        f"wrote {len(done.written)} days ({total} answers) of {organisation.slug} to {folder}; "
        f"{done.skipped} closed days already there, in {time.monotonic() - began:.1f} s",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
