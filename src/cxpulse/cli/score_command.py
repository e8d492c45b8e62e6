"""``cxpulse score``: a file's answers scored overall and per group, with intervals."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxpulse.cli.console import OutputFormat, console, fail
from cxpulse.cli.engine_scoring import (
    EngineArg,
    EngineDatabaseArg,
    OrgArg,
    SurveyArg,
    TableArg,
)
from cxpulse.cli.root import app
from cxpulse.cli.scoring_options import (
    BottomArg,
    ByArg,
    DateArg,
    DateFormatArg,
    LevelArg,
    MetricArg,
    MinNArg,
    NpsMethodArg,
    NpsMethodOption,
    OptionalFileArg,
    PeriodArg,
    ScaleArg,
    ScoreArg,
    SkipInvalidArg,
    TopArg,
    check_period_has_date,
    chosen_format,
    format_option,
    metric_spec,
    read_histograms,
    skipped_answers,
)
from cxpulse.engine.periods import Period
from cxpulse.metrics.scales import Metric

if TYPE_CHECKING:
    from cxpulse.metrics import MetricSpec
    from cxpulse.report.score_table import ScoredRow


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Python's cycle collector off while ``score`` works.

    A large file gives tens of thousands of groups, each a few small objects (the query's
    rows, histograms, scored columns) that form no reference cycles; the collector would walk
    the whole heap again and again as they are made, with nothing to collect (about 0.03 s of
    a 10-million-answer file, docs/benchmarks.md). Reference counting still frees them all.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse score answers.csv --metric nps --score 'Likelihood to recommend' "
        "--date created --period month --by region\n\n"
        "cxpulse score zendesk.xlsx -m csat -s Rating --scale 1-5 --format json\n\n"
        "cxpulse score answers.parquet --engine spark -m nps -s ltr --by region\n\n"
        "cxpulse score --engine postgres --table responses --survey checkout --org acme "
        "-m csat --by channel --date submitted_at"
    )
)
@_cycle_collection_paused()
def score(
    file: OptionalFileArg = None,
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
        format_option(
            "table and markdown add a subtotal for each value of each --by or period column; "
            "json and csv hold one row per group (and the whole file) for programs. csv holds "
            "the table only: the counts of blank and invalid answers go to stderr. markdown "
            "states them below the table."
        ),
    ] = None,
    digits: Annotated[
        int, typer.Option("--digits", min=0, max=10, metavar="N", help="Decimals shown.")
    ] = 1,
    engine: EngineArg = None,
    table: TableArg = None,
    survey: SurveyArg = None,
    org: OrgArg = None,
    database: EngineDatabaseArg = None,
) -> None:
    """Score a file of answers, overall and per group, with confidence intervals.

    Blank answers are not scored (they are counted as skipped). Values off the scale stop the
    command unless --skip-invalid is given. --engine counts in DuckDB, PostgreSQL or Spark
    through Ibis, from FILE or from a --table of that engine (docs/engines.md).
    """
    from cxpulse.report.score_table import (
        document,
        rows_with_subtotals,
        scored_groups,
        skipped_text,
        to_csv,
        to_json,
        to_markdown,
    )

    check_period_has_date(period, date)
    if date is not None:
        period = period or Period.MONTH
    if engine is None:
        if table is not None or survey is not None or org is not None or database is not None:
            fail("--table, --survey, --org and --database need --engine", code=2)
        if file is None:
            fail("give a FILE to score (or --engine ENGINE --table NAME)", code=2)
        spec = metric_spec(metric, scale, level, min_n, top_min, bottom_max, nps_method)
        found = read_histograms(
            file, spec, score_column, list(by or []), date, date_format, period, skip_invalid
        )
    else:
        from cxpulse.cli.engine_scoring import (
            EngineChoice,
            check_choice,
            database_for,
            read_with_engine,
            survey_scope,
        )

        choice = EngineChoice(engine, table, survey, org, database)
        check_choice(file, choice)
        scope = None
        url = database_for(choice)
        if survey is not None:
            scope, url = survey_scope(choice)
            scale = scale or f"{scope.scale_low}-{scope.scale_high}"
        spec = metric_spec(metric, scale, level, min_n, top_min, bottom_max, nps_method)
        found = read_with_engine(
            choice,
            file,
            score=score_column,
            scale=spec.scale,
            by=list(by or []),
            date=date,
            period=period,
            skip_invalid=skip_invalid,
            scope=scope,
            database=url,
        )
    scored = scored_groups(found.group_columns, found.groups, spec)
    skipped = skipped_answers(found)
    output = chosen_format(output)
    if output is OutputFormat.JSON and not sys.stdout.isatty():
        # For programs: compact, and written without a dict per row (tens of thousands of
        # groups in a large file; docs/benchmarks.md).
        sys.stdout.write(scored.json(metric.value, spec, skipped) + "\n")
        return
    if output is OutputFormat.JSON:
        rows = scored.rows()
        sys.stdout.write(to_json(document(metric.value, spec, rows, skipped), indent=2) + "\n")
    elif output is OutputFormat.CSV:
        sys.stdout.write(to_csv(scored.rows(), found.group_columns))
        # Rows of another shape would break the sheet; stderr still reaches the terminal.
        sys.stderr.write(f"skipped: {skipped_text(skipped)}\n")
    else:
        # For people: each region, each month, and each region in each month.
        rows = rows_with_subtotals(found.group_columns, found.groups, spec)
        if output is OutputFormat.MARKDOWN:
            sys.stdout.write(to_markdown(rows, digits, skipped, found.group_columns))
        else:
            _print_table(metric, spec, rows, found.group_columns, skipped, digits)


def _print_table(
    metric: Metric,
    spec: MetricSpec,
    rows: list[ScoredRow],
    group_columns: list[str],
    skipped: dict[str, Any],
    digits: int,
) -> None:
    from rich.table import Table

    from cxpulse.metrics.scores import format_value
    from cxpulse.report.score_table import band_text, group_label, interval_text, skipped_notes

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
    first_column = group_columns[0] if group_columns else None
    after_other_subtotal = False
    for row in rows:
        result = row.result
        subtotal = 0 < len(row.group) < len(group_columns)
        other_subtotal = subtotal and first_column not in row.group
        if (subtotal and not other_subtotal) or (other_subtotal and not after_other_subtotal):
            # A rule above each block: a region's subtotal with its months, then the months.
            table.add_section()
        after_other_subtotal = other_subtotal
        value = format_value(result.value, digits) + unit
        if result.too_small:
            value += " *"
        cells = [
            group_label(row.group, group_columns),
            value,
            interval_text(result.ci_low, result.ci_high, digits),
            str(result.n),
            band_text(result.counts),
        ]
        if metric is Metric.CES:
            cells.append(format_value(result.extra.get("pct_agree"), digits) + "%")
        table.add_row(*cells, style="bold" if not row.group or subtotal else None)
    out = console()
    out.print(table)
    notes = [f"method: {rows[0].result.method}"]
    if len(group_columns) > 1:
        notes.append("All: every value of that column")
    if any(row.result.too_small for row in rows):
        notes.append(f"* fewer than {spec.min_n} answers: too small to read")
    notes += skipped_notes(skipped)
    out.print("; ".join(notes), style="dim")
