"""The file engine's SQL: one aggregate query for the histograms, one to find invalid scores.

The aggregate reads the file once: ``GROUP BY groups, period, score -> count(*)`` (the same
work as a bare DuckDB histogram query), then one row per group over that small result with
the blank and invalid counts and the scores' counts as two lists. Python only sees one row
per group, never the answers themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cxpulse.engine.column_sql import ScoreSql, valid_score_sql
from cxpulse.engine.duck import ident
from cxpulse.engine.errors import MAX_SHOWN
from cxpulse.engine.periods import Period

if TYPE_CHECKING:
    from cxpulse.metrics.scales import Scale

__all__ = ["histogram_sql", "invalid_scores_sql", "period_sql"]


def period_sql(period: Period, when: str) -> tuple[str, str]:
    """SQL: a key for the period that holds ``when`` (a DATE or TIMESTAMP), to group by, and
    the first day of that period as a DATE, from the key ``p``.

    Months, quarters and years are keyed by whole numbers: ``year() * 12 + month()`` costs
    less per row than ``date_trunc``, and the key becomes a date only once per group.
    """
    if period is Period.DAY:
        return f"CAST({when} AS DATE)", "p"
    if period is Period.WEEK:
        return f"date_trunc('week', {when})", "CAST(p AS DATE)"
    if period is Period.YEAR:
        return f"year({when})", "make_date(p, 1, 1)"
    per_year = 12 if period is Period.MONTH else 4
    number = f"month({when}) - 1" if per_year == 12 else f"(month({when}) - 1) // 3"
    year = f"CAST(floor(p / {per_year}) AS BIGINT)"
    first_month = f"(p - {per_year} * {year}) * {12 // per_year} + 1"
    return f"year({when}) * {per_year} + {number}", f"make_date({year}, {first_month}, 1)"


def histogram_sql(
    from_item: str,
    *,
    score: ScoreSql,
    by_columns: Sequence[str],
    period: Period | None,
    when: str | None,
    scale: Scale,
) -> str:
    """The aggregate query: one row per group, sorted by key with missing keys last.

    Its columns: the ``by`` values as text, then the first day of the period (when a
    ``period`` of ``when`` is asked), then the group's rows, blank answers and invalid
    answers, then the list of its valid scores (ascending whole numbers) and the list of
    their counts.
    """
    valid = valid_score_sql("s", scale)
    keys = [f"k{i}" for i in range(len(by_columns))]
    selects = [f"{ident(name)} AS {key}" for name, key in zip(by_columns, keys, strict=True)]
    counted = list(keys)
    outer = [f"CAST({key} AS VARCHAR)" for key in keys]
    if period is not None and when is not None:
        period_key, first_day = period_sql(period, "w")
        selects.append(f"{when} AS w")
        counted.append(f"{period_key} AS p")
        keys.append("p")
        outer.append(first_day)
    selects.append(f"{score.value} AS s")
    group_by = " GROUP BY ALL" if keys else ""
    # Count per (group, score) in one pass over the file, then one row per group over that
    # small result: the blank and invalid counts and the valid scores' counts as lists.
    counts = f"SELECT {', '.join([*counted, 's'])}, count(*) AS n FROM cx_rows GROUP BY ALL"
    grouped = (
        f"SELECT {', '.join([*keys, 'sum(n) AS cx_rows'])}, "
        "coalesce(sum(n) FILTER (WHERE s IS NULL), 0) AS cx_blank, "
        f"coalesce(sum(n) FILTER (WHERE s IS NOT NULL AND NOT ({valid})), 0) AS cx_invalid, "
        f"list(TRY_CAST(s AS BIGINT) ORDER BY s) FILTER (WHERE {valid}) AS cx_values, "
        f"list(n ORDER BY s) FILTER (WHERE {valid}) AS cx_counts "
        f"FROM cx_counts{group_by}"
    )
    outer += ["cx_rows", "cx_blank", "cx_invalid", "cx_values", "cx_counts"]
    sql = (
        f"WITH cx_rows AS (SELECT {', '.join(selects)} FROM {from_item}), "
        f"cx_counts AS ({counts}), cx_groups AS ({grouped}) "
        f"SELECT {', '.join(outer)} FROM cx_groups"
    )
    if keys:
        sql += " ORDER BY " + ", ".join(f"{i + 1} NULLS LAST" for i in range(len(keys)))
    return sql


def invalid_scores_sql(from_item: str, score: ScoreSql, scale: Scale) -> str:
    """One row: the first row numbers with an invalid score, and the first distinct invalid
    raw values (one more than shown, to tell whether there are more)."""
    # The raw text is made only for the invalid rows: trimming every row would be slow.
    return (
        "WITH cx_numbered AS (SELECT row_number() OVER () AS cx_rn, "
        f"{score.value} AS cx_s, {score.column} FROM {from_item}), "
        f"cx_bad AS MATERIALIZED (SELECT cx_rn AS rn, {score.raw} AS raw FROM cx_numbered "
        f"WHERE cx_s IS NOT NULL AND NOT ({valid_score_sql('cx_s', scale)})) "
        f"SELECT (SELECT list(rn ORDER BY rn) FROM "
        f"(SELECT rn FROM cx_bad ORDER BY rn LIMIT {MAX_SHOWN})), "
        "(SELECT list(raw ORDER BY first) FROM (SELECT raw, min(rn) AS first FROM cx_bad "
        f"GROUP BY raw ORDER BY first LIMIT {MAX_SHOWN + 1}))"
    )
