"""Baseline of ``bench/score_files.py``: NPS by segment and month, as an analyst writes it.

Reads a Parquet or CSV export, groups by both segments and the month, applies a Python function
that computes NPS and its adjusted-Wald 95% interval to every group, adds the overall row and
prints JSON shaped like ``cxpulse score --format json`` (value and interval in points)::

    python bench/pandas_nps.py bench/data/responses.parquet
    python bench/pandas_nps.py bench/data/responses.csv --date-format '%d/%m/%Y %H:%M'

Deliberately plain: no tuning, no vectorised tricks, no deliberate slowness either.
"""

from __future__ import annotations

import argparse
import json
import math

import pandas as pd

Z = 1.96  # 95%


def nps_with_interval(scores: pd.Series) -> pd.Series:
    """NPS (% promoters - % detractors) and its adjusted-Wald interval (Lewis & Sauro)."""
    n = int(scores.count())
    promoters = int((scores >= 9).sum())
    detractors = int((scores <= 6).sum())
    n_adj = n + 3
    p_adj = (promoters + 0.75) / n_adj
    d_adj = (detractors + 0.75) / n_adj
    se = math.sqrt((p_adj + d_adj - (p_adj - d_adj) ** 2) / n_adj)
    centre = p_adj - d_adj
    return pd.Series(
        {
            "value": (promoters - detractors) / n * 100 if n else math.nan,
            "ci_low": max(-1.0, centre - Z * se) * 100,
            "ci_high": min(1.0, centre + Z * se) * 100,
            "n": n,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file")
    parser.add_argument("--date-format", default=None)
    args = parser.parse_args()

    if args.file.endswith(".parquet"):
        df = pd.read_parquet(args.file)
    else:
        df = pd.read_csv(args.file)
        df["answered_at"] = pd.to_datetime(df["answered_at"], format=args.date_format)

    df = df.dropna(subset=["score"])
    df["month"] = df["answered_at"].dt.to_period("M")

    by_group = df.groupby(["segment_a", "segment_b", "month"])["score"].apply(nps_with_interval)
    table = by_group.unstack().reset_index()
    table["month"] = table["month"].astype(str)
    table["n"] = table["n"].astype(int)

    overall = nps_with_interval(df["score"])
    rows = [{"group": {}, **overall.to_dict(), "n": int(overall["n"])}]
    for record in table.to_dict(orient="records"):
        group = {column: record.pop(column) for column in ["segment_a", "segment_b", "month"]}
        rows.append({"group": group, **record})
    print(json.dumps({"metric": "nps", "level": 0.95, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
