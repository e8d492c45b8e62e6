"""``cxpulse compare``: is the difference between two groups or two periods of a file real?"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxpulse.cli.console import OutputFormat, console, fail
from cxpulse.cli.root import app
from cxpulse.cli.scoring_options import (
    BottomArg,
    CompareDateArg,
    ComparePeriodArg,
    DateFormatArg,
    FileArg,
    FormatArg,
    LevelArg,
    MetricArg,
    MinNArg,
    ScaleArg,
    ScoreArg,
    SkipInvalidArg,
    TopArg,
    chosen_format,
    metric_spec,
    read_histograms,
    skipped_answers,
)
from cxpulse.engine.periods import Period
from cxpulse.metrics.scales import Metric

if TYPE_CHECKING:
    from cxpulse.engine import FileHistograms
    from cxpulse.metrics import Histogram
    from cxpulse.metrics.compare import Comparison


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse compare answers.csv -m csat -s rating --between channel=email,chat\n\n"
        "cxpulse compare answers.csv -m nps -s score --date created --period month "
        "--periods 2026-09,2026-10"
    )
)
def compare(
    file: FileArg,
    metric: MetricArg = Metric.CSAT,
    score_column: ScoreArg = "score",
    between: Annotated[
        str | None,
        typer.Option(
            "--between",
            metavar="COLUMN=A,B",
            help="COLUMN=A,B: compare the answers where COLUMN is A with B.",
        ),
    ] = None,
    periods: Annotated[
        str | None,
        typer.Option(
            "--periods",
            metavar="A,B",
            help="A,B: compare two periods, such as 2026-09,2026-10 (needs --date).",
        ),
    ] = None,
    date: CompareDateArg = None,
    date_format: DateFormatArg = None,
    period: ComparePeriodArg = None,
    scale: ScaleArg = None,
    level: LevelArg = 0.95,
    min_n: MinNArg = 30,
    top_min: TopArg = None,
    bottom_max: BottomArg = None,
    skip_invalid: SkipInvalidArg = False,
    output: FormatArg = None,
    digits: Annotated[
        int, typer.Option("--digits", min=0, max=10, metavar="N", help="Decimals shown.")
    ] = 1,
) -> None:
    """Is the difference between two groups or two periods real? Difference, interval, p-value.

    CSAT and DSAT use Newcombe's interval, NPS an adjusted-Wald difference (MOVER for small
    or extreme groups), CES and mean Welch's t-test; a change is significant when its
    interval excludes 0. B minus A is reported, so a positive difference means B scores higher.
    --between compares all answers of the file, whatever their dates.
    """
    from cxpulse.metrics.compare import compare as compare_histograms
    from cxpulse.report.score_table import (
        comparison_to_csv,
        comparison_to_markdown,
        skipped_text,
        to_json,
    )

    if (between is None) == (periods is None):
        fail("give either --between COLUMN=A,B or --periods A,B", code=2)
    spec = metric_spec(metric, scale, level, min_n, top_min, bottom_max)
    if between is not None:
        if period is not None:
            fail("--period goes with --periods; --between compares the whole file", code=2)
        column, names = _between_option(between)
        # Grouping by period here too would key the groups (value, period): never found.
        found = read_histograms(
            file, spec, score_column, [column], None, date_format, None, skip_invalid
        )
    else:
        assert periods is not None
        names = _periods_option(periods, date)
        period = period or Period.MONTH
        column = period.value
        found = read_histograms(
            file, spec, score_column, [], date, date_format, period, skip_invalid
        )
    a_label, b_label = names
    result = compare_histograms(
        _group(found, column, a_label), _group(found, column, b_label), spec
    )
    skipped = skipped_answers(found)
    output = chosen_format(output)
    if output is OutputFormat.JSON:
        data = result.to_dict()
        data["a_label"], data["b_label"] = a_label, b_label
        data["column"] = column
        data["skipped"] = skipped
        sys.stdout.write(to_json(data) + "\n")
    elif output is OutputFormat.CSV:
        sys.stdout.write(comparison_to_csv(result, column, a_label, b_label))
        # As `score` does: the sheet keeps one shape, the counts reach the terminal.
        sys.stderr.write(f"skipped: {skipped_text(skipped)}\n")
    elif output is OutputFormat.MARKDOWN:
        sys.stdout.write(comparison_to_markdown(result, column, a_label, b_label, digits, skipped))
    else:
        _print_comparison(result, column, (a_label, b_label), digits, skipped)


def _between_option(text: str) -> tuple[str, tuple[str, str]]:
    column, sep, values = text.partition("=")
    names = [name.strip() for name in values.split(",")]
    if not sep or not column or len(names) != 2:
        fail("--between takes COLUMN=A,B, such as channel=email,chat", code=2)
    return column, (names[0], names[1])


def _periods_option(text: str, date: str | None) -> tuple[str, str]:
    names = [name.strip() for name in text.split(",")]
    if len(names) != 2 or date is None:
        fail("--periods takes A,B, such as 2026-09,2026-10, and needs --date", code=2)
    return names[0], names[1]


def _group(found: FileHistograms, column: str, name: str) -> Histogram:
    histogram = found.groups.get((name,))
    if histogram is None:
        existing = sorted(str(key[0]) for key in found.groups)
        shown = ", ".join(existing[:20]) + (" ..." if len(existing) > 20 else "")
        fail(f"no answers where {column} is {name!r}; values found: {shown}")
    return histogram


def _print_comparison(
    result: Comparison,
    column: str,
    labels: tuple[str, str],
    digits: int,
    skipped: dict[str, Any],
) -> None:
    from cxpulse.metrics.scores import format_value
    from cxpulse.report.score_table import skipped_notes

    out = console()
    for name, side in zip(labels, (result.a, result.b), strict=True):
        out.print(
            f"{column}={name}: {result.metric.value.upper()} {format_value(side.value, digits)} "
            f"({format_value(side.ci_low, digits)} to {format_value(side.ci_high, digits)}, "
            f"n={side.n})" + ("  too small to read" if side.too_small else "")
        )
    out.print(
        f"difference (B - A): {format_value(result.difference, digits)}, "
        f"{result.level:.0%} interval {format_value(result.ci_low, digits)} to "
        f"{format_value(result.ci_high, digits)}, p = {result.p_value:.4g} -> "
        f"[bold]{result.verdict}[/] ({result.method})",
        markup=True,
    )
    notes = skipped_notes(skipped)
    if notes:
        out.print("; ".join(notes), style="dim")
