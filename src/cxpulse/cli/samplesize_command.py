"""``cxpulse samplesize``: how many answers a wanted margin of error needs."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Annotated

import typer

from cxpulse.cli.console import OutputFormat, console, fail
from cxpulse.cli.root import app
from cxpulse.cli.scoring_options import FormatArg, LevelArg, MetricArg, chosen_format
from cxpulse.metrics.scales import Metric


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse samplesize --metric nps --margin 5\n\n"
        "cxpulse samplesize --metric csat --margin 3 --expected 85"
    )
)
def samplesize(
    metric: MetricArg = Metric.NPS,
    margin: Annotated[
        float,
        typer.Option(
            "--margin",
            help="Wanted margin of error: points for CSAT/DSAT/NPS, scale units for CES/mean.",
        ),
    ] = 5.0,
    level: LevelArg = 0.95,
    expected: Annotated[
        float | None,
        typer.Option("--expected", help="Expected CSAT/DSAT/% agree in points (default 50)."),
    ] = None,
    promoters: Annotated[
        float | None, typer.Option("--promoters", help="Expected % promoters for NPS.")
    ] = None,
    detractors: Annotated[
        float | None, typer.Option("--detractors", help="Expected % detractors for NPS.")
    ] = None,
    sd: Annotated[
        float | None, typer.Option("--sd", help="Expected standard deviation for CES/mean.")
    ] = None,
    scale: Annotated[
        str | None,
        typer.Option(
            "--scale",
            help="Answer scale (such as 1-7): sets the worst-case spread of CES and mean "
            "answers when --sd is not given (default ces 1-7, mean 1-5); nps takes 0-10 or 1-10.",
        ),
    ] = None,
    output: FormatArg = None,
) -> None:
    """How many answers you need for a wanted margin of error. Worst case unless told."""
    from cxpulse.metrics import parse_scale
    from cxpulse.metrics.samplesize import required_sample_size
    from cxpulse.report.score_table import table_to_csv, table_to_markdown, to_json

    try:
        plan = required_sample_size(
            metric,
            margin,
            level=level,
            expected=None if expected is None else expected / 100,
            promoters=None if promoters is None else promoters / 100,
            detractors=None if detractors is None else detractors / 100,
            sd=sd,
            scale=parse_scale(scale) if scale else None,
        )
    except ValueError as error:
        fail(str(error), code=2)
    output = chosen_format(output)
    if output is OutputFormat.JSON:
        sys.stdout.write(to_json(plan.to_dict()) + "\n")
        return
    record = {
        "metric": plan.metric.value,
        "margin": plan.margin,
        "level": plan.level,
        "n": plan.n,
        **{f"assumed_{name}": value for name, value in plan.assumptions.items()},
        "method": plan.method,
    }
    if output is OutputFormat.CSV:
        sys.stdout.write(table_to_csv(list(record), [list(record.values())]))
        return
    if output is OutputFormat.MARKDOWN:
        cells = [value if isinstance(value, str) else f"{value:g}" for value in record.values()]
        sys.stdout.write(table_to_markdown(list(record), [cells]))
        return
    unit = "" if metric in (Metric.CES, Metric.MEAN) else " points"
    console().print(
        f"{plan.n} answers give {metric.value.upper()} a margin of ±{margin:g}{unit} "
        f"at {level:.0%} confidence, assuming "
        f"{_assumptions_in_words(plan.assumptions, metric.value.upper())} "
        f"({plan.method})."
    )


# The plan's assumptions are keyed for programs (JSON, CSV headers); prose names them.
_ASSUMPTION_WORDS = {
    "promoters_pct": "{:g}% promoters",
    "detractors_pct": "{:g}% detractors",
    "expected_pct": "an expected {metric} of {:g}%",
    "sd": "a standard deviation of {:g}",
}


def _assumptions_in_words(assumptions: Mapping[str, float], metric: str) -> str:
    parts = [
        _ASSUMPTION_WORDS.get(name, name.replace("_", " ") + " {:g}").format(value, metric=metric)
        for name, value in assumptions.items()
    ]
    return " and ".join(parts)
