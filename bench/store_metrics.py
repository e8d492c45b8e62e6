"""Benchmark: metrics of one survey by month and channel from the SQLite store.

Target: "Metrics for one survey grouped by month and channel with 1 million stored
responses: at most 100 ms, and no slower at 5 million."

What it measures, in this process, with ``time.perf_counter`` around one request's work (a
read-only session opened, ``metrics_query.score_rows(session, org, survey,
group_by=["channel"], period="month")`` run - histograms counted by the database, then every
group scored - and the session closed):

1. the rollup path: ``score_rows`` as a request calls it (``use_rollups`` left to the store,
   which reads the daily rollups for this question);
2. the baseline: the same call with ``use_rollups=False``, which counts the responses table
   itself, to show what the rollups save.

Each (size, path) runs once untimed (a warm-up that also fills SQLite's page cache and the OS
cache, as on a server that has been up a while), then the jobs alternate for ``--runs``
rounds so that drifts of the machine hit all of them alike. The warm-up outputs of the two
paths are compared: same groups, same n, values within 1e-9. The machine may be shared:
before each timed run the script waits (up to ``--quiet-wait`` s) until other processes use
under 15% of the CPUs, and it reports how much of the CPUs other processes used during each
job's runs (from /proc/stat clock ticks: coarse for runs of a few ms, summed over the runs).

The data: for each size, a SQLite database (``bench/data/store_metrics_<N>.sqlite3``,
git-ignored, cached with a ``.meta.json``; ``--regenerate`` rebuilds it) migrated to the
current schema, with one organisation and one active NPS survey holding N responses spread
over 2023 and 2024 (in time order, as they arrive), 4 channels, 4 touchpoints, 3 languages
and a short comment on one response in ten. The answers come from a seeded NumPy generator:
a realistic NPS mix that differs by channel and improves slowly over time. The first
``API_ROWS`` responses are stored through ``responses.import_responses`` (the project's own
path), the rest with ``sqlite3`` ``executemany`` in the same transaction, in the exact
format SQLAlchemy writes; ``rollups.rebuild`` then fills the daily rollups. The build checks
that every row looks alike (one storage format), that ``COUNT(*)`` of the responses is N and
that the rollups sum to N; a cached database is checked for the last two before use.

With ``comments=True`` (``prepare(..., comments=True)``, used by ``bench/dashboard.py
--comments``) the database is another file (``store_metrics_comments_<N>.sqlite3``): the same
answers, times and channels, but the languages are the four of the demo shop's comment texts
(en, sv, nl, mk) and about 40% of the answers carry a comment written by the product's own
demo generator (``cxpulse.demo.comment_writing.write_comment``: its mood follows the score,
its topics and sentences come from ``cxpulse.demo.comment_texts``), drawn from seeded
generators, so the same N always gives the same comments. Its cache key holds a hash of those
two modules, so edited texts make a new database.

Run from the repository root, with the project's virtual environment::

    .venv/bin/python bench/store_metrics.py                          # 1M and 5M, 15 runs
    .venv/bin/python bench/store_metrics.py --sizes 100000 --runs 5  # a quick look

It prints Markdown tables (the databases; min / median / max ms per size and path, median
CPU ms, groups returned, rows the query reads, speed-up of the rollups over the responses
table), the targets with PASS/FAIL and the machine it ran on. It exits 0 when every
check passed and both paths agree, even if a target is missed (it measures, it does not
judge); it exits 1 when a check fails or the paths disagree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.demo import comment_texts, comment_writing
from cxpulse.demo.survey_plans import NPS_SURVEY
from cxpulse.store import accounts, metrics_query, rollups, surveys
from cxpulse.store.db import create_engine_for, head_revision, migrate, session_factory
from cxpulse.store.models import DailyRollup, Response
from cxpulse.store.responses import NewResponse, import_responses
from cxpulse.store.sql import Period

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"

GENERATOR_VERSION = 1
SEED = 20_250_103
START = datetime(2023, 1, 1, tzinfo=UTC)
DAYS = 731  # 2023 and 2024
SECONDS = DAYS * 24 * 3600
CHANNELS = ("email", "web", "app", "sms")
CHANNEL_SHARES = (0.40, 0.30, 0.20, 0.10)
CHANNEL_SHIFTS = (0.0, -4.0, 5.0, -8.0)  # percentage points added to the draw: groups differ
TOUCHPOINTS = ("after purchase", "after delivery", "after support ticket", "account renewal")
TOUCHPOINT_SHARES = (0.45, 0.30, 0.20, 0.05)
LANGUAGES = ("en", "de", "fr")
LANGUAGE_SHARES = (0.70, 0.20, 0.10)
# Share (%) of the answers 0..10: a realistic NPS survey, 55% promoters, 20% detractors.
SCORE_SHARES = (2.0, 1.0, 1.5, 2.0, 2.5, 5.0, 6.0, 10.0, 15.0, 22.0, 33.0)
TREND = 4.0  # percentage points gained from the first day to the last
COMMENT_SHARE = 0.10
COMMENTS = (
    "Took far too long, nobody answered my emails.",  # detractors
    "It was fine, nothing special.",  # passives
    "Quick and friendly, thank you!",  # promoters
)
COMMENTS_GENERATOR = 1
"""Version of the commented variant's generation (``comments=True``): bump it when it
changes, so that no cached database of an older one is reused."""
COMMENTED_SHARE = 0.40
COMMENT_LANGUAGES = comment_texts.LANGUAGES
COMMENT_LANGUAGE_SHARES = (0.40, 0.20, 0.20, 0.20)
API_ROWS = 1_000  # stored through import_responses; the rest in bulk
BATCH = 100_000

PERIOD: Period = "month"
GROUP_BY = ("channel",)
TARGET_MS = 100.0
TARGET_AT = 1_000_000
TARGET_RATIO = 1.2  # "no slower": median at the largest size / median at 1M, with ~20% slack
VALUE_TOLERANCE = 1e-9


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Database:
    rows: int
    path: Path
    organisation_id: int
    survey_id: int
    rollup_rows: int
    build: str
    """How it was made: seconds per step, or "cached"."""


@dataclass(frozen=True)
class Draws:
    """The generated responses, one array entry each, in submission order."""

    offsets: NDArray[np.int64]  # seconds after START
    scores: NDArray[np.int64]
    channels: NDArray[np.int64]
    touchpoints: NDArray[np.int64]
    languages: NDArray[np.int64]
    commented: NDArray[np.bool_]
    language_names: tuple[str, ...] = LANGUAGES
    """What the entries of ``languages`` stand for."""
    texts: list[str | None] | None = None
    """The comment of each response (None: none), or None for the short stock comments of
    ``COMMENTS`` on the ``commented`` ones."""

    def comment(self, n: int) -> str | None:
        """The comment of response ``n`` (None when it has none)."""
        if self.texts is not None:
            return self.texts[n]
        return _comment(int(self.scores[n])) if self.commented[n] else None


def draw(rows: int, comments: bool = False) -> Draws:
    """The responses of a database of ``rows``; with ``comments``, the commented variant."""
    plain = _draw_plain(rows)
    return _with_comments(plain) if comments else plain


def _draw_plain(rows: int) -> Draws:
    rng = np.random.default_rng([SEED, rows])
    offsets = np.sort(rng.integers(0, SECONDS, size=rows, dtype=np.int64))
    channels = rng.choice(len(CHANNELS), size=rows, p=CHANNEL_SHARES)
    touchpoints = rng.choice(len(TOUCHPOINTS), size=rows, p=TOUCHPOINT_SHARES)
    languages = rng.choice(len(LANGUAGES), size=rows, p=LANGUAGE_SHARES)
    # A uniform draw in [0, 100) shifted up by channel and time, then cut by the score shares.
    shifted = (
        rng.random(rows) * 100.0
        + np.asarray(CHANNEL_SHIFTS)[channels]
        + TREND * (offsets / SECONDS - 0.5)
    )
    cuts = np.cumsum(SCORE_SHARES)[:-1]
    scores = np.searchsorted(cuts, np.clip(shifted, 0.0, 99.9999), side="right")
    commented = rng.random(rows) < COMMENT_SHARE
    return Draws(
        offsets,
        scores.astype(np.int64),
        channels.astype(np.int64),
        touchpoints.astype(np.int64),
        languages.astype(np.int64),
        commented,
    )


def _with_comments(plain: Draws) -> Draws:
    """``plain`` with the languages of the demo's comment texts and a comment on about
    ``COMMENTED_SHARE`` of the answers, written by the demo's own generator. Its own seeded
    generators, so the answers themselves stay those of ``plain``."""
    rows = len(plain.offsets)
    rng = np.random.default_rng([SEED, rows, COMMENTS_GENERATOR])
    languages = rng.choice(len(COMMENT_LANGUAGES), size=rows, p=COMMENT_LANGUAGE_SHARES)
    commented = rng.random(rows) < COMMENTED_SHARE
    writer = random.Random(f"{SEED}-{rows}-{COMMENTS_GENERATOR}")
    texts: list[str | None] = [None] * rows
    scores: list[int] = plain.scores.tolist()
    names = [COMMENT_LANGUAGES[i] for i in languages.tolist()]
    for n in np.flatnonzero(commented).tolist():
        texts[n] = _written(scores[n], names[n], int(plain.offsets[n]) / SECONDS, writer)
    return Draws(
        plain.offsets,
        plain.scores,
        plain.channels,
        plain.touchpoints,
        languages.astype(np.int64),
        commented,
        COMMENT_LANGUAGES,
        texts,
    )


def _written(score: int, language: str, t: float, rng: random.Random) -> str:
    """A comment the demo's generator writes for ``score`` at ``t`` (fraction of the period).
    The generator also decides whether there is one (more often for low scores); here the
    share is fixed by the draw, so it is asked again until it writes one."""
    while True:
        text = comment_writing.write_comment(NPS_SURVEY, score, language, None, t, rng)
        if text is not None:
            return text


def _comment(score: int) -> str:
    return COMMENTS[0 if score <= 6 else 1 if score <= 8 else 2]


def _stamps(offsets: NDArray[np.int64]) -> list[str]:
    """Instants as SQLAlchemy stores them on SQLite: naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    moments = np.datetime64("2023-01-01T00:00:00", "s") + offsets.astype("timedelta64[s]")
    return [f"{text[:10]} {text[11:]}.000000" for text in np.datetime_as_string(moments, unit="s")]


_BULK_INSERT = (
    "INSERT INTO responses (organisation_id, survey_id, score, comment, language, channel, "
    "touchpoint, properties, submitted_at, received_at, source) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, 'import')"
)


def _bulk_rows(
    draws: Draws, start: int, organisation_id: int, survey_id: int
) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of rows for ``_BULK_INSERT`` from row ``start`` on."""
    rows = len(draws.offsets)
    for low in range(start, rows, BATCH):
        high = min(rows, low + BATCH)
        stamps = _stamps(draws.offsets[low:high])
        scores: list[int] = draws.scores[low:high].tolist()
        names = draws.language_names
        yield list(
            zip(
                repeat(organisation_id),
                repeat(survey_id),
                [float(s) for s in scores],
                [draws.comment(n) for n in range(low, high)],
                [names[i] for i in draws.languages[low:high].tolist()],
                [CHANNELS[i] for i in draws.channels[low:high].tolist()],
                [TOUCHPOINTS[i] for i in draws.touchpoints[low:high].tolist()],
                stamps,
                stamps,  # received when submitted
                strict=False,
            )
        )


def _api_items(draws: Draws, survey_id: int, count: int) -> list[NewResponse]:
    items = []
    for n in range(min(count, len(draws.offsets))):
        score = int(draws.scores[n])
        items.append(
            NewResponse(
                survey_id=survey_id,
                score=score,
                submitted_at=START + timedelta(seconds=int(draws.offsets[n])),
                comment=draws.comment(n),
                language=draws.language_names[int(draws.languages[n])],
                channel=CHANNELS[int(draws.channels[n])],
                touchpoint=TOUCHPOINTS[int(draws.touchpoints[n])],
                source="import",
            )
        )
    return items


def _raw(session: Session) -> sqlite3.Connection:
    raw = session.connection().connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


def count_rows(session: Session, survey_id: int) -> tuple[int, int, int]:
    """(responses, sum of the rollup counts, rollup rows) of the survey."""
    responses = session.scalar(
        select(func.count()).select_from(Response).where(Response.survey_id == survey_id)
    )
    rolled, rollup_rows = session.execute(
        select(func.coalesce(func.sum(DailyRollup.count), 0), func.count()).where(
            DailyRollup.survey_id == survey_id
        )
    ).one()
    return int(responses or 0), int(rolled), int(rollup_rows)


def check_counts(session: Session, survey_id: int, rows: int) -> int:
    """Raise unless the survey holds ``rows`` responses and rollups summing to as many."""
    responses, rolled, rollup_rows = count_rows(session, survey_id)
    if responses != rows or rolled != rows:
        raise RuntimeError(
            f"survey {survey_id}: {responses:,} responses and rollups summing to {rolled:,}, "
            f"expected {rows:,}"
        )
    return rollup_rows


def _check_formats(session: Session) -> None:
    """Rows stored in bulk must look exactly like rows the repository stored."""
    shapes = _raw(session).execute(
        "SELECT typeof(score), typeof(submitted_at), length(submitted_at), "
        "substr(submitted_at, 11, 1), length(received_at), properties, count(*) "
        "FROM responses GROUP BY 1, 2, 3, 4, 5, 6"
    )
    found = shapes.fetchall()
    if len(found) != 1 or found[0][:6] != ("real", "text", 26, " ", 26, "{}"):
        raise RuntimeError(f"responses are not all stored alike: {found}")


def _meta(rows: int, comments: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "generator": GENERATOR_VERSION,
        "seed": SEED,
        "rows": rows,
        "schema": head_revision(),
    }
    if comments:
        meta["comments"] = {
            "generator": COMMENTS_GENERATOR,
            "share": COMMENTED_SHARE,
            "languages": list(COMMENT_LANGUAGES),
            "language_shares": list(COMMENT_LANGUAGE_SHARES),
            "writers": _files_digest(
                [Path(m.__file__ or "") for m in (comment_writing, comment_texts)]
            ),
        }
    return meta


def _files_digest(files: Sequence[Path]) -> str:
    """Short hash of the files' contents (what a cached database was generated with)."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def build(path: Path, rows: int, comments: bool = False) -> tuple[int, int, str]:
    """Make the database at ``path``; (organisation id, survey id, timings)."""
    building = path.with_name(path.name + ".building")
    _remove(building)
    started = time.perf_counter()
    draws = draw(rows, comments)
    drawn = time.perf_counter()
    engine = create_engine_for(f"sqlite:///{building}")
    try:
        migrate(engine)
        with session_factory(engine).begin() as session:
            organisation = accounts.create_organisation(session, slug="bench", name="Bench Ltd")
            survey = surveys.create_survey(
                session,
                organisation.id,
                slug="nps",
                name="How likely are you to recommend us?",
                metric="nps",
                status="active",
            )
            organisation_id, survey_id = organisation.id, survey.id
            counts = import_responses(
                session, organisation_id, _api_items(draws, survey_id, API_ROWS)
            )
            assert counts.created == min(API_ROWS, rows)
            raw = _raw(session)
            for batch in _bulk_rows(draws, counts.created, organisation_id, survey_id):
                raw.executemany(_BULK_INSERT, batch)
            inserted = time.perf_counter()
            rollups.rebuild(session, organisation_id, survey_id)
            rebuilt = time.perf_counter()
            _check_formats(session)
            check_counts(session, survey_id, rows)
        checked = time.perf_counter()
    finally:
        engine.dispose()  # the last connection closing checkpoints the WAL into the file
    if Path(f"{building}-wal").exists():
        raise RuntimeError(f"{building}-wal is still there after closing the database")
    building.replace(path)
    timings = (
        f"built in {checked - started:.1f} s: draw {drawn - started:.1f}, "
        f"insert {inserted - drawn:.1f}, rollups.rebuild {rebuilt - inserted:.1f}, "
        f"checks {checked - rebuilt:.1f}"
    )
    return organisation_id, survey_id, timings


def prepare(data_dir: Path, rows: int, regenerate: bool, comments: bool = False) -> Database:
    """The cached database for ``rows`` responses, built when missing or out of date; with
    ``comments``, the commented variant (its own file)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    name = "store_metrics_comments" if comments else "store_metrics"
    path = data_dir / f"{name}_{rows}.sqlite3"
    meta_path = path.with_suffix(".meta.json")
    stored: dict[str, Any] = {}
    if not regenerate and path.exists() and meta_path.exists():
        stored = json.loads(meta_path.read_text())
    if stored and all(stored.get(k) == v for k, v in _meta(rows, comments).items()):
        how = f"cached ({stored.get('build', 'build time unknown')})"
        organisation_id, survey_id = int(stored["organisation_id"]), int(stored["survey_id"])
        print(f"data: cached {path.name} ({rows:,} responses)", flush=True)
    else:
        print(f"data: building {path.name} ({rows:,} responses) ...", flush=True)
        meta_path.unlink(missing_ok=True)
        _remove(path)
        organisation_id, survey_id, how = build(path, rows, comments)
        meta = {**_meta(rows, comments), "organisation_id": organisation_id, "survey_id": survey_id}
        meta_path.write_text(json.dumps({**meta, "build": how}, indent=2) + "\n")
        print(f"data: {how}", flush=True)
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        with session_factory(engine, read_only=True)() as session:
            rollup_rows = check_counts(session, survey_id, rows)
    finally:
        engine.dispose()
    return Database(rows, path, organisation_id, survey_id, rollup_rows, how)


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_seconds: float  # this process's CPU time (all threads)
    busy_seconds: float | None  # CPU seconds the whole machine was busy meanwhile


@dataclass
class Job:
    database: Database
    use_rollups: bool | None
    """None: as a request calls it (the store picks the rollups); False: the baseline."""
    factory: sessionmaker[Session]
    runs: int
    runs_done: list[Run] = field(default_factory=list)
    output: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "rollups (as a request)" if self.use_rollups is None else "responses table"

    def median_ms(self) -> float:
        return 1000 * statistics.median(r.seconds for r in self.runs_done)

    def others(self) -> float | None:
        """Share of the CPUs other processes used during the runs, all runs together."""
        if not self.runs_done or any(r.busy_seconds is None for r in self.runs_done):
            return None
        busy = sum(r.busy_seconds or 0.0 for r in self.runs_done)
        own = sum(r.cpu_seconds for r in self.runs_done)
        wall = sum(r.seconds for r in self.runs_done)
        return max(0.0, (busy - own) / (wall * _cpus())) if wall > 0 else None


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
    """Wait (at most ``limit`` s) until other processes use under ``threshold`` of the CPUs;
    the busy share seen last (None when it cannot be measured)."""
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


def request(job: Job) -> list[dict[str, Any]]:
    """One request's work: a read-only session, score_rows, the session closed."""
    database = job.database
    with job.factory() as session:
        return metrics_query.score_rows(
            session,
            database.organisation_id,
            database.survey_id,
            group_by=list(GROUP_BY),
            period=PERIOD,
            use_rollups=job.use_rollups,
        )


def time_once(job: Job) -> Run:
    busy_before = _busy_seconds()
    cpu_before = time.process_time()
    started = time.perf_counter()
    request(job)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    busy_after = _busy_seconds()
    busy = None if busy_before is None or busy_after is None else busy_after - busy_before
    return Run(seconds, cpu, busy)


def run_jobs(jobs: Sequence[Job], quiet_wait: float) -> None:
    """A warm-up per job (its output kept), then rounds in which the jobs alternate."""
    for job in jobs:
        started = time.perf_counter()
        job.output = request(job)
        print(
            f"warm-up {job.database.rows:,} {job.label}: "
            f"{1000 * (time.perf_counter() - started):.1f} ms (untimed)",
            flush=True,
        )
    for round_number in range(max(job.runs for job in jobs)):
        shown = []
        for job in jobs:
            if round_number >= job.runs:
                continue
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
            run = time_once(job)
            job.runs_done.append(run)
            shown.append(f"{job.database.rows:,} {job.label} {1000 * run.seconds:.1f} ms")
        print(f"round {round_number + 1}: " + "; ".join(shown), flush=True)


# --------------------------------------------------------------------------- checks


def _differences(left: Any, right: Any, where: str) -> list[str]:
    if isinstance(left, dict) and isinstance(right, dict):
        if set(left) != set(right):
            return [f"{where}: keys {sorted(left)} vs {sorted(right)}"]
        found: list[str] = []
        for key in left:
            found += _differences(left[key], right[key], f"{where}.{key}")
        return found
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return [f"{where}: {len(left)} vs {len(right)} items"]
        found = []
        for n, (a, b) in enumerate(zip(left, right, strict=True)):
            found += _differences(a, b, f"{where}[{n}]")
        return found
    floats = isinstance(left, float) and isinstance(right, float)
    if floats and math.isclose(left, right, rel_tol=VALUE_TOLERANCE, abs_tol=VALUE_TOLERANCE):
        return []
    return [] if left == right else [f"{where}: {left!r} vs {right!r}"]


def compare_paths(fast: Job, slow: Job) -> list[str]:
    """The two paths must give the same rows: same groups, same n, values within 1e-9."""
    problems = _differences(fast.output, slow.output, "rows")
    rows = fast.database.rows
    groups = len(fast.output) - 1
    total = fast.output[0].get("n") if fast.output else None
    verdict = "agree" if not problems else f"DISAGREE ({len(problems)} differences)"
    print(
        f"- {rows:,} responses: rollups vs responses table: {groups} groups "
        f"(months x channels) + overall, overall n = {total} -> {verdict}"
    )
    for problem in problems[:5]:
        print(f"  {problem}")
    if total != rows:
        problems.append(f"{rows:,} responses: overall n is {total}, expected {rows}")
        print(f"  overall n is {total}, expected {rows}")
    return [f"{rows:,}: {p}" for p in problems]


# --------------------------------------------------------------------------- report


def print_databases(databases: Sequence[Database]) -> None:
    print("| responses | file MB | rollup rows of the survey | how |")
    print("|---:|---:|---:|---|")
    for db in databases:
        size = db.path.stat().st_size / 1e6
        print(f"| {db.rows:,} | {size:.0f} | {db.rollup_rows:,} | {db.build} |")


def print_table(jobs: Sequence[Job]) -> None:
    baselines = {job.database.rows: job for job in jobs if job.use_rollups is False}
    print(
        "| responses | path | runs | min ms | median ms | max ms | median CPU ms | groups "
        "| rows read | speed-up vs responses table | others' CPU use |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for job in jobs:
        times = [1000 * r.seconds for r in job.runs_done]
        cpu = statistics.median(1000 * r.cpu_seconds for r in job.runs_done)
        db = job.database
        read = db.rollup_rows if job.use_rollups is None else db.rows
        base = baselines.get(db.rows)
        speedup = "1.00x (baseline)"
        if job is not base:
            speedup = "–" if base is None else f"{base.median_ms() / job.median_ms():.1f}x"
        others = job.others()
        print(
            f"| {db.rows:,} | {job.label} | {len(times)} | {min(times):.1f} "
            f"| {statistics.median(times):.1f} | {max(times):.1f} | {cpu:.1f} "
            f"| {len(job.output) - 1} | {read:,} | {speedup} "
            f"| {'–' if others is None else f'{others:.0%}'} |"
        )


def _target(name: str, ok: bool | None, measured: str) -> str:
    verdict = "n/a" if ok is None else ("PASS" if ok else "FAIL")
    return f"| {name} | {measured} | **{verdict}** |"


def print_targets(jobs: Sequence[Job]) -> list[bool | None]:
    """The targets as a table; per target True (met), False (missed) or None (n/a)."""
    fast = {job.database.rows: job for job in jobs if job.use_rollups is None}
    sizes = sorted(fast)
    lines: list[str] = []
    results: list[bool | None] = []

    def add(name: str, ok: bool | None, measured: str) -> None:
        results.append(ok)
        lines.append(_target(name, ok, measured))

    for rows in sorted({TARGET_AT, *sizes}):
        name = f"Rollup path: median at most {TARGET_MS:g} ms at {rows:,} responses"
        if rows in fast:
            median = fast[rows].median_ms()
            add(name, median <= TARGET_MS, f"{median:.1f} ms (max {_max_ms(fast[rows]):.1f} ms)")
        else:
            add(name, None, "size not run")
    largest = sizes[-1] if sizes else None
    name = f"Rollup path: no slower at the largest size (median ratio <= {TARGET_RATIO:g})"
    if TARGET_AT in fast and largest is not None and largest > TARGET_AT:
        ratio = fast[largest].median_ms() / fast[TARGET_AT].median_ms()
        add(
            name,
            ratio <= TARGET_RATIO,
            f"{largest:,} / {TARGET_AT:,}: {ratio:.2f} "
            f"({fast[largest].median_ms():.1f} ms / {fast[TARGET_AT].median_ms():.1f} ms)",
        )
    else:
        add(name, None, f"needs {TARGET_AT:,} and a larger size")
    print("| target | measured | result |")
    print("|---|---|---|")
    for line in lines:
        print(line)
    return results


def _max_ms(job: Job) -> float:
    return 1000 * max(r.seconds for r in job.runs_done)


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


def timed_sources() -> list[Path]:
    """The files of the cxpulse modules this process has loaded: the code it times."""
    src = (REPO / "src").resolve()
    files = set()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if (name == "cxpulse" or name.startswith("cxpulse.")) and path:
            resolved = Path(path).resolve()
            if resolved.is_relative_to(src):
                files.add(resolved)
    return sorted(files)


def source_fingerprint(files: Sequence[Path]) -> str:
    """Short hash of ``files`` as they are on disk now: others edit src/ while benchmarks run,
    so say which code was timed."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()[:12]


def print_machine(load_before: str, files: Sequence[Path], sources: tuple[str, str]) -> None:
    print(
        f"- nproc: {_cpus()} (cpu_count {os.cpu_count()}); CPU: {_cpu_model()}; RAM: {_memory_gb()}"
    )
    print(f"- Python {platform.python_version()} ({sys.executable}); {platform.platform()}")
    print(
        f"- cxpulse {_version('cxpulse')} at {_git_revision()}; SQLite {sqlite3.sqlite_version}, "
        f"SQLAlchemy {_version('sqlalchemy')}, numpy {_version('numpy')}"
    )
    print(f"- load average (1, 5, 15 min) before: {load_before}; after: {_load_average()}")
    loaded = f"the {len(files)} cxpulse modules this process loaded and timed"
    if sources[0] == sources[1]:
        print(f"- fingerprint of {loaded}: {sources[0]}, unchanged on disk during the run")
    else:
        print(
            f"- fingerprint of {loaded}: {sources[0]} when loaded; their files CHANGED on disk "
            f"during the run (now {sources[1]}): every run timed the code as loaded, which "
            "is no longer the code in src/"
        )


# --------------------------------------------------------------------------- main


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of numbers") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes must be positive numbers")
    return sizes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time store metrics by month and channel from rollups and responses.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--sizes", type=_sizes, default="1000000,5000000", help="responses per database, commas"
    )
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each (size, path)")
    parser.add_argument(
        "--baseline-runs",
        type=int,
        default=None,
        help="timed runs of the responses-table baseline (default: --runs)",
    )
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data", help="cache of the data")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the databases")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="before each timed run, wait up to this many seconds for other processes to "
        "leave the CPUs (under 15%% busy); 0 to never wait",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.baseline_runs is None:
        args.baseline_runs = args.runs
    if args.baseline_runs < 1:
        parser.error("--baseline-runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = _load_average()
    files = timed_sources()
    source_before = source_fingerprint(files)
    data_dir = args.data_dir.resolve()
    assert metrics_query.rollups_can_answer(group_by=GROUP_BY), "rollups cannot answer this"
    databases = [prepare(data_dir, rows, args.regenerate) for rows in args.sizes]

    engines: list[Engine] = []
    jobs: list[Job] = []
    problems: list[str] = []
    try:
        for db in databases:
            engine = create_engine_for(f"sqlite:///{db.path}")
            engines.append(engine)
            factory = session_factory(engine, read_only=True)
            jobs.append(Job(db, None, factory, args.runs))
            jobs.append(Job(db, False, factory, args.baseline_runs))
        print()
        run_jobs(jobs, args.quiet_wait)
        print("\n### Do the two paths agree?\n")
        for fast, slow in zip(jobs[::2], jobs[1::2], strict=True):
            problems += compare_paths(fast, slow)
    finally:
        for engine in engines:
            engine.dispose()

    print("\n### Databases\n")
    print_databases(databases)
    print(
        f"\n### Results: `score_rows(group_by={list(GROUP_BY)}, period={PERIOD!r})` on one "
        f"NPS survey, {args.runs} timed runs ({args.baseline_runs} for the responses table)\n"
    )
    print_table(jobs)
    print(
        "\nTimes are wall milliseconds in this process for one request's work (read-only "
        "session, histograms counted by SQLite, every group scored, session closed), after one "
        "untimed warm-up; CPU ms is this process's CPU time; groups = months x channels "
        "returned besides the overall row; rows read = rollup rows of the survey, or its "
        "responses; speed-up = responses-table median / median; others' CPU use = share of "
        "the machine's CPUs that other processes used during the runs (coarse: clock ticks).\n"
    )
    results = print_targets(jobs)
    all_met = all(r is True for r in results)
    missed = any(r is False for r in results)
    print("\n### Machine\n")
    print_machine(load_before, files, (source_before, source_fingerprint(files)))
    print()
    if problems:
        print("PATHS DISAGREE: " + "; ".join(problems[:5]))
        return 1
    if all_met:
        print("All targets met.")
    elif missed:
        print("SOME TARGETS MISSED (see FAIL above).")
    else:
        print("Some targets not evaluated (n/a above): run the sizes they name.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
