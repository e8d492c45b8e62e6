"""Benchmark: the same histogram query (``engine.portable``) on DuckDB and on Spark local mode,
over N answers in Parquet files.

1. DuckDB writes ``--rows`` answers (default 100,000,000) as Parquet files of ``--chunk``
   rows each into ``--dir`` (default a temporary folder, removed afterwards): an NPS answer
   0-10, one of 8 regions, one of 50 teams, a timestamp over two years.
2. Each engine scores them ``--runs`` times (default 3): NPS by region and month, the whole
   answer set read each time. Reported: the median and best wall time of a run, answers per
   second, and the one-off start-up (DuckDB connection, Spark's JVM and session), which is
   not in the runs.

Spark runs in local mode with one thread per core (``local[N]``, ``--spark-threads``) and
``--spark-memory`` for its driver. Its numbers say what one machine does with Spark's
overheads; what a cluster changes is in docs/engines.md.

Usage: ``.venv/bin/python bench/engine_scale.py [--rows 10000000] [--runs 3] [--dir DIR]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import duckdb

from cxpulse.engine.backends import connect, local_spark_session, read_file
from cxpulse.engine.periods import Period
from cxpulse.engine.portable import histograms_from_table
from cxpulse.metrics import Metric, MetricSpec

SPEC = MetricSpec.default(Metric.NPS)


def generate(folder: Path, rows: int, chunk: int) -> float:
    """Write the answers; the seconds it took."""
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    for number, first in enumerate(range(0, rows, chunk)):
        last = min(rows, first + chunk)
        target = folder / f"part-{number:04d}.parquet"
        if target.exists():
            continue
        con.execute(
            f"""COPY (
                SELECT i AS id,
                       CAST(hash(i) % 11 AS TINYINT) AS ltr,
                       ['EU', 'US', 'UK', 'DE', 'FR', 'JP', 'BR', 'IN']
                           [CAST(hash(i * 7) % 8 AS BIGINT) + 1] AS region,
                       CAST(hash(i * 13) % 50 AS INTEGER) AS team,
                       TIMESTAMP '2025-01-01' + to_seconds(CAST(hash(i * 31) % 63072000
                           AS BIGINT)) AS created
                FROM range({first}, {last}) t(i)
            ) TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)"""
        )
    con.close()
    return time.perf_counter() - started


def score_once(backend: Any, engine: str, folder: Path) -> tuple[float, int]:
    started = time.perf_counter()
    table = read_file(backend, engine, folder)  # type: ignore[arg-type]
    found = histograms_from_table(
        table, score="ltr", scale=SPEC.scale, by=["region"], date="created", period=Period.MONTH
    )
    return time.perf_counter() - started, found.rows


def bench(engine: str, folder: Path, runs: int, threads: int, memory: str) -> dict[str, Any]:
    started = time.perf_counter()
    session = None
    if engine == "spark":
        session = local_spark_session(threads, memory=memory)
    with connect(engine, spark_session=session) as backend:  # type: ignore[arg-type]
        if engine == "duckdb":
            backend.raw_sql(f"SET threads = {threads}")
        startup = time.perf_counter() - started
        times = []
        rows = 0
        for _ in range(runs):
            seconds, rows = score_once(backend, engine, folder)
            times.append(seconds)
    if session is not None:
        session.stop()
    return {"engine": engine, "startup": startup, "times": times, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--chunk", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="keep the files here")
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--spark-threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--spark-memory", default="4g")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    scratch = None
    folder = args.dir
    if folder is None:
        scratch = tempfile.mkdtemp(prefix="cxpulse-engine-scale-")
        folder = Path(scratch)
    try:
        made = generate(folder, args.rows, args.chunk)
        size = sum(f.stat().st_size for f in folder.glob("*.parquet"))
        print(f"{args.rows:,} answers in {folder} ({size / 1e6:,.0f} MB), written in {made:.1f} s")
        print(f"load before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
        results = [
            bench(engine, folder, args.runs, args.spark_threads, args.spark_memory)
            for engine in args.engines.split(",")
        ]
        print(f"load after: {os.getloadavg()[0]:.2f} (1 min)")
        print()
        print("| engine | answers | start-up s | median s | best s | answers/s (median) |")
        print("|---|---:|---:|---:|---:|---:|")
        for result in results:
            median = statistics.median(result["times"])
            print(
                f"| {result['engine']} | {result['rows']:,} | {result['startup']:.1f} | "
                f"{median:.2f} | {min(result['times']):.2f} | {result['rows'] / median:,.0f} |"
            )
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
