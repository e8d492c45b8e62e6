"""``cxpulse benchmark``: published ACSI industry scores to hold a company's own against."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cxpulse.cli.console import OutputFormat, console, fail
from cxpulse.cli.root import app
from cxpulse.cli.scoring_options import FORMATS_HELP, chosen_format


@app.command(epilog="Examples:\n\ncxpulse benchmark\n\ncxpulse benchmark --industry banks")
def benchmark(
    industry: Annotated[
        str | None, typer.Option("--industry", "-i", help="Part of an industry name.")
    ] = None,
    output: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            "-f",
            help=f"{FORMATS_HELP} csv holds the table only: the caveat on reading ACSI scores goes "
            "to stderr.",
        ),
    ] = None,
) -> None:
    """American Customer Satisfaction Index (ACSI) scores per industry, with source and year."""
    from cxpulse.metrics.benchmarks import ACSI_CAVEAT, find_industry, load_acsi, rating
    from cxpulse.report.score_table import table_to_csv, table_to_markdown, to_json

    try:
        scores = find_industry(industry) if industry else load_acsi()
    except LookupError as error:
        fail(str(error.args[0]) if error.args else str(error))
    output = chosen_format(output)
    header = ["industry", "score", "year", "reading", "source"]
    if output is OutputFormat.CSV:
        records = [[s.industry, s.score, s.year, rating(s.score), s.source] for s in scores]
        sys.stdout.write(table_to_csv(header, records))
        sys.stderr.write(ACSI_CAVEAT + "\n")
        return
    if output is OutputFormat.MARKDOWN:
        cells = [
            [s.industry, f"{s.score:g}", str(s.year), rating(s.score), s.source] for s in scores
        ]
        sys.stdout.write(table_to_markdown(header, cells) + "\n" + ACSI_CAVEAT + "\n")
        return
    if output is OutputFormat.JSON:
        data = {
            "caveat": ACSI_CAVEAT,
            "scores": [
                {
                    "industry": s.industry,
                    "score": s.score,
                    "year": s.year,
                    "source": s.source,
                    "rating": rating(s.score),
                }
                for s in scores
            ],
        }
        sys.stdout.write(to_json(data) + "\n")
        return
    from rich.table import Table

    table = Table(title="ACSI industry scores (0-100)", title_justify="left")
    for column in header:
        table.add_column(column, justify="right" if column in ("score", "year") else "left")
    for s in scores:
        table.add_row(s.industry, f"{s.score:g}", str(s.year), rating(s.score), s.source)
    out = console()
    out.print(table)
    out.print(ACSI_CAVEAT, style="dim")
