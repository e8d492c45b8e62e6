"""Benchmark: the largest import a user may send, and the memory it takes.

A 2-million-row responses CSV of just under 50 MB (the API's default upload limit,
``CXPULSE_IMPORT_MAX_MB``) imported through

1. ``cxpulse import`` (the CLI) into a fresh database: the process's wall time and peak
   resident memory;
2. the API upload (``POST /api/v1/surveys/{id}/imports``) to a real ``cxpulse serve`` on a
   fresh database: the request's wall time and the server process's peak resident memory
   (the server, started and stopped for each run, so its peak is the import's).

On SQLite by default; ``--databases sqlite,postgresql`` adds PostgreSQL (``--postgres-url``,
an admin connection: a database is created for each run and dropped afterwards). Peak
memory is ``ru_maxrss`` of the measured process from ``os.wait4``; every process that could
inflate it (the data generator, the upload client) runs apart. Each command runs once
untimed first (warm caches), then ``--runs`` times; the table gives medians. After every run
the database must hold every row and rollups summing to as many, else the script exits 1.

The file (``bench/data/import_memory_<rows>.csv``, git-ignored) is generated with DuckDB from
hashes of the row number, so the same ``--rows`` always gives the same bytes: a score 1-5, a
submission time to the minute over 2023-2024 in time order, a channel (``web``, ``app``,
``sms``) and, on one row in 20, a short comment. It has no response id column, so keys are
content hashes with many repeated rows told apart by rank: the shape that ran DuckDB out of
memory when two threads shared 128 MB (issue 10).

    .venv/bin/python bench/import_memory.py                     # SQLite, 3 runs each
    .venv/bin/python bench/import_memory.py --runs 1 --databases postgresql
    .venv/bin/python bench/import_memory.py --rows 200000 --runs 1 --modes cli
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_submit import free_port, postgres_database
from import_csv import Run, run_once, wait_until_quiet

REPO = Path(__file__).resolve().parent.parent
CXPULSE = str(Path(sys.executable).parent / "cxpulse")
GENERATOR_VERSION = 1
MAX_BYTES = 50_000_000
MAP = "score=score,submitted_at=submitted_at,channel=channel,comment=comment"
SURVEY = "support-csat"


# --------------------------------------------------------------------------- data


def prepare_data(data_dir: Path, rows: int, regenerate: bool) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"import_memory_{rows}.csv"
    meta_path = path.with_suffix(".meta.json")
    meta = {"generator": GENERATOR_VERSION, "rows": rows}
    cached = not regenerate and path.exists() and meta_path.exists()
    if cached and json.loads(meta_path.read_text()) == meta:
        print(f"data: cached {path} ({rows:,} rows, {path.stat().st_size / 1e6:.1f} MB)")
        return path
    print(f"data: generating {rows:,} rows in {path} ...", flush=True)
    meta_path.unlink(missing_ok=True)
    # In a child process, so that this one stays small (a child's peak memory as wait4
    # reports it includes what it inherited from this process).
    _internal("--generate", str(rows), str(path))
    size = path.stat().st_size
    if rows >= 2_000_000 and size > MAX_BYTES:
        raise SystemExit(f"the file is {size:,} bytes, over the {MAX_BYTES:,} the API takes")
    meta_path.write_text(json.dumps(meta) + "\n")
    print(f"data: {size / 1e6:.1f} MB")
    return path


def _internal(*args: str) -> None:
    subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], check=True, cwd=REPO)


def generate(rows: int, path: Path) -> None:
    import duckdb

    minutes = 2 * 365 * 24 * 60
    sql = f"""
        COPY (
            SELECT
                1 + (hash(i, 1) % 5)::INTEGER AS score,
                strftime(TIMESTAMP '2023-01-01' + to_minutes((i * {minutes} // {rows})::BIGINT),
                         '%Y-%m-%d %H:%M') AS submitted_at,
                ['web', 'app', 'sms'][1 + (hash(i, 2) % 3)::INTEGER] AS channel,
                CASE WHEN hash(i, 3) % 20 = 0
                     THEN ['slow', 'great help', 'could not log in'][1 + (hash(i, 4) % 3)::INTEGER]
                END AS comment
            FROM range({rows}) t(i)
            ORDER BY i
        ) TO '{path}.tmp' (FORMAT csv, HEADER)
    """
    connection = duckdb.connect()
    try:
        connection.execute(sql)
    finally:
        connection.close()
    Path(f"{path}.tmp").replace(path)


# --------------------------------------------------------------------------- databases


def seed(url: str, key_file: Path) -> None:
    """Migrate ``url`` and add organisation ``acme``, its CSAT survey and a write API key."""
    from cxpulse.store import accounts, surveys
    from cxpulse.store.db import create_engine_for, migrate, session_factory

    engine = create_engine_for(url)
    try:
        migrate(engine)
        with session_factory(engine).begin() as session:
            org = accounts.create_organisation(session, slug="acme", name="Acme")
            survey = surveys.create_survey(session, org.id, slug=SURVEY, name="S", metric="csat")
            _, key = accounts.create_api_key(session, org.id, name="bench", scope="write")
            key_file.write_text(json.dumps({"key": key, "survey_id": survey.id}))
    finally:
        engine.dispose()


def check(url: str, rows: int) -> str | None:
    """None when the database holds ``rows`` responses and rollups counting as many."""
    from sqlalchemy import func, select

    from cxpulse.store.db import create_engine_for, session_factory
    from cxpulse.store.models import DailyRollup, Response

    engine = create_engine_for(url)
    try:
        with session_factory(engine)() as session:
            stored = session.scalar(select(func.count()).select_from(Response)) or 0
            rolled = session.scalar(select(func.coalesce(func.sum(DailyRollup.count), 0))) or 0
    finally:
        engine.dispose()
    if stored != rows or rolled != rows:
        return f"{stored:,} responses and {rolled:,} in rollups, expected {rows:,}"
    return None


@contextlib.contextmanager
def fresh_database(kind: str, work: Path, postgres: str | None) -> Iterator[str]:
    if kind == "postgresql":
        assert postgres is not None
        with postgres_database(postgres) as url:
            yield url
        return
    path = work / "cxpulse.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    yield f"sqlite:///{path}"


# --------------------------------------------------------------------------- the API


def post_file(port: int, key_file: Path, csv_path: Path) -> None:
    """Upload ``csv_path`` as multipart/form-data, streamed from disk; exit 1 unless 200."""
    fixture = json.loads(key_file.read_text())
    boundary = "cxpulse-bench-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{MAP}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{csv_path.name}"\r\nContent-Type: text/csv\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    connection.putrequest("POST", f"/api/v1/surveys/{fixture['survey_id']}/imports")
    connection.putheader("Authorization", f"Bearer {fixture['key']}")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(len(head) + csv_path.stat().st_size + len(tail)))
    connection.endheaders()
    connection.send(head)
    with csv_path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            connection.send(chunk)
    connection.send(tail)
    answer = connection.getresponse()
    body = answer.read().decode(errors="replace")
    if answer.status != 200:
        raise SystemExit(f"the upload answered {answer.status}: {body[:600]}")


def wait_healthy(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited at start:\n{log.read_text()[-3000:]}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz within 60 s")


def run_api(
    env: dict[str, str], key_file: Path, csv_path: Path | None, log: Path
) -> tuple[Run, int, str]:
    """One upload to a fresh server: the request's wall time, the server's peak memory.
    Without ``csv_path``, the server only starts and answers /healthz: its own peak."""
    port = free_port()
    command = [CXPULSE, "serve", "--port", str(port), "--no-access-log"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_healthy(server, port, log)
        client = [sys.executable, str(Path(__file__).resolve())]
        started = time.perf_counter()
        code, stderr = 0, ""
        if csv_path is not None:
            upload = subprocess.run(
                [*client, "--post", str(port), str(key_file), str(csv_path)],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
            )
            code, stderr = upload.returncode, upload.stderr
        seconds = time.perf_counter() - started
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGINT)
        _, _, usage = os.wait4(server.pid, 0)
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024) / 1e6
    run = Run(seconds, usage.ru_utime + usage.ru_stime, peak, None)
    return run, code, stderr


# --------------------------------------------------------------------------- running


@dataclass
class Job:
    mode: str
    database: str
    runs: list[Run] = field(default_factory=list)
    error: str | None = None

    @property
    def label(self) -> str:
        door = {
            "cli": "`cxpulse import`",
            "api": "API upload to `cxpulse serve`",
            "idle": "`cxpulse serve` started, no upload (its own peak)",
        }[self.mode]
        return f"{door}, {'SQLite' if self.database == 'sqlite' else 'PostgreSQL'}"


def run_job(job: Job, csv_path: Path, rows: int, work: Path, postgres: str | None) -> Run | None:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["CXPULSE_INLINE_WORKER"] = "false"
    env["CXPULSE_SECRET_KEY"] = "bench-" + "k" * 40
    key_file = work / "fixture.json"
    log = work / "stderr.txt"
    with fresh_database(job.database, work, postgres) as url:
        _internal("--seed", url, str(key_file))
        env["CXPULSE_DATABASE_URL"] = url
        if job.mode == "cli":
            argv = [
                CXPULSE,
                "import",
                str(csv_path),
                "--survey",
                SURVEY,
                "--map",
                MAP,
                "-f",
                "json",
            ]
            run, code = run_once(argv, env, log)
            stderr = log.read_text(errors="replace")
        else:
            upload = csv_path if job.mode == "api" else None
            run, code, stderr = run_api(env, key_file, upload, log)
        if code != 0:
            job.error = f"exit code {code}: {stderr[-600:]}"
            return None
        job.error = check(url, rows if job.mode != "idle" else 0)
        return None if job.error else run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--modes", default="cli,api", help="cli, api or both (comma); api adds an idle server"
    )
    parser.add_argument("--databases", default="sqlite", help="sqlite, postgresql or both")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--data-dir", type=Path, default=REPO / "bench" / "data")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--quiet-wait", type=float, default=60.0)
    parser.add_argument("--generate", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--seed", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--post", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(int(args.generate[0]), Path(args.generate[1]))
        return 0
    if args.seed:
        seed(args.seed[0], Path(args.seed[1]))
        return 0
    if args.post:
        post_file(int(args.post[0]), Path(args.post[1]), Path(args.post[2]))
        return 0

    csv_path = prepare_data(args.data_dir, args.rows, args.regenerate)
    databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    if set(databases) - {"sqlite", "postgresql"}:
        parser.error("--databases takes sqlite and/or postgresql")
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if "api" in modes:
        modes.append("idle")
    jobs = [Job(mode, database) for database in databases for mode in modes]
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="cxpulse-bench-") as scratch:
        work = Path(scratch)
        for round_number in range(args.runs + 1):
            label = f"run {round_number}/{args.runs}" if round_number else "warm-up"
            for job in jobs:
                if job.error is not None:
                    continue
                if round_number and args.quiet_wait > 0:
                    wait_until_quiet(args.quiet_wait)
                run = run_job(job, csv_path, args.rows, work, args.postgres_url)
                if run is None:
                    print(f"{label} {job.label}: FAILED {job.error}", flush=True)
                    continue
                load = os.getloadavg()[0]
                print(
                    f"{label} {job.label}: {run.seconds:.1f} s, {run.peak_mb:.0f} MB "
                    f"(load average {load:.1f})",
                    flush=True,
                )
                loads.append(load)
                if round_number:
                    job.runs.append(run)
    print()
    size = csv_path.stat().st_size / 1e6
    print(f"Import of {args.rows:,} rows ({size:.1f} MB CSV), median of {args.runs} runs:")
    print()
    print("| door and database | median s | min s | max s | peak MB (median) | peak MB (max) |")
    print("|---|---:|---:|---:|---:|---:|")
    for job in jobs:
        if not job.runs:
            print(f"| {job.label} | failed | | | | |")
            continue
        seconds = [run.seconds for run in job.runs]
        peaks = [run.peak_mb for run in job.runs]
        print(
            f"| {job.label} | {statistics.median(seconds):.1f} | {min(seconds):.1f} | "
            f"{max(seconds):.1f} | {statistics.median(peaks):.0f} | {max(peaks):.0f} |"
        )
    print()
    if loads:
        print(f"Load average after the runs: {min(loads):.1f} to {max(loads):.1f}.")
    machine = f"{platform.platform()}, {os.cpu_count()} CPUs"
    print(f"Machine: {machine}, Python {platform.python_version()}.")
    return 1 if any(job.error for job in jobs) else 0


if __name__ == "__main__":
    sys.exit(main())
