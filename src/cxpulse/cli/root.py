"""The Typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="cxpulse",
    help="Customer-satisfaction scores (CSAT, NPS, CES, DSAT) with confidence intervals.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)


@app.callback()
def _commands() -> None:
    # A callback keeps the app a group of commands even when ``cxpulse.cli.main`` has
    # registered only the one being run: without it Typer would run that command directly.
    pass
