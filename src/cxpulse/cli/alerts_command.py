"""``cxpulse alerts``: the app's score-drop detector run on a file, day by day."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxpulse.cli.console import OutputFormat, console, fail
from cxpulse.cli.root import app
from cxpulse.cli.scoring_options import (
    BottomArg,
    DateFormatArg,
    FileArg,
    FormatArg,
    MetricArg,
    ScaleArg,
    ScoreArg,
    SkipInvalidArg,
    TopArg,
    chosen_format,
    metric_spec,
    read_histograms,
)
from cxpulse.metrics.scales import Metric

if TYPE_CHECKING:
    import datetime as dt

    from cxpulse.metrics import Histogram
    from cxpulse.metrics.drift_detection import Incident

ALL = "all"


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse alerts answers.csv --score rating --metric csat --date created --by channel"
        "\n\n"
        "cxpulse alerts nps.xlsx -s score -m nps --date answered_at --by country --by plan "
        "--format json"
    )
)
def alerts(
    file: FileArg,
    date: Annotated[
        str,
        typer.Option(
            "--date",
            metavar="COLUMN",
            help="Column holding when each answer was given (days are UTC calendar days).",
        ),
    ],
    metric: MetricArg = Metric.CSAT,
    score_column: ScoreArg = "score",
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            "-b",
            metavar="COLUMN",
            help="Watch each value of this column as a segment (repeat for more columns); "
            "all answers together are always watched too.",
        ),
    ] = None,
    baseline_days: Annotated[
        int,
        typer.Option(
            "--baseline-days",
            min=1,
            max=366,
            metavar="DAYS",
            help="Days before the recent window that it is compared with.",
        ),
    ] = 28,
    alpha: Annotated[
        float,
        typer.Option(
            "--alpha",
            min=0.0001,
            max=0.2,
            help="Chance of at least one false alarm on a stable day, over all segments.",
        ),
    ] = 0.05,
    min_n: Annotated[
        int,
        typer.Option(
            "--min-n",
            min=2,
            metavar="N",
            help="Answers the recent window needs (it widens back up to 7 days to reach "
            "them); fewer: the segment is not tested that day.",
        ),
    ] = 30,
    min_baseline_n: Annotated[
        int,
        typer.Option("--min-baseline-n", min=2, metavar="N", help="Answers the baseline needs."),
    ] = 100,
    min_drop: Annotated[
        float,
        typer.Option(
            "--min-drop",
            min=0,
            metavar="POINTS",
            help="Leave out drops smaller than this (points; answer-scale units for ces and "
            "mean), however certain.",
        ),
    ] = 0.0,
    quiet_days: Annotated[
        int,
        typer.Option(
            "--quiet-days",
            min=0,
            max=60,
            metavar="DAYS",
            help="Detections in one segment at most this many days apart are one alert.",
        ),
    ] = 3,
    date_format: DateFormatArg = None,
    scale: ScaleArg = None,
    top_min: TopArg = None,
    bottom_max: BottomArg = None,
    skip_invalid: SkipInvalidArg = False,
    output: FormatArg = None,
) -> None:
    """Find the days a score dropped in a segment, beyond chance: the alerts cxpulse raises.

    Each day is compared with the days before it (--baseline-days) in every segment (each
    value of each --by column, and all answers), with the same intervals as compare;
    a drop is reported when its interval, at a level corrected for the number of segments
    tested that day (Bonferroni, --alpha in all), lies wholly below 0 (above 0 for dsat).
    CSAT and DSAT drops must also pass Fisher's exact test. Detections of one segment a
    few days apart are one alert, raised on its first day. docs/alerts.md explains it.
    """
    from cxpulse.engine.periods import Period
    from cxpulse.metrics.drift_detection import DetectorSettings, group_incidents, scan_drops

    spec = metric_spec(metric, scale, 0.95, 30, top_min, bottom_max)
    try:
        settings = DetectorSettings(
            baseline_days=baseline_days,
            min_recent_n=min_n,
            min_baseline_n=min_baseline_n,
            family_alpha=alpha,
            min_drop=min_drop,
        )
    except ValueError as error:
        fail(str(error), code=2)
    series: dict[str, dict[dt.date, Histogram]] = {}
    skipped = 0
    for column in [None, *(by or [])]:
        found = read_histograms(
            file,
            spec,
            score_column,
            [] if column is None else [column],
            date,
            date_format,
            Period.DAY,
            skip_invalid,
        )
        skipped = found.blank
        for key, histogram in found.groups.items():
            *values, day_label = key
            if day_label is None or (column is not None and values[0] is None):
                continue
            segment = ALL if column is None else f"{column}={values[0]}"
            series.setdefault(segment, {})[_day(day_label)] = histogram
    incidents = group_incidents(scan_drops(series, spec, settings), quiet_days)
    _write(chosen_format(output), incidents, len(series), skipped)


def _day(label: str) -> dt.date:
    from datetime import date as calendar_day

    return calendar_day.fromisoformat(label)


def _write(output: OutputFormat, incidents: list[Incident], segments: int, blank: int) -> None:
    from cxpulse.metrics.drift_detection import level_text

    if output is OutputFormat.JSON:
        from cxpulse.report.score_table import to_json

        document: dict[str, Any] = {
            "segments_watched": segments,
            "blank_answers": blank,
            "alerts": [incident.to_dict() for incident in incidents],
        }
        sys.stdout.write(to_json(document) + "\n")
        return
    if output is OutputFormat.CSV or output is OutputFormat.MARKDOWN:
        from cxpulse.report.score_table import table_to_csv

        header = [
            "segment",
            "day",
            "change",
            "ci_low",
            "ci_high",
            "level",
            "p_value",
            "adjusted_p",
            "n_before",
            "n_after",
            "last_seen",
            "days_detected",
            "explanation",
        ]
        rows = [[incident.to_dict()[name] for name in header] for incident in incidents]
        if output is OutputFormat.CSV:
            sys.stdout.write(table_to_csv(header, rows))
            return
        sys.stdout.write("| " + " | ".join(header) + " |\n")
        sys.stdout.write("|" + "---|" * len(header) + "\n")
        for row in rows:
            cells = [str(cell).replace("|", "\\|") for cell in row]
            sys.stdout.write("| " + " | ".join(cells) + " |\n")
        return
    out = console()
    if not incidents:
        out.print(f"No drops beyond chance in {segments} segment(s).", markup=False)
        return
    out.print(f"{len(incidents)} alert(s) in {segments} segment(s) watched:", markup=False)
    for incident in incidents:
        drop = incident.raised
        unit = drop.unit
        lasted = (
            f", seen on {incident.days} day(s) until {incident.last_seen.isoformat()}"
            if incident.days > 1
            else ""
        )
        out.print(
            f"\n{drop.day.isoformat()}  {drop.segment}: {drop.change:+.1f}{unit} "
            f"({level_text(drop.level)}% interval {drop.ci_low:.1f} to {drop.ci_high:.1f}){lasted}",
            markup=False,
            soft_wrap=True,
        )
        out.print(f"  {drop.explanation()}", markup=False, soft_wrap=True)
