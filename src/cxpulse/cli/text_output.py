"""How ``cxpulse themes`` and ``cxpulse drivers`` write their tables: JSON, CSV, markdown
or a table on the terminal.

Kept apart from the commands (:mod:`cxpulse.cli.text_commands`), which read the file and run
the text stage: this module only turns a finished table into text. Every CSV cell is
neutralised against spreadsheet formulas and every comment shown is the redacted one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cxpulse.cli.console import OutputFormat, console
from cxpulse.metrics.scales import Metric
from cxpulse.report.score_table import skipped_text, table_to_markdown

if TYPE_CHECKING:
    from cxpulse.metrics import MetricResult, MetricSpec
    from cxpulse.text.key_drivers import DriverRow, KeyDriverTable
    from cxpulse.text.theme_table import SegmentThemes, ThemeRow, ThemeTable

__all__ = ["show_drivers", "show_themes"]


def show_themes(
    table: ThemeTable,
    spec: MetricSpec,
    skipped: Mapping[str, Any],
    by: str | None,
    output: OutputFormat,
    digits: int | None,
) -> None:
    """Write the themes table to stdout in ``output``; ``by`` is the group column's name."""
    shown = digits if digits is not None else IMPACT_DIGITS_DEFAULT.get(spec.metric, 1)
    if output is OutputFormat.JSON:
        document = _themes_document(table, spec, skipped, by)
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    elif output is OutputFormat.CSV:
        sys.stdout.write(_themes_csv(table, by))
        # Rows of another shape would break the sheet; stderr still reaches the terminal.
        sys.stderr.write(f"skipped: {skipped_text(skipped)}\n")
    elif output is OutputFormat.MARKDOWN:
        sys.stdout.write(_themes_markdown(table, spec, skipped, by, shown))
    else:
        _print_themes(table, spec, skipped, by, shown)


IMPACT_DIGITS_DEFAULT = {Metric.CES: 2, Metric.MEAN: 2}
"""Decimals by default: percentage and NPS points move in tenths; a mean on a 1-7 scale in
hundredths."""


def _themes_document(
    table: ThemeTable, spec: MetricSpec, skipped: Mapping[str, Any], by: str | None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "metric": spec.metric.value,
        "scale": spec.scale.name,
        "level": spec.level,
        **table.whole.to_dict(),
        "skipped": dict(skipped),
    }
    if by is not None:
        document["by"] = by
        document["segments"] = [
            {"segment": segment.segment, **segment.to_dict()} for segment in table.segments
        ]
    return document


THEME_CSV_COLUMNS = (
    "key",
    "label",
    "origin",
    "mentions",
    "share",
    "share_low",
    "share_high",
    "score_with",
    "score_with_n",
    "score_without",
    "score_without_n",
    "impact",
    "impact_low",
    "impact_high",
    "direction",
    "negative",
    "neutral",
    "positive",
    "unknown",
    "top_phrases",
    "example_1",
    "example_2",
    "example_3",
)


def _themes_csv(table: ThemeTable, by: str | None) -> str:
    from cxpulse.report.score_table import ALL_VALUES, table_to_csv

    header = ([by] if by is not None else []) + list(THEME_CSV_COLUMNS)
    segments = [table.whole, *table.segments]
    records: list[list[Any]] = []
    for segment in segments:
        label = ALL_VALUES if segment.whole else segment.segment or ""
        for row in segment.themes:
            examples = [*row.examples, "", "", ""][:3]
            record: list[Any] = [
                row.key,
                row.label,
                row.origin,
                row.mentions,
                _number(row.share),
                _number(row.share_low),
                _number(row.share_high),
                _number(row.with_theme.value),
                row.with_theme.n,
                _number(row.without_theme.value),
                row.without_theme.n,
                _number(row.impact),
                _number(row.impact_low),
                _number(row.impact_high),
                row.direction,
                *(row.sentiments.get(name, 0) for name in SENTIMENTS),
                ";".join(row.top_phrases),
                *examples,
            ]
            records.append([label, *record] if by is not None else record)
    return table_to_csv(header, records)


SENTIMENTS = ("negative", "neutral", "positive", "unknown")


def _number(value: float) -> float | None:
    return None if value != value else value  # NaN: an empty cell


def _unit(metric: Metric) -> str:
    return "%" if metric in (Metric.CSAT, Metric.DSAT) else ""


def _segment_title(segment: SegmentThemes, spec: MetricSpec, by: str | None, digits: int) -> str:
    from cxpulse.metrics.scores import format_value

    overall = segment.overall
    where = "All comments" if segment.whole else f"{by} = {_value_label(segment.segment)}"
    score_text = format_value(overall.value, digits) + _unit(spec.metric)
    return (
        f"{where}: {segment.comments} comments of {segment.rows} rows; "
        f"{spec.metric.value.upper()} {score_text} (n={overall.n}) on {spec.scale.name}"
    )


def _value_label(value: str | None) -> str:
    return "(blank)" if value is None else value


def _theme_cells(row: ThemeRow, spec: MetricSpec, digits: int, example_width: int) -> list[str]:
    from cxpulse.metrics.scores import format_value
    from cxpulse.report.impact import impact_text
    from cxpulse.report.score_table import interval_text

    unit = _unit(spec.metric)
    low, high = row.impact_low, row.impact_high
    interval = (
        "–"
        if low != low or high != high
        else f"{impact_text(low, digits)} to {impact_text(high, digits)}"
    )
    example = row.examples[0] if row.examples else ""
    example = " ".join(example.split())
    if len(example) > example_width:
        example = example[: example_width - 1].rstrip() + "…"
    return [
        row.label + ("" if row.origin == "defined" else " (discovered)"),
        str(row.mentions),
        f"{format_value(row.share, digits)}% "
        f"({interval_text(row.share_low, row.share_high, digits)})",
        format_value(row.with_theme.value, digits) + unit + _small(row.with_theme),
        format_value(row.without_theme.value, digits) + unit + _small(row.without_theme),
        impact_text(row.impact, digits),
        interval,
        example,
    ]


def _small(result: MetricResult) -> str:
    return " *" if result.too_small else ""


def _notes(spec: MetricSpec, skipped: Mapping[str, Any]) -> str:
    return (
        f"impact: {_impact_meaning(spec)}; * fewer than {spec.min_n} answers: too small to "
        f"read; skipped: {skipped_text(skipped)}"
    )


THEME_HEADERS = ("theme", "mentions", "share of comments", "score with", "without", "impact")


def _themes_markdown(
    table: ThemeTable, spec: MetricSpec, skipped: Mapping[str, Any], by: str | None, digits: int
) -> str:
    from cxpulse.report.score_table import table_to_markdown

    header = [*THEME_HEADERS, f"{spec.level:.0%} interval", "example"]
    parts = []
    for segment in [table.whole, *table.segments]:
        parts.append(f"**{_segment_title(segment, spec, by, digits)}**\n\n")
        records = [_theme_cells(row, spec, digits, 160) for row in segment.themes]
        parts.append(table_to_markdown(header, records) if records else "No themes found.\n")
        parts.append("\n")
    parts.append(f"{_notes(spec, skipped)}.\n")
    return "".join(parts)


def _impact_meaning(spec: MetricSpec) -> str:
    better = "lower" if spec.metric is Metric.DSAT else "higher"
    return (
        "how far the overall score would move if the answers that mention the theme scored "
        f"like the rest ({better} is better for {spec.metric.value.upper()})"
    )


def _print_themes(
    table: ThemeTable, spec: MetricSpec, skipped: Mapping[str, Any], by: str | None, digits: int
) -> None:
    from rich.table import Table

    out = console()
    for segment in [table.whole, *table.segments]:
        shown = Table(title=_segment_title(segment, spec, by, digits), title_justify="left")
        for name in THEME_HEADERS:
            shown.add_column(name, justify="left" if name == "theme" else "right")
        shown.add_column(f"{spec.level:.0%} interval", justify="right")
        shown.add_column("example", overflow="fold")
        for row in segment.themes:
            style = (
                "red" if row.direction == "costs" else "green" if row.direction == "wins" else None
            )
            shown.add_row(*_theme_cells(row, spec, digits, 80), style=style)
        if not segment.themes:
            shown.add_row("no themes found", *[""] * 7)
        out.print(shown)
    out.print(_notes(spec, skipped), style="dim")


# -- drivers ---------------------------------------------------------------------------------


def show_drivers(table: KeyDriverTable, outcome: str, output: OutputFormat, digits: int) -> None:
    """Write the key-driver table of ``outcome`` to stdout in ``output``."""
    if output is OutputFormat.JSON:
        document = {"outcome": outcome, **table.to_dict()}
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    elif output is OutputFormat.CSV:
        sys.stdout.write(_drivers_csv(table, outcome))
        for note in table.notes:
            sys.stderr.write(f"note: {note}\n")
    elif output is OutputFormat.MARKDOWN:
        records = [_driver_cells(row, table, digits) for row in table.rows]
        text = f"**{_drivers_title(table, outcome, digits)}**\n\n"
        text += table_to_markdown(_driver_headers(table), records)
        text += "".join(f"\n{note}\n" for note in table.notes)
        sys.stdout.write(text)
    else:
        _print_drivers(table, outcome, digits)


DRIVER_CSV_COLUMNS = (
    "driver",
    "weight",
    "weight_ci_low",
    "weight_ci_high",
    "share",
    "shapley",
    "shapley_ci_low",
    "shapley_ci_high",
    "correlation",
    "mean",
)
"""Per driver; then the outcome's figures, the same on every row, so the sheet stands alone."""
DRIVER_TABLE_COLUMNS = (
    "outcome",
    "n",
    "dropped",
    "r_squared",
    "r_squared_ci_low",
    "r_squared_ci_high",
    "level",
    "bootstrap",
)


def _drivers_csv(table: KeyDriverTable, outcome: str) -> str:
    from cxpulse.report.score_table import table_to_csv

    whole = table.to_dict()
    shared = [outcome, *(whole[name] for name in DRIVER_TABLE_COLUMNS[1:])]
    records = []
    for row in table.rows:
        found = row.to_dict()
        found["driver"] = found.pop("name")
        records.append([*(found[name] for name in DRIVER_CSV_COLUMNS), *shared])
    return table_to_csv([*DRIVER_CSV_COLUMNS, *DRIVER_TABLE_COLUMNS], records)


def _drivers_title(table: KeyDriverTable, outcome: str, digits: int) -> str:
    from cxpulse.metrics.scores import format_value

    dropped = f" ({table.dropped} left out for a blank)" if table.dropped else ""
    interval = _span(table.r_squared_ci_low, table.r_squared_ci_high, digits)
    r_squared = format_value(table.r_squared, digits)
    if interval:
        r_squared += f" ({table.level:.0%} interval {interval})"
    return f"{outcome}: R² {r_squared} from {table.n} complete rows{dropped}"


def _span(low: float | None, high: float | None, digits: int) -> str:
    """``0.123 to 0.456``; empty without an interval (no resamples)."""
    from cxpulse.metrics.scores import format_value

    if low is None or high is None or low != low or high != high:
        return ""
    return f"{format_value(low, digits)} to {format_value(high, digits)}"


def _driver_headers(table: KeyDriverTable) -> list[str]:
    level = f"{table.level:.0%}"
    return [
        "driver",
        "relative weight",
        f"{level} interval",
        "share of R²",
        "Shapley value",
        f"{level} interval",
        "correlation",
    ]


def _driver_cells(row: DriverRow, table: KeyDriverTable, digits: int) -> list[str]:
    from cxpulse.metrics.scores import format_value

    share_digits = max(0, digits - 2)
    return [
        row.name,
        format_value(row.weight, digits),
        _span(row.weight_ci_low, row.weight_ci_high, digits) or "–",
        format_value(row.share, share_digits) + "%",
        format_value(row.shapley, digits),
        _span(row.shapley_ci_low, row.shapley_ci_high, digits) or "–",
        format_value(row.correlation, digits),
    ]


def _print_drivers(table: KeyDriverTable, outcome: str, digits: int) -> None:
    from rich.table import Table

    shown = Table(title=_drivers_title(table, outcome, digits), title_justify="left")
    for name in _driver_headers(table):
        shown.add_column(name, justify="left" if name == "driver" else "right")
    for row in table.rows:
        shown.add_row(*_driver_cells(row, table, digits))
    out = console()
    out.print(shown)
    notes = [
        "relative weights (Johnson) and Shapley values split R² among the drivers; "
        f"intervals: percentile bootstrap of {table.bootstrap} resamples",
        *table.notes,
    ]
    out.print("; ".join(notes), style="dim")
