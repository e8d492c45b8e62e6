"""Scored groups as rows, and those rows as JSON, CSV or Markdown text.

The JSON row shape is shared by the CLI, the API and reports:
``{"group": {column: value}, "value", "ci_low", "ci_high", "n", "counts", "too_small", ...}``.
``ScoredGroups.json`` writes that document for many groups without a dict per row; it is
the same text as ``to_json(document(...), indent=None)`` (tests hold the two together).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from cxpulse.csv_safety import neutralise_cell
from cxpulse.metrics import Histogram, MetricResult, MetricSpec
from cxpulse.metrics.batch import ScoredColumns, score_many
from cxpulse.metrics.compare import Comparison
from cxpulse.metrics.histogram import merge
from cxpulse.metrics.scores import format_value


@dataclass(frozen=True)
class ScoredRow:
    group: Mapping[str, str | None]
    result: MetricResult

    def to_dict(self) -> dict[str, Any]:
        return {"group": dict(self.group), **self.result.to_dict()}


@dataclass(frozen=True)
class ScoredGroups:
    """The overall row (key ``()``) first, then one row per group key, scored as columns."""

    group_columns: Sequence[str]
    keys: list[tuple[str | None, ...]]
    scores: ScoredColumns

    def rows(self) -> list[ScoredRow]:
        return [
            ScoredRow(
                dict(zip(self.group_columns, key, strict=True)) if key else {},
                self.scores.result(i),
            )
            for i, key in enumerate(self.keys)
        ]

    def json(self, metric: str, spec: MetricSpec, skipped: Mapping[str, Any]) -> str:
        """``to_json(document(metric, spec, self.rows(), skipped), indent=None)``, faster."""
        if len(set(self.group_columns)) != len(self.group_columns):
            # A column named twice is one key of a dict: let json.dumps write what dict() kept.
            return to_json(document(metric, spec, self.rows(), skipped), indent=None)
        head = json.dumps(document_head(metric, spec), ensure_ascii=False)
        rows = _json_rows(self.group_columns, self.keys, self.scores)
        tail = json.dumps(dict(skipped), ensure_ascii=False)
        return f'{head[:-1]}, "rows": [{", ".join(rows)}], "skipped": {tail}}}'


def scored_groups(
    group_columns: Sequence[str],
    groups: Mapping[tuple[str | None, ...], Histogram],
    spec: MetricSpec,
) -> ScoredGroups:
    """One overall row (group ``{}``) first, then one row per group in key order."""
    if not group_columns:
        # The overall row only: the groups merged (score_many's total), none shown alone.
        scores = _first_only(score_many(list(groups.values()), spec, total_first=True))
        return ScoredGroups(group_columns, [()], scores)

    keys = _sorted_keys(groups)
    scores = score_many([groups[key] for key in keys], spec, total_first=True)
    return ScoredGroups(group_columns, [(), *keys], scores)


def _blank_last(part: str | None) -> tuple[bool, str]:
    return (part is None, part or "")


def _sorted_keys(
    groups: Mapping[tuple[str | None, ...], Histogram],
) -> list[tuple[str | None, ...]]:
    if any(None in key for key in groups):
        # Blank values (None) after every text.
        return sorted(groups, key=lambda key: tuple(map(_blank_last, key)))
    return sorted(groups)  # the same order, without a Python call per key


def rows_with_subtotals(
    group_columns: Sequence[str],
    groups: Mapping[tuple[str | None, ...], Histogram],
    spec: MetricSpec,
) -> list[ScoredRow]:
    """The rows a person reads: overall first; then, for each value of the first column, its
    subtotal followed by its groups; then the subtotal of each value of every other column.

    ``score --by Region --period month`` thus shows each region, each month and each region
    in each month. A subtotal's group names only the column it totals (``{"Region": "EU"}``);
    histograms add, so it is scored exactly as all its answers together. With fewer than two
    columns the groups are their own subtotals and the rows are ``scored_groups``'.
    """
    if len(group_columns) < 2:
        return scored_groups(group_columns, groups, spec).rows()
    keys = _sorted_keys(groups)
    first = group_columns[0]
    blocks: dict[str | None, list[tuple[str | None, ...]]] = {}
    for key in keys:
        blocks.setdefault(key[0], []).append(key)
    entries: list[tuple[dict[str, str | None], Histogram]] = []
    for value, block in blocks.items():
        entries.append(({first: value}, merge(groups[key] for key in block)))
        entries += [(dict(zip(group_columns, key, strict=True)), groups[key]) for key in block]
    for index, column in enumerate(group_columns[1:], start=1):
        totals: dict[str | None, list[Histogram]] = {}
        for key in keys:
            totals.setdefault(key[index], []).append(groups[key])
        for value in sorted(totals, key=_blank_last):
            entries.append(({column: value}, merge(totals[value])))
    overall = merge(groups.values())
    scores = score_many([overall, *(histogram for _, histogram in entries)], spec)
    rows = [ScoredRow({}, scores.result(0))]
    rows += [ScoredRow(group, scores.result(i)) for i, (group, _) in enumerate(entries, start=1)]
    return rows


def score_groups(
    group_columns: Sequence[str],
    groups: Mapping[tuple[str | None, ...], Histogram],
    spec: MetricSpec,
) -> list[ScoredRow]:
    """One overall row (group ``{}``) first, then one row per group in key order."""
    return scored_groups(group_columns, groups, spec).rows()


def _first_only(scores: ScoredColumns) -> ScoredColumns:
    return ScoredColumns(
        metric=scores.metric,
        level=scores.level,
        method=scores.method,
        value=scores.value[:1],
        ci_low=scores.ci_low[:1],
        ci_high=scores.ci_high[:1],
        n=scores.n[:1],
        counts=scores.counts[:1],
        too_small=scores.too_small[:1],
        extra=scores.extra[:1],
    )


def _json_numbers(numbers: Iterable[float]) -> list[str]:
    # json.dumps writes a float with float.__repr__; an undefined value (NaN: no answers) is
    # null, as MetricResult.to_dict makes it.
    return ["null" if text == "nan" else text for text in map(repr, numbers)]


def _json_value(value: Any) -> str:
    if isinstance(value, str):
        return encode_basestring(value)
    return json.dumps(value, ensure_ascii=False)


def _group_texts(group_columns: Sequence[str], keys: Sequence[tuple[str | None, ...]]) -> list[str]:
    """The inside of each row's "group" object; each column name and value encoded once."""
    columns = []
    for column, parts in zip(group_columns, zip(*keys, strict=True), strict=True):
        prefix = encode_basestring(column) + ": "
        encoded = {part: prefix + _json_value(part) for part in set(parts)}
        columns.append(map(encoded.__getitem__, parts))
    return [", ".join(row) for row in zip(*columns, strict=True)] if columns else [""] * len(keys)


def _json_rows(
    group_columns: Sequence[str], keys: Sequence[tuple[str | None, ...]], scores: ScoredColumns
) -> list[str]:
    """One JSON object per row (the overall row, key ``()``, first), built column by column."""
    objects: dict[tuple[str, ...], str] = {}

    def template(names: tuple[str, ...]) -> str:
        # '{"promoters": {}, "passives": {}, ...}', filled by str.format.
        text = objects.get(names)
        if text is None:
            parts = [_json_value(name).replace("{", "{{").replace("}", "}}") for name in names]
            text = objects[names] = "{{" + ", ".join(f"{part}: {{}}" for part in parts) + "}}"
        return text

    groups = ["", *_group_texts(group_columns, keys[1:])]
    counts = [template(tuple(c)).format(*c.values()) for c in scores.counts]
    extras = [
        ", " + template(tuple(e)).format(*_json_numbers(e.values()))[1:-1] if e else ""
        for e in scores.extra
    ]
    middle = (
        f', "level": {_json_numbers([scores.level])[0]}, "method": {_json_value(scores.method)}'
    )
    columns = zip(
        groups,
        _json_numbers(scores.value),
        _json_numbers(scores.ci_low),
        _json_numbers(scores.ci_high),
        scores.n,
        counts,
        scores.too_small,
        extras,
        strict=True,
    )
    return [
        f'{{"group": {{{group}}}, "value": {value}, "ci_low": {low}, "ci_high": {high}, '
        f'"n": {n!r}{middle}, "counts": {count}, "too_small": {"true" if small else "false"}'
        f"{extra}}}"
        for group, value, low, high, n, count, small, extra in columns
    ]


ALL_VALUES = "All"
"""The cell of a column a row totals over (the overall row, a subtotal): what a spreadsheet
user reads, where an empty cell would look like a blank answer's group."""


def group_label(group: Mapping[str, str | None], group_columns: Sequence[str] | None = None) -> str:
    """``Region=EU, month=2026-01``; with ``group_columns``, a subtotal names the columns it
    totals over too (``Region=EU, month=All``)."""
    if not group:
        return "overall"
    columns = group_columns if group_columns is not None else list(group)
    return ", ".join(f"{column}={_label_value(group, column)}" for column in columns)


def _label_value(group: Mapping[str, str | None], column: str) -> str:
    if column not in group:
        return ALL_VALUES
    value = group[column]
    return "(blank)" if value is None else value


def band_text(counts: Mapping[str, int]) -> str:
    return " / ".join(f"{count} {name.replace('_', ' ')}" for name, count in counts.items())


def to_json(document: Mapping[str, Any], *, indent: int | None = 2) -> str:
    """Indented for people; ``indent=None`` for programs (the C encoder, several times faster
    on tens of thousands of groups)."""
    return json.dumps(document, ensure_ascii=False, indent=indent)


def _flat_columns(rows: Sequence[ScoredRow], group_columns: Sequence[str]) -> list[str]:
    band_names: list[str] = []
    extra_names: list[str] = []
    for row in rows:
        for name in row.result.counts:
            if name not in band_names:
                band_names.append(name)
        for name in row.result.extra:
            if name not in extra_names:
                extra_names.append(name)
    return [
        *group_columns,
        "value",
        "ci_low",
        "ci_high",
        "n",
        "too_small",
        *extra_names,
        *band_names,
    ]


def _flat_values(row: ScoredRow, columns: Sequence[str], group_columns: Sequence[str]) -> list[Any]:
    data = row.to_dict()
    values: list[Any] = []
    for column in columns:
        if column in group_columns:
            values.append(row.group.get(column, ALL_VALUES))
        elif column in row.result.counts:
            values.append(row.result.counts[column])
        else:
            values.append(data.get(column))
    return values


def table_to_csv(header: Sequence[str], records: Iterable[Sequence[Any]]) -> str:
    """Full precision; every text cell neutralised against spreadsheet formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralise_cell(c) for c in header])
    for record in records:
        writer.writerow([_csv_cell(v) for v in record])
    return buffer.getvalue()


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str):
        return neutralise_cell(value)
    if isinstance(value, bool):
        # As in JSON, not Python's True/False.
        return "true" if value else "false"
    return "" if value is None else value


def to_csv(rows: Sequence[ScoredRow], group_columns: Sequence[str]) -> str:
    columns = _flat_columns(rows, group_columns)
    return table_to_csv(columns, (_flat_values(row, columns, group_columns) for row in rows))


def _markdown_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def table_to_markdown(header: Sequence[str], records: Iterable[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(_markdown_cell(c) for c in header) + " |",
        "|" + "---|" * len(header),
    ]
    for record in records:
        lines.append("| " + " | ".join(_markdown_cell(c) for c in record) + " |")
    return "\n".join(lines) + "\n"


def interval_text(low: float, high: float, digits: int) -> str:
    """``12.3 to 45.6``; a single "–" where there is no interval (no answers, or a mean of
    one answer, whose t interval needs two)."""
    if math.isnan(low) and math.isnan(high):
        return "–"
    return f"{format_value(low, digits)} to {format_value(high, digits)}"


def to_markdown(
    rows: Sequence[ScoredRow],
    digits: int = 1,
    skipped: Mapping[str, Any] | None = None,
    group_columns: Sequence[str] | None = None,
) -> str:
    """The table; with ``skipped``, a line after it (a blank line apart, so no renderer
    reads it as one more row) saying how many answers were blank or invalid."""
    level = rows[0].result.level if rows else 0.95
    header = ["group", "value", f"{level:.0%} interval", "n", "bands", "note"]
    records = [
        [
            group_label(row.group, group_columns),
            format_value(row.result.value, digits),
            interval_text(row.result.ci_low, row.result.ci_high, digits),
            str(row.result.n),
            band_text(row.result.counts),
            "too small to read" if row.result.too_small else "",
        ]
        for row in rows
    ]
    text = table_to_markdown(header, records)
    if skipped is not None:
        text += f"\nSkipped: {_markdown_cell(skipped_text(skipped))}.\n"
    return text


def skipped_notes(skipped: Mapping[str, Any]) -> list[str]:
    """What was not scored, in words; empty when every answer was scored."""
    notes: list[str] = []
    if skipped.get("blank"):
        notes.append(f"{_answers(skipped['blank'], 'blank')} not scored")
    if skipped.get("invalid"):
        notes.append(
            f"{_answers(skipped['invalid'], 'invalid')} skipped "
            f"(values {', '.join(str(v) for v in skipped.get('invalid_values', []))}; "
            f"lines {', '.join(str(n) for n in skipped.get('invalid_lines', []))})"
        )
    return notes


def _answers(count: int, kind: str) -> str:
    return f"{count} {kind} answer{'' if count == 1 else 's'}"


def skipped_text(skipped: Mapping[str, Any]) -> str:
    return "; ".join(skipped_notes(skipped)) or "no blank or invalid answers"


def _side_cells(prefix: str, side: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("value", "ci_low", "ci_high", "n", "too_small")
    return {f"{prefix}_{key}": side.get(key) for key in keys}


def comparison_record(
    comparison: Comparison, column: str, a_label: str, b_label: str
) -> dict[str, Any]:
    """One flat row per comparison, so several runs stack into one sheet."""
    data = comparison.to_dict()
    extra = {key: data[key] for key in comparison.extra}
    return {
        "metric": data["metric"],
        "column": column,
        "a": a_label,
        "b": b_label,
        **_side_cells("a", data["a"]),
        **_side_cells("b", data["b"]),
        "difference": data["difference"],
        "ci_low": data["ci_low"],
        "ci_high": data["ci_high"],
        "level": data["level"],
        "p_value": data["p_value"],
        "significant": data["significant"],
        "verdict": data["verdict"],
        "method": data["method"],
        **extra,
    }


def comparison_to_csv(comparison: Comparison, column: str, a_label: str, b_label: str) -> str:
    record = comparison_record(comparison, column, a_label, b_label)
    return table_to_csv(list(record), [list(record.values())])


def comparison_to_markdown(
    comparison: Comparison,
    column: str,
    a_label: str,
    b_label: str,
    digits: int = 1,
    skipped: Mapping[str, Any] | None = None,
) -> str:
    """Both sides and their difference (B - A), one row each; with ``skipped``, a line after
    the table saying how many answers were blank or invalid (as ``to_markdown``)."""
    header = ["", "value", f"{comparison.level:.0%} interval", "n", "note"]
    records = [
        [
            f"{column}={label}",
            format_value(side.value, digits),
            interval_text(side.ci_low, side.ci_high, digits),
            str(side.n),
            "too small to read" if side.too_small else "",
        ]
        for label, side in ((a_label, comparison.a), (b_label, comparison.b))
    ]
    records.append(
        [
            "difference (B - A)",
            format_value(comparison.difference, digits),
            interval_text(comparison.ci_low, comparison.ci_high, digits),
            "",
            f"p = {comparison.p_value:.4g}, {comparison.verdict} ({comparison.method})",
        ]
    )
    text = table_to_markdown(header, records)
    if skipped is not None:
        text += f"\nSkipped: {_markdown_cell(skipped_text(skipped))}.\n"
    return text


def document_head(metric: str, spec: MetricSpec) -> dict[str, Any]:
    """The fields before ``rows`` in every score document: the CLI's and reports' (here) and
    the metrics API's answer."""
    return {
        "metric": metric,
        "level": spec.level,
        "scale": spec.scale.name,
        "thresholds": {
            "top_min": spec.thresholds.top_min,
            "bottom_max": spec.thresholds.bottom_max,
        },
        "min_n": spec.min_n,
    }


def document(
    metric: str,
    spec: MetricSpec,
    rows: Iterable[ScoredRow],
    skipped: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        **document_head(metric, spec),
        "rows": [row.to_dict() for row in rows],
        "skipped": dict(skipped),
    }
