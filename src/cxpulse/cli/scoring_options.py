"""What the scoring commands share: their options, the metric spec, the file read, the format.

``score``, ``compare`` and ``demo-file`` read a file into histograms the same way and take the
same metric options; ``samplesize`` and ``benchmark`` share some of those options. Heavy
libraries (DuckDB, Arrow) are imported inside the functions, so that ``cxpulse --help`` and
small jobs start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxpulse.cli.console import LateProgress, OutputFormat, fail
from cxpulse.engine.periods import Period
from cxpulse.metrics.scales import Metric

if TYPE_CHECKING:
    from cxpulse.engine import FileHistograms, InvalidValues
    from cxpulse.metrics import MetricSpec


class NpsMethodOption(StrEnum):
    ADJUSTED_WALD = "adjusted-wald"
    WALD = "wald"
    BOOTSTRAP = "bootstrap"


MetricArg = Annotated[
    Metric,
    typer.Option("--metric", "-m", help="csat, dsat, nps, ces or mean.", case_sensitive=False),
]
ScoreArg = Annotated[
    str, typer.Option("--score", "-s", metavar="COLUMN", help="Column holding the answer.")
]
ByArg = Annotated[
    list[str] | None,
    typer.Option("--by", "-b", metavar="COLUMN", help="Group by this column (repeat for more)."),
]
DateArg = Annotated[
    str | None,
    typer.Option(
        "--date",
        metavar="COLUMN",
        help="Column holding when the answer was given; groups by --period (default month).",
    ),
]
CompareDateArg = Annotated[
    str | None,
    typer.Option(
        "--date",
        metavar="COLUMN",
        help="Column holding when the answer was given (for --periods; not a filter).",
    ),
]
DateFormatArg = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        metavar="FORMAT",
        help="strftime format of the date column, such as '%d/%m/%Y %H:%M'. Default: detected.",
    ),
]
PeriodArg = Annotated[
    Period | None,
    typer.Option("--period", "-p", help="Group by day, week (ISO), month, quarter or year."),
]
ComparePeriodArg = Annotated[
    Period | None,
    typer.Option(
        "--period",
        "-p",
        help="What --periods names: day, week (ISO), month (default), quarter or year.",
    ),
]
FORMATS_HELP = "table (default on a terminal), json (default otherwise), csv or markdown."


def format_option(more: str | None = None) -> Any:
    """``--format``/``-f``: :data:`FORMATS_HELP`, then what ``more`` says of the command's
    own output (as ``Annotated[OutputFormat | None, format_option(...)]``)."""
    return typer.Option("--format", "-f", help=f"{FORMATS_HELP} {more}" if more else FORMATS_HELP)


FormatArg = Annotated[OutputFormat | None, format_option()]
ScaleArg = Annotated[
    str | None,
    typer.Option(
        "--scale",
        metavar="SCALE",
        help="LOW-HIGH or thumbs (stars and emoji mean 1-5). csat/dsat: 1-5 (default), 1-3, "
        "1-7, 1-10, thumbs, or another scale given both --top-min and --bottom-max; "
        "nps: 0-10 (default), 1-10; ces: 1-7 (default), 1-5; mean: any (default 1-5).",
    ),
]
LevelArg = Annotated[
    float, typer.Option("--level", min=0.5, max=0.999, help="Confidence level of intervals.")
]
MinNArg = Annotated[
    int,
    typer.Option(
        "--min-n", min=1, metavar="N", help="Groups with fewer answers are flagged too small."
    ),
]
TopArg = Annotated[
    float | None,
    typer.Option(
        "--top-min",
        metavar="ANSWER",
        help="Lowest answer counted satisfied / promoter / agree, on the scale "
        "(default per scale).",
    ),
]
BottomArg = Annotated[
    float | None,
    typer.Option(
        "--bottom-max",
        metavar="ANSWER",
        help="Highest answer counted dissatisfied / detractor / disagree, on the scale "
        "(default per scale).",
    ),
]
NpsMethodArg = Annotated[
    NpsMethodOption, typer.Option("--nps-method", help="Interval for NPS.", case_sensitive=False)
]
SkipInvalidArg = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Leave out values that are off the scale or not numbers, and report them.",
    ),
]
FileArg = Annotated[
    Path,
    typer.Argument(
        help="CSV, TSV, XLSX, Parquet or JSON Lines file.",
        show_default=False,
    ),
]

OptionalFileArg = Annotated[
    Path | None,
    typer.Argument(
        help="CSV, TSV, XLSX, Parquet or JSON Lines file (or --engine ENGINE --table NAME).",
        show_default=False,
    ),
]


def metric_spec(
    metric: Metric,
    scale: str | None,
    level: float,
    min_n: int,
    top_min: float | None,
    bottom_max: float | None,
    nps_method: NpsMethodOption = NpsMethodOption.ADJUSTED_WALD,
) -> MetricSpec:
    """The metric options checked together (exit code 2 when they clash)."""
    from cxpulse.metrics import MetricSpec, parse_scale
    from cxpulse.metrics.scales import check_scoring

    try:
        parsed_scale = parse_scale(scale) if scale else None
        spec = MetricSpec.default(
            metric,
            parsed_scale,
            top_min=top_min,
            bottom_max=bottom_max,
            level=level,
            min_n=min_n,
            nps_method=nps_method.value,
        )
        own_bands = top_min is not None and bottom_max is not None
        check_scoring(spec.metric, spec.scale, spec.thresholds, own_bands=own_bands)
    except ValueError as error:
        fail(_option_names(str(error)), code=2)
    return spec


def _option_names(message: str) -> str:
    # The metrics speak of survey fields; here the user typed options.
    return message.replace("top_min", "--top-min").replace("bottom_max", "--bottom-max")


def read_histograms(
    file: Path,
    spec: MetricSpec,
    score_column: str,
    by: list[str],
    date: str | None,
    date_format: str | None,
    period: Period | None,
    skip_invalid: bool,
) -> FileHistograms:
    """Histograms per ``by`` columns, and per ``period`` of ``date`` when a period is given."""
    from cxpulse.engine import histograms_from_file

    with reading(file, spec) as progress:
        return histograms_from_file(
            file,
            score=score_column,
            scale=spec.scale,
            by=by,
            date=date,
            date_format=date_format,
            period=period,
            skip_invalid=skip_invalid,
            progress=progress,
        )


@contextmanager
def reading(file: Path, spec: MetricSpec | None) -> Iterator[LateProgress]:
    """The progress bar of reading ``file``; a file that cannot be read, or a value off the
    scale of ``spec`` without --skip-invalid, ends the command with one line on stderr."""
    from cxpulse.engine import FileInputError, InvalidScoresError

    progress = LateProgress(f"Reading {file.name}")
    try:
        yield progress
    except InvalidScoresError as error:
        assert spec is not None, "only a scored read finds invalid scores"
        fail(
            f"{error.invalid.describe()} for the {spec.scale.name} scale. "
            "Fix them, choose another --scale, or pass --skip-invalid to leave them out."
        )
    except FileInputError as error:
        fail(str(error))
    finally:
        progress.close()


def skipped_counts(blank: int, invalid: InvalidValues | None) -> dict[str, Any]:
    """What a command did not score: blank answers, and invalid ones left out by
    --skip-invalid (their values and line numbers), as every command reports it."""
    skipped: dict[str, Any] = {"blank": blank, "invalid": 0}
    if invalid is not None:
        skipped["invalid"] = invalid.count
        skipped["invalid_values"] = invalid.values
        skipped["invalid_lines"] = invalid.lines
    return skipped


def skipped_answers(found: FileHistograms) -> dict[str, Any]:
    """What ``score`` and ``compare`` did not score (:func:`skipped_counts`)."""
    return skipped_counts(found.blank, found.invalid)


def check_period_has_date(period: Period | None, date: str | None) -> None:
    if period is not None and date is None:
        fail("--period needs --date COLUMN (the column that holds each answer's date)", code=2)


def chosen_format(output: OutputFormat | None) -> OutputFormat:
    """The format asked for; else a table for a person at a terminal, JSON for a program."""
    if output is not None:
        return output
    return OutputFormat.TABLE if sys.stdout.isatty() else OutputFormat.JSON
