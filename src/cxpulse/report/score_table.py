"""Scored groups as rows, and those rows as JSON, CSV or Markdown text.

The JSON row shape is shared by the CLI, the API and reports:
``{"group": {column: value}, "value", "ci_low", "ci_high", "n", "counts", "too_small", ...}``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cxpulse.metrics import Histogram, MetricResult, MetricSpec, merge, score
from cxpulse.metrics.scores import format_value
from cxpulse.report.csv_safety import neutralise_cell


@dataclass(frozen=True)
class ScoredRow:
    group: Mapping[str, str | None]
    result: MetricResult

    def to_dict(self) -> dict[str, Any]:
        return {"group": dict(self.group), **self.result.to_dict()}


def score_groups(
    group_columns: Sequence[str],
    groups: Mapping[tuple[str | None, ...], Histogram],
    spec: MetricSpec,
) -> list[ScoredRow]:
    """One overall row (group ``{}``) first, then one row per group in key order."""
    total = merge(groups.values())
    rows = [ScoredRow({}, score(total, spec))]
    if group_columns:

        def sort_key(key: tuple[str | None, ...]) -> tuple[tuple[bool, str], ...]:
            return tuple((part is None, part or "") for part in key)

        for key in sorted(groups, key=sort_key):
            rows.append(
                ScoredRow(dict(zip(group_columns, key, strict=True)), score(groups[key], spec))
            )
    return rows


def group_label(group: Mapping[str, str | None]) -> str:
    if not group:
        return "overall"
    return ", ".join(
        f"{column}={'(blank)' if value is None else value}" for column, value in group.items()
    )


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
            values.append(row.group.get(column, "(all)" if not row.group else None))
        elif column in row.result.counts:
            values.append(row.result.counts[column])
        else:
            values.append(data.get(column))
    return values


def to_csv(rows: Sequence[ScoredRow], group_columns: Sequence[str]) -> str:
    """Full precision; every text cell neutralised against spreadsheet formula injection."""
    columns = _flat_columns(rows, group_columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralise_cell(c) for c in columns])
    for row in rows:
        writer.writerow(
            [
                neutralise_cell(v) if isinstance(v, str) else ("" if v is None else v)
                for v in _flat_values(row, columns, group_columns)
            ]
        )
    return buffer.getvalue()


def _markdown_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: Sequence[ScoredRow], digits: int = 1) -> str:
    level = rows[0].result.level if rows else 0.95
    header = ["group", "value", f"{level:.0%} interval", "n", "bands", "note"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        result = row.result
        cells = [
            _markdown_cell(group_label(row.group)),
            format_value(result.value, digits),
            f"{format_value(result.ci_low, digits)} to {format_value(result.ci_high, digits)}",
            str(result.n),
            _markdown_cell(band_text(result.counts)),
            "too small to read" if result.too_small else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def document(
    metric: str,
    spec: MetricSpec,
    rows: Iterable[ScoredRow],
    skipped: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "metric": metric,
        "level": spec.level,
        "scale": spec.scale.name,
        "thresholds": {
            "top_min": spec.thresholds.top_min,
            "bottom_max": spec.thresholds.bottom_max,
        },
        "min_n": spec.min_n,
        "rows": [row.to_dict() for row in rows],
        "skipped": dict(skipped),
    }
