"""Benchmark: ``cxpulse import`` of a 1-million-row CSV into SQLite.

Targets: at most 60 s, and at most 500 MB peak memory (resident set of the process).

What it measures, each as a whole process (start-up, migrations and DuckDB included):

1. ``cxpulse import responses.csv --survey support-csat --map ...`` into a fresh SQLite file
   (migrated and holding one organisation and survey before the clock starts): read and
   check in DuckDB, insert in one transaction with idempotency keys, rollups and audit entry;
2. the baseline: this script with ``--baseline``, a plain Python loop that reads the same
   CSV with the ``csv`` module and inserts the same rows with ``sqlite3`` ``executemany`` in
   one transaction into an equally fresh database (same schema and indexes), with no
   validation, no idempotency check and no rollups: the least any importer has to do.

Wall time is ``time.perf_counter`` around the child, CPU time and peak RSS come from
``os.wait4``. Each command runs once untimed first (warm caches), then the commands
alternate for ``--runs`` rounds; before each timed run the script waits (up to
``--quiet-wait`` s) until other processes use under 15% of the CPUs, and reports how much
they used meanwhile. After every cxpulse run it checks the database: as many responses as
rows, and rollups summing to the same.

The data (``bench/data/import_<rows>.csv``, git-ignored) is generated once with DuckDB from
hashes of the row number, so the same ``--rows`` always gives the same file: a response id,
a 1-5 score, a submission time (in time order, as exports are), a channel and, on two rows
out of three, a comment with commas and quotes.

    .venv/bin/python bench/import_csv.py                 # 1,000,000 rows, 3 runs each
    .venv/bin/python bench/import_csv.py --rows 100000 --runs 1

It prints a Markdown table and the targets with PASS/FAIL. It exits 1 when a command fails or
the database does not hold what it should; a missed target is reported, not an error.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CXPULSE = str(Path(sys.executable).parent / "cxpulse")
GENERATOR_VERSION = 1
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 500.0
MAP = "id=response_id,score=score,submitted_at=submitted_at,channel=channel,comment=comment"


# --------------------------------------------------------------------------- data


def prepare_data(data_dir: Path, rows: int, regenerate: bool) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"import_{rows}.csv"
    meta_path = path.with_suffix(".meta.json")
    meta = {"generator": GENERATOR_VERSION, "rows": rows}
    cached = not regenerate and path.exists() and meta_path.exists()
    if cached and json.loads(meta_path.read_text()) == meta:
        print(f"data: cached {path} ({rows:,} rows)")
        return path
    print(f"data: generating {rows:,} rows in {path} ...", flush=True)
    started = time.perf_counter()
    meta_path.unlink(missing_ok=True)
    # In a child process, so that this one stays small: a child's peak memory as wait4
    # reports it includes what it inherited from this process when it was forked.
    _internal("--generate", str(rows), str(path))
    meta_path.write_text(json.dumps(meta) + "\n")
    print(f"data: done in {time.perf_counter() - started:.1f} s")
    return path


def _internal(*args: str) -> None:
    subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], check=True, cwd=REPO)


def generate(rows: int, path: Path) -> None:
    import duckdb

    seconds = 2 * 365 * 24 * 3600
    shares = (
        "CASE WHEN u < 8 THEN 1 WHEN u < 15 THEN 2 WHEN u < 27 THEN 3 WHEN u < 55 THEN 4 ELSE 5 END"
    )
    sql = f"""
        COPY (
            SELECT
                'R_' || lpad(i::VARCHAR, 8, '0') AS response_id,
                {shares} AS score,
                strftime(TIMESTAMP '2023-01-01' + to_seconds((i * {seconds} // {rows})::BIGINT),
                         '%Y-%m-%d %H:%M:%S') AS submitted_at,
                ['email', 'web', 'chat', 'phone'][1 + (hash(i, 2) % 4)::INTEGER] AS channel,
                CASE WHEN hash(i, 3) % 3 = 0 THEN NULL
                     ELSE 'Order ' || (hash(i, 4) % 100000) || ': ' ||
                          ['fast delivery, thanks', 'the "express" option was slow',
                           'friendly support', 'could not log in, had to call twice'
                          ][1 + (hash(i, 5) % 4)::INTEGER]
                END AS comment
            FROM (SELECT i, (hash(i, 1) % 100)::INTEGER AS u FROM range({rows}) t(i))
            ORDER BY i
        ) TO '{path}.tmp' (FORMAT csv, HEADER)
    """
    connection = duckdb.connect()
    try:
        connection.execute(sql)
    finally:
        connection.close()
    Path(f"{path}.tmp").replace(path)


def fresh_database(directory: Path) -> str:
    """A migrated SQLite file with organisation ``acme`` and CSAT survey ``support-csat``."""
    path = directory / "cxpulse.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    _internal("--seed", url)
    return url


def seed(url: str) -> None:
    from cxpulse.store import accounts, surveys
    from cxpulse.store.db import create_engine_for, migrate, session_factory

    engine = create_engine_for(url)
    try:
        migrate(engine)
        with session_factory(engine).begin() as session:
            org = accounts.create_organisation(session, slug="acme", name="Acme")
            surveys.create_survey(
                session, org.id, slug="support-csat", name="Support CSAT", metric="csat"
            )
    finally:
        engine.dispose()  # checkpoints the WAL: the timed run starts from a clean file


def check_database(url: str, rows: int) -> str | None:
    """None when the database holds ``rows`` responses and rollups counting as many."""
    path = url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path)
    try:
        responses = connection.execute("SELECT count(*) FROM responses").fetchone()[0]
        rolled = connection.execute("SELECT coalesce(sum(count), 0) FROM daily_rollups")
        counted = rolled.fetchone()[0]
    finally:
        connection.close()
    if responses != rows or counted != rows:
        return f"{responses:,} responses and {counted:,} in rollups, expected {rows:,}"
    return None


# --------------------------------------------------------------------------- the baseline


def baseline(csv_path: Path, url: str) -> None:
    """Plain csv + sqlite3 executemany, one transaction, no checks: the floor."""
    path = url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    organisation_id, survey_id = connection.execute(
        "SELECT organisation_id, id FROM surveys WHERE slug = 'support-csat'"
    ).fetchone()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    sql = (
        "INSERT INTO responses (organisation_id, survey_id, score, comment, channel, "
        "properties, submitted_at, received_at, source, idempotency_key) "
        "VALUES (?, ?, ?, ?, ?, '{}', ?, ?, 'import', ?)"
    )
    connection.execute("BEGIN")
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch: list[tuple[object, ...]] = []
        for response_id, score, submitted_at, channel, comment in reader:
            batch.append(
                (
                    organisation_id,
                    survey_id,
                    float(score),
                    comment or None,
                    channel or None,
                    submitted_at + ".000000",
                    now,
                    "import:" + response_id,
                )
            )
            if len(batch) == 10_000:
                connection.executemany(sql, batch)
                batch.clear()
        connection.executemany(sql, batch)
    connection.execute("COMMIT")
    connection.close()


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_seconds: float
    peak_mb: float
    others: float | None


@dataclass
class Job:
    key: str
    label: str
    argv: list[str]
    runs_done: list[Run] = field(default_factory=list)
    error: str | None = None

    def median(self) -> float:
        return statistics.median(run.seconds for run in self.runs_done)

    def peak(self) -> float:
        return max(run.peak_mb for run in self.runs_done)


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _busy_seconds() -> float | None:
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    values = [int(value) for value in fields]
    busy = sum(values) - values[3] - (values[4] if len(values) > 4 else 0)
    return busy / os.sysconf("SC_CLK_TCK")


def wait_until_quiet(limit: float, threshold: float = 0.15) -> float | None:
    deadline = time.monotonic() + limit
    while True:
        before = _busy_seconds()
        time.sleep(0.5)
        after = _busy_seconds()
        if before is None or after is None:
            return None
        share = (after - before) / (0.5 * _cpus())
        if share < threshold or time.monotonic() >= deadline:
            return share
        time.sleep(1.0)


def run_once(argv: Sequence[str], env: Mapping[str, str], log: Path) -> tuple[Run, int]:
    with open(os.devnull, "wb") as out, log.open("wb") as err:
        busy_before = _busy_seconds()
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, cwd=REPO, env=dict(env))
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        busy_after = _busy_seconds()
    cpu = usage.ru_utime + usage.ru_stime
    others = None
    if busy_before is not None and busy_after is not None and seconds > 0:
        others = max(0.0, (busy_after - busy_before - cpu) / (seconds * _cpus()))
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return Run(seconds, cpu, peak / 1e6, others), os.waitstatus_to_exitcode(status)


def _describe(run: Run) -> str:
    others = "" if run.others is None else f", others used {run.others:.0%} of the CPUs"
    return f"{run.seconds:.2f} s (CPU {run.cpu_seconds:.1f} s), {run.peak_mb:.0f} MB{others}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=REPO / "bench" / "data")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--quiet-wait", type=float, default=60.0)
    parser.add_argument("--baseline", nargs=2, metavar=("CSV", "URL"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, metavar=("ROWS", "CSV"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        baseline(Path(args.baseline[0]), args.baseline[1])
        return 0
    if args.generate:
        generate(int(args.generate[0]), Path(args.generate[1]))
        return 0
    if args.seed:
        seed(args.seed)
        return 0

    data = prepare_data(args.data_dir, args.rows, args.regenerate)
    jobs = [
        Job(
            "cxpulse",
            "`cxpulse import` (DuckDB checks, one transaction)",
            [CXPULSE, "import", str(data), "--survey", "support-csat", "--map", MAP, "-f", "json"],
        ),
        Job(
            "baseline",
            "baseline: csv + sqlite3 executemany, no checks",
            [sys.executable, str(Path(__file__).resolve()), "--baseline", str(data), "URL"],
        ),
    ]
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(args.data_dir / "pycache")
    failed = False
    with tempfile.TemporaryDirectory(prefix="cxpulse-bench-") as scratch:
        work = Path(scratch)
        for round_number in range(args.runs + 1):
            timed = round_number > 0
            for job in jobs:
                if job.error is not None:
                    continue
                url = fresh_database(work)
                argv = [url if part == "URL" else part for part in job.argv]
                child_env = {**env, "CXPULSE_DATABASE_URL": url}
                if timed and args.quiet_wait > 0:
                    wait_until_quiet(args.quiet_wait)
                run, code = run_once(argv, child_env, work / "stderr.txt")
                label = f"run {round_number}/{args.runs}" if timed else "warm-up"
                if code != 0:
                    tail = (work / "stderr.txt").read_text(errors="replace")[-600:]
                    job.error = f"exit code {code}: {tail}"
                    print(f"{label} {job.key}: FAILED {job.error}", flush=True)
                    failed = True
                    continue
                problem = check_database(url, args.rows) if job.key == "cxpulse" else None
                if problem is not None:
                    job.error = problem
                    print(f"{label} {job.key}: WRONG RESULT {problem}", flush=True)
                    failed = True
                    continue
                print(f"{label} {job.key}: {_describe(run)}", flush=True)
                if timed:
                    job.runs_done.append(run)

    print()
    print(f"Import of {args.rows:,} CSV rows into a fresh SQLite file, {args.runs} runs each:")
    print()
    print("| command | median s | min s | max s | CPU s | peak MB | rows/s | vs baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    base = jobs[1].median() if jobs[1].runs_done else None
    for job in jobs:
        if not job.runs_done:
            print(f"| {job.label} | failed | | | | | | |")
            continue
        seconds = [run.seconds for run in job.runs_done]
        cpu = statistics.median(run.cpu_seconds for run in job.runs_done)
        ratio = f"{job.median() / base:.2f}x" if base else ""
        print(
            f"| {job.label} | {job.median():.2f} | {min(seconds):.2f} | {max(seconds):.2f} | "
            f"{cpu:.1f} | {job.peak():.0f} | {args.rows / job.median():,.0f} | {ratio} |"
        )
    others = [run.others for job in jobs for run in job.runs_done if run.others is not None]
    if others:
        print()
        print(f"Other processes used up to {max(others):.0%} of the CPUs during the runs.")
    cx = jobs[0]
    if cx.runs_done:
        print()
        time_ok = cx.median() <= TARGET_SECONDS
        peak_ok = cx.peak() <= TARGET_PEAK_MB
        print(
            f"- time: median {cx.median():.1f} s, target <= {TARGET_SECONDS:.0f} s: "
            f"{'PASS' if time_ok else 'FAIL'}"
        )
        print(
            f"- memory: peak {cx.peak():.0f} MB, target <= {TARGET_PEAK_MB:.0f} MB: "
            f"{'PASS' if peak_ok else 'FAIL'}"
        )
    print()
    print(
        f"Machine: {platform.platform()}, {_cpus()} CPUs, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
