"""Commands that score files: score, compare, samplesize, benchmark, demo-file.

Heavy libraries (DuckDB, Arrow, SciPy) are imported inside the commands that need them, so
that ``cxpulse --help`` and small jobs start fast.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxpulse.cli.console import LateProgress, OutputFormat, console, fail
from cxpulse.cli.root import app
from cxpulse.engine.periods import Period
from cxpulse.metrics.scales import Metric

if TYPE_CHECKING:
    from cxpulse.engine import FileHistograms
    from cxpulse.metrics import Histogram, MetricSpec
    from cxpulse.metrics.compare import Comparison
    from cxpulse.report.score_table import ScoredRow


class NpsMethodOption(StrEnum):
    ADJUSTED_WALD = "adjusted-wald"
    WALD = "wald"
    BOOTSTRAP = "bootstrap"


def _spec(
    metric: Metric,
    scale: str | None,
    level: float,
    min_n: int,
    top_min: float | None,
    bottom_max: float | None,
    nps_method: NpsMethodOption,
) -> MetricSpec:
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


def _read_histograms(
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
    from cxpulse.engine import FileInputError, InvalidScoresError, histograms_from_file

    progress = LateProgress(f"Reading {file.name}")
    try:
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
    except InvalidScoresError as error:
        fail(
            f"{error.invalid.describe()} for the {spec.scale.name} scale. "
            "Fix them, choose another --scale, or pass --skip-invalid to leave them out."
        )
    except FileInputError as error:
        fail(str(error))
    finally:
        progress.close()


def _check_period_has_date(period: Period | None, date: str | None) -> None:
    if period is not None and date is None:
        fail("--period needs --date COLUMN (the column that holds each answer's date)", code=2)


def _skipped(found: FileHistograms) -> dict[str, Any]:
    skipped: dict[str, Any] = {"blank": found.blank, "invalid": 0}
    if found.invalid is not None:
        skipped["invalid"] = found.invalid.count
        skipped["invalid_values"] = found.invalid.values
        skipped["invalid_lines"] = found.invalid.lines
    return skipped


def _print_table(
    metric: Metric, spec: MetricSpec, rows: list[ScoredRow], skipped: dict[str, Any], digits: int
) -> None:
    from rich.table import Table

    from cxpulse.metrics.scores import format_value
    from cxpulse.report.score_table import band_text, group_label, skipped_notes

    unit = "" if metric in (Metric.CES, Metric.MEAN) else "" if metric is Metric.NPS else "%"
    table = Table(
        title=f"{metric.value.upper()} on {spec.scale.name}, {spec.level:.0%} intervals",
        title_justify="left",
    )
    table.add_column("group")
    table.add_column("value", justify="right")
    table.add_column(f"{spec.level:.0%} interval", justify="right")
    table.add_column("n", justify="right")
    table.add_column("bands")
    if metric is Metric.CES:
        table.add_column("% agree", justify="right")
    for row in rows:
        result = row.result
        label = group_label(row.group)
        value = format_value(result.value, digits) + unit
        if result.too_small:
            value += " *"
        cells = [
            label,
            value,
            f"{format_value(result.ci_low, digits)} to {format_value(result.ci_high, digits)}",
            str(result.n),
            band_text(result.counts),
        ]
        if metric is Metric.CES:
            cells.append(format_value(result.extra.get("pct_agree"), digits) + "%")
        table.add_row(*cells, style="bold" if not row.group else None)
    out = console()
    out.print(table)
    notes = [f"method: {rows[0].result.method}"]
    if any(row.result.too_small for row in rows):
        notes.append(f"* fewer than {spec.min_n} answers: too small to read")
    notes += skipped_notes(skipped)
    out.print("; ".join(notes), style="dim")


MetricArg = Annotated[
    Metric,
    typer.Option("--metric", "-m", help="csat, dsat, nps, ces or mean.", case_sensitive=False),
]
ScoreArg = Annotated[str, typer.Option("--score", "-s", help="Column holding the answer.")]
ByArg = Annotated[
    list[str] | None,
    typer.Option("--by", "-b", help="Group by this column (repeat for more)."),
]
DateArg = Annotated[
    str | None,
    typer.Option(
        "--date",
        help="Column holding when the answer was given; groups by --period (default month).",
    ),
]
CompareDateArg = Annotated[
    str | None,
    typer.Option(
        "--date", help="Column holding when the answer was given (for --periods; not a filter)."
    ),
]
DateFormatArg = Annotated[
    str | None,
    typer.Option(
        "--date-format",
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
_FORMATS = "table (default on a terminal), json (default otherwise), csv or markdown."
FormatArg = Annotated[OutputFormat | None, typer.Option("--format", "-f", help=_FORMATS)]
ScaleArg = Annotated[
    str | None,
    typer.Option(
        "--scale",
        help="LOW-HIGH or thumbs (stars and emoji mean 1-5). csat/dsat: 1-5 (default), 1-3, "
        "1-7, 1-10, thumbs, or another scale given both --top-min and --bottom-max; "
        "nps: 0-10 (default), 1-10; ces: 1-7 (default), 1-5; mean: any (default 1-5).",
    ),
]
LevelArg = Annotated[
    float, typer.Option("--level", min=0.5, max=0.999, help="Confidence level of intervals.")
]
MinNArg = Annotated[
    int, typer.Option("--min-n", min=1, help="Groups with fewer answers are flagged too small.")
]
TopArg = Annotated[
    float | None,
    typer.Option(
        "--top-min",
        help="Lowest answer counted satisfied / promoter / agree, on the scale "
        "(default per scale).",
    ),
]
BottomArg = Annotated[
    float | None,
    typer.Option(
        "--bottom-max",
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


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse score answers.csv --metric nps --score 'Likelihood to recommend' "
        "--date created --period month --by region\n\n"
        "cxpulse score zendesk.xlsx -m csat -s Rating --scale 1-5 --format json"
    )
)
def score(
    file: FileArg,
    metric: MetricArg = Metric.CSAT,
    score_column: ScoreArg = "score",
    by: ByArg = None,
    date: DateArg = None,
    date_format: DateFormatArg = None,
    period: PeriodArg = None,
    scale: ScaleArg = None,
    level: LevelArg = 0.95,
    min_n: MinNArg = 30,
    top_min: TopArg = None,
    bottom_max: BottomArg = None,
    nps_method: NpsMethodArg = NpsMethodOption.ADJUSTED_WALD,
    skip_invalid: SkipInvalidArg = False,
    output: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            "-f",
            help=f"{_FORMATS} csv holds the table only: the counts of blank and invalid "
            "answers go to stderr. markdown states them below the table.",
        ),
    ] = None,
    digits: Annotated[int, typer.Option("--digits", min=0, max=10, help="Decimals shown.")] = 1,
) -> None:
    """Score a file of answers, overall and per group, with confidence intervals.

    Blank answers are not scored (they are counted as skipped). Values off the scale stop the
    command unless --skip-invalid is given.
    """
    from cxpulse.report.score_table import (
        document,
        score_groups,
        skipped_text,
        to_csv,
        to_json,
        to_markdown,
    )

    _check_period_has_date(period, date)
    spec = _spec(metric, scale, level, min_n, top_min, bottom_max, nps_method)
    if date is not None:
        period = period or Period.MONTH
    found = _read_histograms(
        file, spec, score_column, list(by or []), date, date_format, period, skip_invalid
    )
    rows = score_groups(found.group_columns, found.groups, spec)
    skipped = _skipped(found)
    if output is None:
        output = OutputFormat.TABLE if sys.stdout.isatty() else OutputFormat.JSON
    if output is OutputFormat.JSON:
        indent = 2 if sys.stdout.isatty() else None
        sys.stdout.write(to_json(document(metric.value, spec, rows, skipped), indent=indent) + "\n")
    elif output is OutputFormat.CSV:
        sys.stdout.write(to_csv(rows, found.group_columns))
        # Rows of another shape would break the sheet; stderr still reaches the terminal.
        sys.stderr.write(f"skipped: {skipped_text(skipped)}\n")
    elif output is OutputFormat.MARKDOWN:
        sys.stdout.write(to_markdown(rows, digits, skipped))
    else:
        _print_table(metric, spec, rows, skipped, digits)


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
        typer.Option("--between", help="COLUMN=A,B: compare the answers where COLUMN is A with B."),
    ] = None,
    periods: Annotated[
        str | None,
        typer.Option(
            "--periods",
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
    digits: Annotated[int, typer.Option("--digits", min=0, max=10, help="Decimals shown.")] = 1,
) -> None:
    """Is the difference between two groups or two periods real? Difference, interval, p-value.

    CSAT and DSAT use a two-proportion test, NPS an adjusted-Wald difference, CES and mean
    Welch's t-test. B minus A is reported, so a positive difference means B scores higher.
    --between compares all answers of the file, whatever their dates.
    """
    from cxpulse.metrics.compare import compare as compare_histograms
    from cxpulse.report.score_table import comparison_to_csv, comparison_to_markdown, to_json

    if (between is None) == (periods is None):
        fail("give either --between COLUMN=A,B or --periods A,B", code=2)
    spec = _spec(metric, scale, level, min_n, top_min, bottom_max, NpsMethodOption.ADJUSTED_WALD)
    if between is not None:
        if period is not None:
            fail("--period goes with --periods; --between compares the whole file", code=2)
        column, names = _between_option(between)
        # Grouping by period here too would key the groups (value, period): never found.
        found = _read_histograms(
            file, spec, score_column, [column], None, date_format, None, skip_invalid
        )
    else:
        assert periods is not None
        names = _periods_option(periods, date)
        period = period or Period.MONTH
        column = period.value
        found = _read_histograms(
            file, spec, score_column, [], date, date_format, period, skip_invalid
        )
    a_label, b_label = names
    result = compare_histograms(
        _group(found, column, a_label), _group(found, column, b_label), spec
    )
    if output is None:
        output = OutputFormat.TABLE if sys.stdout.isatty() else OutputFormat.JSON
    if output is OutputFormat.JSON:
        data = result.to_dict()
        data["a_label"], data["b_label"] = a_label, b_label
        data["column"] = column
        sys.stdout.write(to_json(data) + "\n")
    elif output is OutputFormat.CSV:
        sys.stdout.write(comparison_to_csv(result, column, a_label, b_label))
    elif output is OutputFormat.MARKDOWN:
        sys.stdout.write(comparison_to_markdown(result, column, a_label, b_label, digits))
    else:
        _print_comparison(result, column, (a_label, b_label), digits)


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
    result: Comparison, column: str, labels: tuple[str, str], digits: int
) -> None:
    from cxpulse.metrics.scores import format_value

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
    if output is None:
        output = OutputFormat.TABLE if sys.stdout.isatty() else OutputFormat.JSON
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
    assumptions = ", ".join(f"{k} {v:g}" for k, v in plan.assumptions.items())
    unit = "" if metric in (Metric.CES, Metric.MEAN) else " points"
    console().print(
        f"{plan.n} answers give {metric.value.upper()} a margin of ±{margin:g}{unit} "
        f"at {level:.0%} confidence ({plan.method}; assuming {assumptions})."
    )


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
            help=f"{_FORMATS} csv holds the table only: the caveat on reading ACSI scores goes "
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
    if output is None:
        output = OutputFormat.TABLE if sys.stdout.isatty() else OutputFormat.JSON
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


@app.command(name="demo-file", epilog="Example:\n\ncxpulse demo-file")
def demo(
    rows: Annotated[int, typer.Option("--rows", min=100, help="Answers to generate.")] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 7,
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Also write the sample CSV to this path.")
    ] = None,
) -> None:
    """Generate a realistic sample export and score it: NPS by month, CSAT by channel."""
    import tempfile

    from cxpulse.demo.sample_file import write_demo_csv

    with tempfile.TemporaryDirectory(prefix="cxpulse-demo-") as folder:
        path = Path(keep) if keep else Path(folder) / "cxpulse-demo.csv"
        write_demo_csv(path, rows=rows, seed=seed)
        out = console()
        out.print(f"Sample export with {rows} answers: {path}\n")
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
