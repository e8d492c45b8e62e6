"""``cxpulse rates``: response and comment rates of a survey's invitations."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from cxpulse.cli.console import console
from cxpulse.cli.database import open_store, settings_for, survey_named
from cxpulse.cli.options import DatabaseOption, OrgOption, SurveyOption
from cxpulse.cli.root import app
from cxpulse.engine.periods import Period


class RatesFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse rates --survey support-csat\n\n"
        "cxpulse rates --survey nps --period week --format json"
    ),
)
def rates(
    survey: SurveyOption,
    period: Annotated[Period, typer.Option("--period", help="Group invitations by.")] = (
        Period.MONTH
    ),
    output: Annotated[RatesFormat, typer.Option("--format", help="Output format.")] = (
        RatesFormat.TABLE
    ),
    org: OrgOption = None,
    database: DatabaseOption = None,
) -> None:
    """Response and comment rates of a survey's invitations, with 95% intervals."""
    from cxpulse.collect.rates import response_rates

    settings = settings_for(database)
    with open_store(settings) as sessions, sessions() as session:
        target = survey_named(session, survey, org)
        rows = response_rates(session, target.organisation_id, target.id, period=period.value)
    if output is RatesFormat.JSON:
        typer.echo(json.dumps([r.to_document() for r in rows], ensure_ascii=False))
        return

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    header = [
        "period",
        "channel",
        "invited",
        "sent",
        "failed",
        "throttled",
        "opened",
        "answered",
        "response rate",
        "95% interval",
        "comment rate",
    ]
    table = [
        [
            r.period,
            r.channel,
            f"{r.invited:,}",
            f"{r.sent:,}",
            f"{r.failed:,}",
            f"{r.throttled:,}",
            f"{r.opened:,}",
            f"{r.answered:,}",
            pct(r.response_rate.value),
            f"{pct(r.response_rate.low)}-{pct(r.response_rate.high)}"
            if r.response_rate.value is not None
            else "-",
            pct(r.comment_rate.value),
        ]
        for r in rows
    ]
    if not table:
        console().print(f"{target.slug} has no invitations yet", soft_wrap=True)
        return
    if output is RatesFormat.MARKDOWN:
        typer.echo("| " + " | ".join(header) + " |")
        typer.echo("|" + "---|" * len(header))
        for line in table:
            typer.echo("| " + " | ".join(line) + " |")
        return
    from rich.table import Table

    shown = Table(title=f"Response rates of {target.slug}")
    for name in header:
        shown.add_column(name, justify="left" if name in ("period", "channel") else "right")
    for line in table:
        shown.add_row(*line)
    console().print(shown)
