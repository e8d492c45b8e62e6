"""Benchmark: ``cxpulse score`` on 10 million answers against a pandas script and DuckDB.

What it measures: NPS with its 95% interval for every (month, segment_a, segment_b) group of
10 million synthetic survey answers, computed by

1. ``cxpulse score responses.parquet --metric nps ... --period month --format json``,
2. ``python -c`` running the bare DuckDB histogram query on the same file (``GROUP BY
   segment_a, segment_b, month, score -> count(*)``, every row fetched): the floor any
   program built on DuckDB pays, so cxpulse's own cost (start-up, checks, intervals, JSON)
   is the ratio of the two (target: at most 1.3, the median of the pairs of one round),
3. ``bench/pandas_nps.py responses.parquet`` - the same job as a typical analyst writes it
   in pandas (read the file, groupby, apply a Python function per group),
4. ``cxpulse score responses.csv ... --date-format '%d/%m/%Y %H:%M'``,
5. ``bench/pandas_nps.py responses.csv --date-format ...`` (slow; fewer runs, or skipped).

Every command runs as a whole process (start-up time counts): wall time from
``time.perf_counter`` around the child, peak resident memory of that child from ``os.wait4``.
The commands alternate within each round so that drifts of the machine hit all of them alike.
Before the timed rounds each command runs once untimed (a warm-up that also fills the page
cache and the bytecode cache) and its JSON output is kept to check that cxpulse and pandas
agree: same groups, same n, NPS values within 1e-9, interval ends within 5e-5 of the
half-width (pandas_nps.py uses z = 1.96, cxpulse the exact quantile). The pandas CSV command
has no warm-up; its first timed run writes its output to a file instead of /dev/null.

The machine may be shared: before each timed run the script waits (up to --quiet-wait s)
until other processes use under 15% of the CPUs, and it reports, per command, the child's CPU
time and how much of the CPUs other processes used during its runs, so that a noisy result
can be recognised. Children run with bytecode caching on (PYTHONPYCACHEPREFIX=DATA_DIR/pycache,
PYTHONDONTWRITEBYTECODE removed), as after a normal install; --as-is-env turns that off.

Run from the repository root, with the project's virtual environment::

    .venv/bin/python bench/score_files.py                      # 10M rows, 5 runs each
    .venv/bin/python bench/score_files.py --pandas-csv-runs 1  # one pandas CSV run
    .venv/bin/python bench/score_files.py --skip-csv-pandas    # no pandas CSV run at all
    .venv/bin/python bench/score_files.py --rows 1000000 --runs 3
    .venv/bin/python bench/score_files.py --runs 9 --skip-pandas --skip-csv  # cxpulse vs DuckDB

The data is generated once with DuckDB SQL (deterministic hashes of the row number, so the same
--rows always gives the same files) and cached in --data-dir (bench/data/, git-ignored), with
``responses.meta.json`` recording how it was made; ``--regenerate`` forces a rebuild.

The script prints a Markdown table (min / median / max seconds, median CPU seconds, peak MB
where MB is 10^6 bytes, speed-up against pandas, other processes' CPU use), the targets
with PASS/FAIL and the machine it ran on. It exits 0 when every command ran and their outputs
agree, even if a target is missed (it measures, it does not judge); it exits 1 when a command
fails or the outputs disagree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
PANDAS_SCRIPT = BENCH / "pandas_nps.py"

DATE_FORMAT = "%d/%m/%Y %H:%M"
GENERATOR_VERSION = 1
SEED = 20_240_602
START = "2023-01-01 00:00:00"
DAYS = 731  # 2023 and 2024
SEGMENT_A_VALUES = 10
SEGMENT_B_VALUES = 50
# Share (%) of the answers 0..10: a realistic NPS survey, 55% promoters, 20% detractors.
SCORE_SHARES = (2.0, 1.0, 1.5, 2.0, 2.5, 5.0, 6.0, 10.0, 15.0, 22.0, 33.0)
BLANK_EVERY = 50  # one answer in 50 is left blank: ~2% NULL

TARGET_PARQUET_SPEEDUP = 5.0
TARGET_PARQUET_SECONDS = 1.0
TARGET_CSV_SECONDS = 6.0
TARGET_PEAK_MB = 1500.0
TARGET_DUCKDB_RATIO = 1.3
VALUE_TOLERANCE = 1e-9
# pandas_nps.py uses z = 1.96, cxpulse the exact 1.959964...: their interval ends differ by
# 1.8e-5 of the half-width, so ends are checked relative to the half-width, not to 1e-9.
INTERVAL_RELATIVE_TOLERANCE = 5e-5


# --------------------------------------------------------------------------- data


def _score_sql(u: str) -> str:
    """CASE expression mapping a uniform draw ``u`` in [0, 100) to a 0..10 answer."""
    cases = []
    cumulative = 0.0
    for answer, share in enumerate(SCORE_SHARES[:-1]):
        cumulative += share
        cases.append(f"WHEN {u} < {cumulative:.6f} THEN {answer}")
    return f"CASE {' '.join(cases)} ELSE {len(SCORE_SHARES) - 1} END"


def _generate_sql(rows: int) -> str:
    """Deterministic answers from hashes of the row number: same rows, same files."""
    minutes = DAYS * 24 * 60

    def h(stream: int) -> str:
        return f"hash(i, {SEED}, {stream})"

    # Segment a shifts the answers a little so groups really differ; segment b is skewed,
    # so some groups are large and some small, as in real exports.
    shifted = "least(99.9999, greatest(0.0, u + 6.0 * (a - 4.5) / 4.5))"
    return f"""
        CREATE TABLE responses AS
        WITH draws AS (
            SELECT
                i,
                ({h(1)} % 1000000) / 10000.0 AS u,
                ({h(2)} % {SEGMENT_A_VALUES})::INTEGER AS a,
                floor({SEGMENT_B_VALUES} * pow(({h(3)} % 1000000) / 1000000.0, 1.5))::INTEGER AS b,
                {h(4)} % {BLANK_EVERY} = 0 AS blank,
                ({h(5)} % {minutes})::BIGINT AS minute
            FROM range({rows}) AS t(i)
        )
        SELECT
            CASE WHEN blank THEN NULL ELSE {_score_sql(shifted)} END::INTEGER AS score,
            TIMESTAMP '{START}' + to_minutes(minute) AS answered_at,
            'team_' || lpad(a::VARCHAR, 2, '0') AS segment_a,
            'product_' || lpad(b::VARCHAR, 2, '0') AS segment_b
        FROM draws
        ORDER BY answered_at, i
    """


@dataclass(frozen=True)
class Dataset:
    parquet: Path
    csv: Path
    rows: int
    blank: int


def _meta(rows: int) -> dict[str, Any]:
    return {"generator": GENERATOR_VERSION, "seed": SEED, "rows": rows}


def prepare_data(data_dir: Path, rows: int, regenerate: bool) -> Dataset:
    """Generate responses.parquet and responses.csv unless the cached ones match."""
    data_dir.mkdir(parents=True, exist_ok=True)
    parquet = data_dir / "responses.parquet"
    csv = data_dir / "responses.csv"
    meta_path = data_dir / "responses.meta.json"
    if not regenerate and parquet.exists() and csv.exists() and meta_path.exists():
        stored = json.loads(meta_path.read_text())
        if all(stored.get(k) == v for k, v in _meta(rows).items()):
            print(f"data: cached in {data_dir} ({rows:,} rows)")
            return Dataset(parquet, csv, rows, int(stored["blank"]))

    import duckdb

    print(f"data: generating {rows:,} rows in {data_dir} ...", flush=True)
    started = time.perf_counter()
    meta_path.unlink(missing_ok=True)
    connection = duckdb.connect()
    # A session setting: DuckDB 1.4 no longer takes it as a global option at connect time.
    connection.execute("SET enable_progress_bar = false")
    try:
        connection.execute(_generate_sql(rows))
        blank_row = connection.execute(
            "SELECT count(*) FILTER (WHERE score IS NULL) FROM responses"
        ).fetchone()
        assert blank_row is not None
        blank = int(blank_row[0])
        parquet_tmp = parquet.with_suffix(".parquet.tmp")
        csv_tmp = csv.with_suffix(".csv.tmp")
        connection.execute(f"COPY responses TO '{parquet_tmp}' (FORMAT parquet)")
        connection.execute(
            f"""
            COPY (
                SELECT score, strftime(answered_at, '{DATE_FORMAT}') AS answered_at,
                       segment_a, segment_b
                FROM responses
            ) TO '{csv_tmp}' (FORMAT csv, HEADER)
            """
        )
    finally:
        connection.close()
    parquet_tmp.replace(parquet)
    csv_tmp.replace(csv)
    meta_path.write_text(json.dumps({**_meta(rows), "blank": blank}, indent=2) + "\n")
    print(f"data: done in {time.perf_counter() - started:.1f} s ({blank:,} blank answers)")
    return Dataset(parquet, csv, rows, blank)


# The bare DuckDB histogram query cxpulse is held against: the same file, groups and counts,
# every row fetched into Python, nothing else (argv[1] is the Parquet file).
DUCKDB_QUERY = (
    "import sys, duckdb\n"
    'path = sys.argv[1].replace("\'", "\'\'")\n'
    "rows = duckdb.sql(\n"
    "    \"SELECT segment_a, segment_b, date_trunc('month', answered_at) AS month, score, \"\n"
    "    f\"count(*) AS n FROM read_parquet('{path}') GROUP BY ALL\"\n"
    ").fetchall()\n"
    "print(len(rows))\n"
)


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Run:
    seconds: float  # wall time of the whole process
    cpu_seconds: float  # user + system time of the child
    peak_mb: float  # peak resident set of the child, 10^6 bytes
    others: float | None  # share of the machine's CPUs busy with other processes meanwhile


@dataclass
class Job:
    key: str
    label: str
    argv: list[str]
    runs: int
    warm_up: bool = True
    runs_done: list[Run] = field(default_factory=list)
    output: Path | None = None
    error: str | None = None

    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs_done)

    def peak(self) -> float:
        return max(r.peak_mb for r in self.runs_done)


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux), else None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal ...
    values = [int(v) for v in fields]
    busy = sum(values) - values[3] - (values[4] if len(values) > 4 else 0)
    return busy / os.sysconf("SC_CLK_TCK")


def wait_until_quiet(limit: float, threshold: float = 0.15) -> float | None:
    """Wait (at most ``limit`` s) until other processes use under ``threshold`` of the CPUs.

    The machine is shared: a test suite started by someone else doubles every time. Returns
    the busy share seen last (None when it cannot be measured).
    """
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


def run_once(
    argv: Sequence[str], stdout: Path | None, stderr: Path, env: Mapping[str, str]
) -> tuple[Run, int]:
    """Run one whole process; wall time around it, its CPU time and peak RSS from wait4."""
    with (
        open(stdout if stdout is not None else os.devnull, "wb") as out,
        open(stderr, "wb") as err,
    ):
        busy_before = _busy_seconds()
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, cwd=REPO, env=dict(env))
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        busy_after = _busy_seconds()
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    others = None
    if busy_before is not None and busy_after is not None and seconds > 0:
        others = max(0.0, (busy_after - busy_before - cpu) / (seconds * _cpus()))
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    peak_bytes = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return Run(seconds, cpu, peak_bytes / 1e6, others), process.returncode


def _tail(path: Path, lines: int = 4) -> str:
    text = path.read_text(errors="replace").rstrip().splitlines()
    return "\n".join("    " + line for line in text[-lines:])


def _describe(run: Run) -> str:
    others = "" if run.others is None else f", others used {run.others:.0%} of the CPUs"
    return f"{run.seconds:.3f} s (CPU {run.cpu_seconds:.2f} s), {run.peak_mb:.0f} MB{others}"


def run_jobs(jobs: Sequence[Job], work: Path, env: Mapping[str, str], quiet_wait: float) -> None:
    """Warm-up (and output) runs, then rounds in which the commands alternate."""
    stderr = work / "stderr.txt"
    for job in jobs:
        if not job.warm_up or job.runs == 0:
            continue
        job.output = work / f"{job.key}.json"
        print(f"warm-up {job.label} ...", flush=True)
        run, code = run_once(job.argv, job.output, stderr, env)
        if code != 0:
            job.error = f"exit code {code}\n{_tail(stderr)}"
            print(f"  FAILED ({job.error})", flush=True)
        else:
            print(f"  {_describe(run)} (untimed)", flush=True)
    for round_number in range(max(j.runs for j in jobs)):
        for job in jobs:
            if job.error is not None or round_number >= job.runs:
                continue
            capture = None
            if job.output is None:
                job.output = capture = work / f"{job.key}.json"
            if quiet_wait > 0:
                waited = time.monotonic()
                share = wait_until_quiet(quiet_wait)
                waited = time.monotonic() - waited
                if share is not None and waited > 1.5:
                    print(
                        f"  (waited {waited:.0f} s for a quieter machine; others now use "
                        f"{share:.0%} of the CPUs)",
                        flush=True,
                    )
            run, code = run_once(job.argv, capture, stderr, env)
            if code != 0:
                job.error = f"exit code {code}\n{_tail(stderr)}"
                print(f"run {round_number + 1} {job.label}: FAILED ({job.error})", flush=True)
                continue
            job.runs_done.append(run)
            print(f"run {round_number + 1}/{job.runs} {job.label}: {_describe(run)}", flush=True)


def child_environment(data_dir: Path, as_is: bool) -> dict[str, str]:
    """The children's environment: bytecode cached as on a normal install, outside src/.

    With PYTHONDONTWRITEBYTECODE set (as in some sandboxes and CI images) every start would
    recompile cxpulse's own modules; PYTHONPYCACHEPREFIX keeps the cache in the data folder so
    that nothing is written next to the sources. pandas and cxpulse are treated alike.
    """
    env = dict(os.environ)
    if not as_is:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(data_dir / "pycache")
    return env


# --------------------------------------------------------------------------- checks


GroupKey = frozenset[str]


def _rows_by_group(path: Path) -> tuple[dict[GroupKey, Mapping[str, Any]], Mapping[str, Any]]:
    """Rows keyed by their set of group values ('team_03', 'product_12', '2023-05').

    Keyed by values, not column names, so the check does not depend on what cxpulse calls its
    period column or in which order it lists the group columns.
    """
    document = json.loads(path.read_text())
    rows: dict[GroupKey, Mapping[str, Any]] = {}
    for row in document["rows"]:
        rows[frozenset(str(v) for v in row["group"].values())] = row
    return rows, document


def _difference(a: Any, b: Any) -> float:
    if a is None or b is None:
        return 0.0 if a is None and b is None else math.inf
    return abs(float(a) - float(b))


def compare_outputs(left: Job, right: Job, dataset: Dataset) -> list[str]:
    """Problems found between two outputs (empty when they agree); prints a summary."""
    assert left.output is not None
    assert right.output is not None
    a_rows, a_doc = _rows_by_group(left.output)
    b_rows, _ = _rows_by_group(right.output)
    problems: list[str] = []
    if len(a_rows) != len(b_rows):
        problems.append(f"{len(a_rows)} rows against {len(b_rows)}")
    only = a_rows.keys() ^ b_rows.keys()
    if only:
        problems.append(
            f"{len(only)} groups in only one output, such as {sorted(next(iter(only)))}"
        )
    common = a_rows.keys() & b_rows.keys()
    worst_value = max(
        (_difference(a_rows[k]["value"], b_rows[k]["value"]) for k in common), default=0.0
    )
    worst_interval = 0.0  # largest |difference| of an interval end, relative to half-width
    for k in common:
        low, high = a_rows[k]["ci_low"], a_rows[k]["ci_high"]
        half = abs(float(high) - float(low)) / 2 if low is not None and high is not None else 0.0
        for end in ("ci_low", "ci_high"):
            difference = _difference(a_rows[k][end], b_rows[k][end])
            if difference > VALUE_TOLERANCE:
                worst_interval = max(worst_interval, difference / half if half else math.inf)
    n_mismatch = sum(1 for k in common if a_rows[k]["n"] != b_rows[k]["n"])
    if worst_value > VALUE_TOLERANCE:
        problems.append(f"NPS values differ by up to {worst_value:.3g}")
    if worst_interval > INTERVAL_RELATIVE_TOLERANCE:
        problems.append(f"interval ends differ by up to {worst_interval:.3g} of the half-width")
    if n_mismatch:
        problems.append(f"{n_mismatch} groups with different n")
    overall = a_rows.get(frozenset())
    if overall is not None and overall["n"] != dataset.rows - dataset.blank:
        problems.append(f"overall n {overall['n']} but {dataset.rows - dataset.blank} answers")
    blank = a_doc.get("skipped", {}).get("blank")
    if blank is not None and blank != dataset.blank:
        problems.append(f"{blank} blanks reported but the data has {dataset.blank}")
    # Shown: the overall row, the smallest, a middle-sized and the largest group.
    by_size = sorted((k for k in common if k), key=lambda k: (a_rows[k]["n"], sorted(k)))
    samples = [k for k in common if not k]
    if by_size:
        samples += [by_size[0], by_size[len(by_size) // 2], by_size[-1]]
    shown = "; ".join(
        f"{'/'.join(sorted(k)) or 'overall'} (n={a_rows[k]['n']}): "
        f"{a_rows[k]['value']:.6f} vs {b_rows[k]['value']:.6f}"
        for k in samples
    )
    verdict = "agree" if not problems else "DISAGREE: " + "; ".join(problems)
    print(
        f"- {left.label} vs {right.label}: {len(a_rows)} vs {len(b_rows)} rows "
        f"(overall + groups), max |Δ value| {worst_value:.2g}, max |Δ interval end| "
        f"{worst_interval:.2g} of the half-width, "
        f"n equal in {len(common) - n_mismatch}/{len(common)} -> {verdict}"
    )
    print(f"  e.g. {shown}")
    return problems


# --------------------------------------------------------------------------- report


def _seconds(job: Job) -> tuple[str, str, str]:
    if not job.runs_done:
        return ("–", "–", "–")
    times = [r.seconds for r in job.runs_done]
    return (f"{min(times):.3f}", f"{statistics.median(times):.3f}", f"{max(times):.3f}")


def print_table(jobs: Sequence[Job], baselines: Mapping[str, str]) -> None:
    by_key = {job.key: job for job in jobs}
    print(
        "| command | runs | min s | median s | max s | median CPU s | peak MB "
        "| speed-up vs pandas | others' CPU use |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for job in jobs:
        if job.runs == 0:
            continue
        low, middle, high = _seconds(job)
        peak = f"{job.peak():.0f}" if job.runs_done else "–"
        ratio = "–"
        base = by_key.get(baselines.get(job.key, ""))
        if job.key.startswith("pandas") and job.runs_done:
            ratio = "1.00x (baseline)"
        elif base is not None and base.runs_done and job.runs_done:
            ratio = f"{base.median() / job.median():.2f}x"
        label = job.label if job.error is None else f"{job.label} (FAILED)"
        cpu = others = "–"
        if job.runs_done:
            cpu = f"{statistics.median(r.cpu_seconds for r in job.runs_done):.2f}"
            shares = [r.others for r in job.runs_done if r.others is not None]
            if shares:
                others = f"{statistics.median(shares):.0%} (max {max(shares):.0%})"
        print(
            f"| {label} | {len(job.runs_done)} | {low} | {middle} | {high} | {cpu} | {peak} "
            f"| {ratio} | {others} |"
        )


def _target(name: str, ok: bool | None, measured: str) -> str:
    verdict = "n/a" if ok is None else ("PASS" if ok else "FAIL")
    return f"| {name} | {measured} | **{verdict}** |"


def paired_ratio(a: Job, b: Job) -> float | None:
    """Median of ``a``/``b`` over the rounds both ran in (they alternate within a round)."""
    if not a.runs_done or len(a.runs_done) != len(b.runs_done):
        return None
    pairs = zip(a.runs_done, b.runs_done, strict=True)
    return statistics.median(x.seconds / y.seconds for x, y in pairs)


def print_targets(jobs: Mapping[str, Job]) -> bool:
    cx_parquet, pd_parquet, cx_csv, bare = (
        jobs["cxpulse-parquet"],
        jobs["pandas-parquet"],
        jobs["cxpulse-csv"],
        jobs["duckdb-parquet"],
    )
    lines = []
    results: list[bool | None] = []

    def add(name: str, ok: bool | None, measured: str) -> None:
        results.append(ok)
        lines.append(_target(name, ok, measured))

    ratio = paired_ratio(cx_parquet, bare)
    name = f"Parquet: cxpulse at most {TARGET_DUCKDB_RATIO:g}x the bare DuckDB query"
    if ratio is not None:
        add(
            f"{name} (median of the pairs)",
            ratio <= TARGET_DUCKDB_RATIO,
            f"{ratio:.2f}x ({cx_parquet.median():.3f} s vs {bare.median():.3f} s, medians)",
        )
    else:
        add(name, None, "not run")

    if cx_parquet.runs_done and pd_parquet.runs_done:
        speedup = pd_parquet.median() / cx_parquet.median()
        add(
            f"Parquet: cxpulse >= {TARGET_PARQUET_SPEEDUP:g}x faster than pandas (medians)",
            speedup >= TARGET_PARQUET_SPEEDUP,
            f"{speedup:.2f}x ({cx_parquet.median():.3f} s vs {pd_parquet.median():.3f} s)",
        )
    else:
        add(f"Parquet: cxpulse >= {TARGET_PARQUET_SPEEDUP:g}x faster than pandas", None, "not run")
    if cx_parquet.runs_done:
        add(
            f"Parquet: cxpulse under a second (median < {TARGET_PARQUET_SECONDS:g} s)",
            cx_parquet.median() < TARGET_PARQUET_SECONDS,
            f"{cx_parquet.median():.3f} s",
        )
    else:
        add("Parquet: cxpulse under a second", None, "not run")
    if cx_csv.runs_done:
        add(
            f"CSV: cxpulse at most {TARGET_CSV_SECONDS:g} s (median; max in table)",
            cx_csv.median() <= TARGET_CSV_SECONDS,
            f"{cx_csv.median():.3f} s (max {max(r.seconds for r in cx_csv.runs_done):.3f} s)",
        )
    else:
        add(f"CSV: cxpulse at most {TARGET_CSV_SECONDS:g} s", None, "not run")
    for job in (cx_parquet, cx_csv):
        kind = "Parquet" if job is cx_parquet else "CSV"
        if job.runs_done:
            add(
                f"{kind}: cxpulse peak memory at most {TARGET_PEAK_MB / 1000:g} GB",
                job.peak() <= TARGET_PEAK_MB,
                f"{job.peak():.0f} MB",
            )
        else:
            add(
                f"{kind}: cxpulse peak memory at most {TARGET_PEAK_MB / 1000:g} GB", None, "not run"
            )
    print("| target | measured | result |")
    print("|---|---|---|")
    for line in lines:
        print(line)
    return all(r is True for r in results)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' + uncommitted changes in src/' if dirty else ''}"


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def source_fingerprint() -> str:
    """Short hash of src/: others edit it while benchmarks run, so say which code was timed."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "src").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def print_machine(env: Mapping[str, str], load_before: str, sources: tuple[str, str]) -> None:
    print(
        f"- nproc: {_cpus()} (cpu_count {os.cpu_count()}); CPU: {_cpu_model()}; RAM: {_memory_gb()}"
    )
    print(f"- Python {platform.python_version()} ({sys.executable}); {platform.platform()}")
    print(
        f"- cxpulse {_version('cxpulse')} at {_git_revision()}; duckdb {_version('duckdb')}, "
        f"pyarrow {_version('pyarrow')}, pandas {_version('pandas')}, numpy {_version('numpy')}"
    )
    print(f"- load average (1, 5, 15 min) before: {load_before}; after: {_load_average()}")
    if sources[0] == sources[1]:
        print(f"- src/ fingerprint {sources[0]}, unchanged during the run")
    else:
        print(
            f"- WARNING: src/ CHANGED during the run ({sources[0]} -> {sources[1]}): "
            "the runs did not all time the same code"
        )
    cache = env.get("PYTHONPYCACHEPREFIX")
    if cache:
        print(f"- children run with bytecode cached in {cache} (PYTHONPYCACHEPREFIX)")
    elif env.get("PYTHONDONTWRITEBYTECODE"):
        print("- children run with PYTHONDONTWRITEBYTECODE set: modules compiled at every start")


# --------------------------------------------------------------------------- main


def _cxpulse_executable() -> str:
    beside = Path(sys.executable).parent / "cxpulse"
    return str(beside if beside.exists() else REPO / ".venv" / "bin" / "cxpulse")


def build_jobs(dataset: Dataset, args: argparse.Namespace) -> list[Job]:
    cxpulse = _cxpulse_executable()
    common = ["--metric", "nps", "--score", "score", "--by", "segment_a", "--by", "segment_b"]
    common += ["--date", "answered_at", "--period", "month", "--format", "json"]
    pandas = [sys.executable, str(PANDAS_SCRIPT)]
    date_format = ["--date-format", DATE_FORMAT]
    csv_pandas_runs = 0 if args.skip_csv_pandas or args.skip_pandas else args.pandas_csv_runs
    if args.skip_csv:
        csv_pandas_runs = 0
    return [
        Job(
            "cxpulse-parquet",
            "cxpulse score (Parquet)",
            [cxpulse, "score", str(dataset.parquet), *common],
            args.runs,
        ),
        Job(
            "duckdb-parquet",
            "bare DuckDB query (Parquet)",
            [sys.executable, "-c", DUCKDB_QUERY, str(dataset.parquet)],
            args.runs,
        ),
        Job(
            "pandas-parquet",
            "pandas script (Parquet)",
            [*pandas, str(dataset.parquet)],
            0 if args.skip_pandas else args.runs,
        ),
        Job(
            "cxpulse-csv",
            "cxpulse score (CSV)",
            [cxpulse, "score", str(dataset.csv), *common, *date_format],
            0 if args.skip_csv else args.runs,
        ),
        Job(
            "pandas-csv",
            "pandas script (CSV)",
            [*pandas, str(dataset.csv), *date_format],
            csv_pandas_runs,
            warm_up=False,
        ),
    ]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time `cxpulse score --metric nps` against a pandas script.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=10_000_000, help="answers to generate")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command")
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data", help="cache of the data")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the data files")
    parser.add_argument("--skip-csv-pandas", action="store_true", help="do not run pandas on CSV")
    parser.add_argument("--skip-pandas", action="store_true", help="do not run pandas at all")
    parser.add_argument("--skip-csv", action="store_true", help="do not time the CSV file")
    parser.add_argument(
        "--pandas-csv-runs",
        type=int,
        default=None,
        help="timed runs of the slow pandas CSV command (default: --runs)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="before each timed run, wait up to this many seconds for other processes to "
        "leave the CPUs (under 15%% busy); 0 to never wait",
    )
    parser.add_argument(
        "--as-is-env",
        action="store_true",
        help="run the children in this environment unchanged (by default bytecode caching "
        "is turned on, into DATA_DIR/pycache)",
    )
    args = parser.parse_args(argv)
    if args.rows < 1 or args.runs < 1:
        parser.error("--rows and --runs must be at least 1")
    if args.pandas_csv_runs is None:
        args.pandas_csv_runs = args.runs
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = _load_average()
    source_before = source_fingerprint()
    data_dir = args.data_dir.resolve()
    # Generate in a process of its own: a child forked from a process that has just held the
    # data in DuckDB reports that memory as its own peak (ru_maxrss counts the pre-exec copy).
    builder = multiprocessing.get_context("spawn").Process(
        target=prepare_data, args=(data_dir, args.rows, args.regenerate)
    )
    builder.start()
    builder.join()
    if builder.exitcode != 0:
        print("data: generating the files failed (see above)", file=sys.stderr)
        return 1
    dataset = prepare_data(data_dir, args.rows, False)
    env = child_environment(data_dir, args.as_is_env)
    print(
        f"data: {dataset.parquet.name} {dataset.parquet.stat().st_size / 1e6:.0f} MB, "
        f"{dataset.csv.name} {dataset.csv.stat().st_size / 1e6:.0f} MB\n"
    )
    jobs = build_jobs(dataset, args)
    by_key = {job.key: job for job in jobs}
    with tempfile.TemporaryDirectory(prefix="cxpulse-bench-") as folder:
        run_jobs(jobs, Path(folder), env, args.quiet_wait)
        print("\n### Do the outputs agree?\n")
        problems: list[str] = []
        pairs = [
            ("cxpulse-parquet", "pandas-parquet"),
            ("cxpulse-csv", "cxpulse-parquet"),
            ("cxpulse-csv", "pandas-csv"),
        ]
        for left_key, right_key in pairs:
            left, right = by_key[left_key], by_key[right_key]
            if left.error is None and right.error is None and left.output and right.output:
                problems += compare_outputs(left, right, dataset)

    failed = [job for job in jobs if job.error is not None]
    print(f"\n### Results: {dataset.rows:,} answers, {args.runs} timed runs per command\n")
    print_table(jobs, {"cxpulse-parquet": "pandas-parquet", "cxpulse-csv": "pandas-csv"})
    print(
        "\nTimes are wall seconds of the whole process (start-up included); CPU s is the "
        "child's user + system time; peak MB is its peak resident set (ru_maxrss, 10^6 bytes); "
        "speed-up = pandas median / median; others' CPU use = share of the machine's CPUs that "
        "other processes used during the runs (median, max): above ~10% the times are inflated "
        "by a busy machine.\n"
    )
    all_met = print_targets(by_key)
    print("\n### Machine\n")
    print_machine(env, load_before, (source_before, source_fingerprint()))
    print()
    for job in failed:
        last = (job.error or "").strip().splitlines()[-1].strip()
        print(f"COMMAND FAILED: {job.label}: {last}\n  {shlex.join(job.argv)}")
    if problems:
        print("OUTPUTS DISAGREE: " + "; ".join(problems))
    if not failed and not problems:
        print("All targets met." if all_met else "SOME TARGETS MISSED (see FAIL above).")
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
