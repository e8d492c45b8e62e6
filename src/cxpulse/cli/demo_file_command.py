"""``cxpulse demo-file``: a generated sample export, scored and compared as a user would."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cxpulse.cli.compare_command import compare
from cxpulse.cli.console import OutputFormat, console
from cxpulse.cli.root import app
from cxpulse.cli.score_command import score
from cxpulse.engine.periods import Period
from cxpulse.metrics.scales import Metric


@app.command(name="demo-file", epilog="Example:\n\ncxpulse demo-file")
def demo(
    rows: Annotated[int, typer.Option("--rows", min=100, help="Answers to generate.")] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 7,
    keep: Annotated[
        Path | None,
        typer.Option("--keep", metavar="PATH", help="Also write the sample CSV to this path."),
    ] = None,
) -> None:
    """Generate a realistic sample export and score it: NPS by month, CSAT by channel."""
    import tempfile

    from cxpulse.demo.sample_file import write_demo_csv

    with tempfile.TemporaryDirectory(prefix="cxpulse-demo-") as folder:
        path = Path(keep) if keep else Path(folder) / "cxpulse-demo.csv"
        write_demo_csv(path, rows=rows, seed=seed)
        out = console()
        # Without --keep the file lives only while this command runs: naming its path would
        # send the user to a file that no longer exists.
        where = f": {path}" if keep else f" ({path.name}, removed at the end; --keep PATH saves it)"
        out.print(f"Sample export with {rows} answers{where}\n")
        out.print(
            f"$ cxpulse score {path.name} --metric nps --score nps --date answered_at "
            "--date-format '%d/%m/%Y %H:%M' --period quarter --format table"
        )
        score(
            path,
            metric=Metric.NPS,
            score_column="nps",
            by=None,
            date="answered_at",
            date_format="%d/%m/%Y %H:%M",
            period=Period.QUARTER,
            output=OutputFormat.TABLE,
        )
        out.print(f"\n$ cxpulse score {path.name} --metric csat --score csat --by channel")
        score(
            path, metric=Metric.CSAT, score_column="csat", by=["channel"], output=OutputFormat.TABLE
        )
        out.print(
            f"\n$ cxpulse compare {path.name} --metric csat --score csat "
            "--between channel=email,chat"
        )
        compare(
            path,
            metric=Metric.CSAT,
            score_column="csat",
            between="channel=email,chat",
            output=OutputFormat.TABLE,
        )
