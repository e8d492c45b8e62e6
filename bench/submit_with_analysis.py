"""Benchmark: the submission path while ``cxpulse serve``'s background work analyses every
new comment, paired against the same server without background work.

What it measures, on one ``cxpulse serve`` process (one uvicorn worker, access log off) on a
fresh SQLite file per run (``--database postgresql``: a fresh PostgreSQL database per run,
created through ``--postgres-url`` and dropped afterwards), with a rule that tags each
detractor (the closed loop's ``response-event`` task has work for every answer):

- A: ``CXPULSE_BACKGROUND_WORK=process`` (the default: a child process analyses the comments
  and runs the closed loop's tasks); B: ``CXPULSE_BACKGROUND_WORK=off`` (nothing but the
  requests). Runs alternate A B B A, ``--rounds`` times, each on a new server and database.
- First a short closed-loop ramp (2 to 32 connections, on an ``off`` server) finds the
  maximum rate of the path; the measured load is ``--share`` of it (default 50%), unless
  ``--rate`` is given, the same rate for A and B.
- Each run: a warm-up at that rate (not counted; the child loads its language data and
  analyses the warm-up's comments), then ``--duration`` seconds at the fixed rate, open loop
  (``tests/load_client.py``: latency counted from when each request was due, so a server
  falling behind shows it), every answer carrying a comment in one of eight languages; then
  ``--saturation`` seconds closed loop from ``--connections`` connections (the rate at
  saturation).
- Analysis: a watcher process notes when each answer of the fixed-rate run is first seen
  analysed, so the script reports how long after its answer a comment was analysed (p50,
  p99, max) and how long after the load ended every comment of the run was; and, after the
  saturation step, how long the child took to catch up.
- The CPU seconds of the server and of its child, and the machine's load average, per run.

Run from the repository root::

    .venv/bin/python bench/submit_with_analysis.py                   # 2 rounds (8 runs)
    .venv/bin/python bench/submit_with_analysis.py --rounds 2 --duration 15 --rate 400
    .venv/bin/python bench/submit_with_analysis.py --rate 400 --no-rule  # no rule to run
    .venv/bin/python bench/submit_with_analysis.py --rate 400 --database postgresql
    .venv/bin/python bench/submit_with_analysis.py --modes thread,off --saturation 0

``--no-rule`` leaves the rule out, so the answers' closed loop has nothing to run and the
child's work is the comments; ``--modes`` pairs other places of the background work.

It prints a Markdown table per run and the medians per mode, with the paired differences
(each A run against the B run next to it). Exit status 1 when a run lost answers or, with
the child, a comment of the fixed-rate run was not analysed within ``--analysed-within``
seconds; it sets no latency target (the machine is shared: read the load averages).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the load client and process helpers of tests/
sys.path.insert(0, str(REPO / "bench"))

from tests import load_client  # noqa: E402
from tests.load_client import Result, quantile, run_closed, run_load  # noqa: E402
from tests.load_fleet import Proc, base_env, free_port, start_server, stop, tree_pids  # noqa: E402

from http_submit import (  # noqa: E402
    DEFAULT_POSTGRES_URL,
    cpu_model,
    make_fixture,
    postgres_database,
    postgres_version,
)

RAMP_CONNECTIONS = (2, 4, 8, 16, 32)
WATCH_SECONDS = 0.1
"""How often the watcher looks for newly analysed comments."""

COMMENTS: dict[str, tuple[str, ...]] = {
    "en": (
        "The delivery was two days late and nobody answered my emails",
        "Friendly staff, they solved my problem at once",
        "Too expensive for what you get, and the app keeps crashing",
    ),
    "sv": (
        "Leveransen kom för sent och ingen svarade på mina mejl",
        "Trevlig personal som löste mitt problem direkt",
        "Alldeles för dyrt och appen kraschar hela tiden",
    ),
    "nl": (
        "De levering was twee dagen te laat en niemand reageerde",
        "Vriendelijk personeel, mijn probleem was meteen opgelost",
        "Veel te duur voor wat je krijgt, de app loopt steeds vast",
    ),
    "mk": (
        "Испораката доцнеше два дена и никој не одговори на пораките",
        "Љубезен персонал, проблемот веднаш беше решен",
        "Премногу скапо, а апликацијата постојано паѓа",
    ),
    "de": (
        "Die Lieferung kam zwei Tage zu spät und niemand hat geantwortet",
        "Freundliches Personal, mein Problem wurde sofort gelöst",
        "Viel zu teuer für das, was man bekommt, und die App stürzt ständig ab",
    ),
    "fr": (
        "La livraison avait deux jours de retard et personne n'a répondu",
        "Personnel aimable, mon problème a été résolu tout de suite",
        "Beaucoup trop cher et l'application plante sans arrêt",
    ),
    "es": (
        "La entrega llegó dos días tarde y nadie contestó mis correos",
        "Personal amable, resolvieron mi problema enseguida",
        "Demasiado caro para lo que ofrece y la aplicación se cuelga",
    ),
    "pt": (
        "A entrega atrasou dois dias e ninguém respondeu aos meus emails",
        "Atendimento simpático, resolveram o meu problema na hora",
        "Caro demais para o que oferece e o aplicativo trava sempre",
    ),
}
_BANK = [(language, text) for language, texts in COMMENTS.items() for text in texts]


def multilingual_body(number: int) -> tuple[int, bytes]:
    """Answer ``number``: a score and a comment in one of eight languages, one or two
    sentences of the bank, so the texts vary as real ones do."""
    score = (number * 7) % 11
    language, first = _BANK[number % len(_BANK)]
    texts = COMMENTS[language]
    comment = first if number % 3 else f"{first}. {texts[(number // 7) % len(texts)]}"
    document = {"score": score, "channel": "web", "comment": comment}
    return score, json.dumps(document, ensure_ascii=False).encode()


# The load client's requests carry its module's ``body_of``: every answer of this benchmark
# carries a comment, in eight languages.
load_client.body_of = multilingual_body


# The watcher: when each comment is first seen analysed


def _watch(
    url: str,
    survey_id: int,
    after_id: int,
    ready: EventType,
    stop_watching: EventType,
    out: Path,
) -> None:
    """Until told to stop: the monotonic time at which each analysis of ``survey_id``'s
    answers after ``after_id`` first appeared, written to ``out`` as JSON."""
    from sqlalchemy import select

    from cxpulse.store.db import create_engine_for, session_factory
    from cxpulse.store.models import AnalysedComment

    engine = create_engine_for(url)
    read = session_factory(engine, read_only=True)
    seen: dict[int, float] = {}
    floor = after_id  # every id up to it is seen, or was never stored
    try:
        while not stop_watching.is_set():
            with read() as session:
                ids = session.scalars(
                    select(AnalysedComment.response_id).where(
                        AnalysedComment.survey_id == survey_id,
                        AnalysedComment.response_id > floor,
                    )
                ).all()
            now = time.monotonic()
            for response_id in ids:
                seen.setdefault(int(response_id), now)
            while floor + 1 in seen:
                floor += 1
            ready.set()
            stop_watching.wait(WATCH_SECONDS)
    finally:
        engine.dispose()
        out.write_text(json.dumps(seen))


@contextlib.contextmanager
def watching(url: str, survey_id: int, after_id: int, folder: Path) -> Iterator[dict[int, float]]:
    """A watcher process for the block; the dict is filled when it ends."""
    context = multiprocessing.get_context("spawn")
    ready, stop_watching = context.Event(), context.Event()
    out = folder / f"seen-{time.monotonic_ns()}.json"
    process = context.Process(
        target=_watch, args=(url, survey_id, after_id, ready, stop_watching, out), daemon=True
    )
    process.start()
    if not ready.wait(60):
        raise SystemExit("the watcher did not start within 60 s")
    seen: dict[int, float] = {}
    try:
        yield seen
    finally:
        stop_watching.set()
        process.join(30)
        if out.exists():
            seen.update({int(k): float(v) for k, v in json.loads(out.read_text()).items()})


# The database


@dataclass(frozen=True)
class Counts:
    latest_id: int
    stored: int
    analysed: int


def counts(url: str, survey_id: int) -> Counts:
    from sqlalchemy import func, select

    from cxpulse.store.db import create_engine_for, session_factory
    from cxpulse.store.models import AnalysedComment, Response

    engine = create_engine_for(url)
    try:
        with session_factory(engine, read_only=True)() as session:
            latest, stored = session.execute(
                select(func.max(Response.id), func.count()).where(Response.survey_id == survey_id)
            ).one()
            analysed = session.scalar(
                select(func.count()).where(AnalysedComment.survey_id == survey_id)
            )
        return Counts(int(latest or 0), int(stored or 0), int(analysed or 0))
    finally:
        engine.dispose()


def wait_analysed(url: str, survey_id: int, timeout: float) -> float | None:
    """Seconds until every stored answer of the survey is analysed; None after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        now = counts(url, survey_id)
        if now.analysed >= now.stored:
            return time.monotonic() - started
        time.sleep(0.2)
    return None


def add_detractor_rule(url: str) -> None:
    from cxpulse.act import rules
    from cxpulse.store.db import create_engine_for, session_factory
    from cxpulse.store.models import Organisation

    engine = create_engine_for(url)
    try:
        with session_factory(engine).begin() as session:
            organisation = session.query(Organisation).filter_by(slug="bench").one()
            rules.create_rule(
                session,
                organisation.id,
                name="Call back detractors",
                conditions={"band": "bottom"},
                actions={"tag": ["call-back"]},
            )
    finally:
        engine.dispose()


# Processes


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (0 when gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    rest = stat[stat.rindex(")") + 2 :].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def cpu_split(server: Proc) -> tuple[float, float]:
    """(server's own, its descendants') CPU seconds: the child is the background work."""
    pids = tree_pids(server.pid)
    return cpu_seconds(server.pid), sum(cpu_seconds(p) for p in pids if p != server.pid)


@dataclass(frozen=True)
class Served:
    server: Proc
    port: int
    url: str
    survey_id: int
    key: str


@contextlib.contextmanager
def server_for(
    mode: str, folder: Path, *, rule: bool = True, postgres_url: str | None = None
) -> Iterator[Served]:
    """A fresh database (a SQLite file, or a PostgreSQL database created for the run and
    dropped after it) and one ``cxpulse serve`` with ``CXPULSE_BACKGROUND_WORK=mode``."""
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if postgres_url is None:
            url = f"sqlite:///{folder / 'bench.db'}"
        else:
            url = stack.enter_context(postgres_database(postgres_url))
        yield stack.enter_context(_serving(mode, folder, url, rule=rule))


@contextlib.contextmanager
def _serving(mode: str, folder: Path, url: str, *, rule: bool) -> Iterator[Served]:
    fixture = make_fixture(url)
    if rule:
        add_detractor_rule(url)
    port = free_port()
    env = base_env(url, CXPULSE_INLINE_WORKER="true", CXPULSE_BACKGROUND_WORK=mode)
    server = start_server(url, port, folder / "server.log", env=env)
    try:
        yield Served(server, port, url, fixture.survey_id, fixture.key)
    finally:
        stop(server)


# Measuring


@dataclass
class Phase:
    sent: int
    accepted: int
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    other: int


def phase(results: Sequence[Result], seconds: float) -> Phase:
    ok = [r for r in results if r.accepted]
    latencies = [r.latency * 1000 for r in results if r.status]
    return Phase(
        sent=len(results),
        accepted=len(ok),
        per_second=len(ok) / seconds if seconds else 0.0,
        p50_ms=quantile(latencies, 0.50),
        p99_ms=quantile(latencies, 0.99),
        max_ms=max(latencies, default=float("nan")),
        other=len(results) - len(ok),
    )


@dataclass
class Run:
    mode: str
    load: float
    fixed: Phase
    saturated: Phase | None
    server_cpu: float
    child_cpu: float
    lag_p50: float | None = None
    lag_p99: float | None = None
    lag_max: float | None = None
    drained_after: float | None = None
    """Seconds after the fixed-rate load ended until every comment of it was analysed."""
    caught_up_after: float | None = None
    """Seconds after the saturation step until every comment was analysed."""
    unanalysed: int = 0
    problems: list[str] = field(default_factory=list)


def ramp(port: int, key: str, survey_id: int, step: float) -> float:
    best = 0.0
    for n, connections in enumerate(RAMP_CONNECTIONS):
        results = run_closed(
            [port], key, survey_id, seconds=step, connections=connections, first=10**8 * (n + 1)
        )
        got = phase(results, step)
        print(
            f"  ramp {connections:>2} connections: {got.per_second:,.0f}/s, "
            f"p99 {got.p99_ms:.0f} ms",
            file=sys.stderr,
        )
        if got.per_second < best * 1.05:
            return max(best, got.per_second)
        best = got.per_second
    return best


def one_run(mode: str, rate: float, args: argparse.Namespace, folder: Path) -> Run:
    with server_for(mode, folder, rule=not args.no_rule, postgres_url=postgres(args)) as served:
        server, port, url = served.server, served.port, served.url
        survey_id, key = served.survey_id, served.key
        # The warm-up: the server's first requests, the child's language data and models.
        run_load([port], key, survey_id, rate=rate, seconds=args.warmup, connections=64)
        analyses = mode != "off"
        if analyses and wait_analysed(url, survey_id, args.settle) is None:
            raise SystemExit(f"the warm-up's comments were not analysed in {args.settle:g} s")
        time.sleep(1.0)
        before = counts(url, survey_id)
        load = os.getloadavg()[0]
        cpu_before = cpu_split(server)
        with watching(url, survey_id, before.latest_id, folder) as seen:
            started = time.monotonic()
            results = run_load(
                [port],
                key,
                survey_id,
                rate=rate,
                seconds=args.duration,
                connections=args.open_connections,
            )
            ended = time.monotonic()
            cpu_after = cpu_split(server)
            drained = wait_analysed(url, survey_id, args.analysed_within + 60) if analyses else None
            if drained is not None:
                time.sleep(2 * WATCH_SECONDS)  # the watcher's last look
        run = Run(
            mode,
            load,
            phase(results, ended - started),
            None,
            cpu_after[0] - cpu_before[0],
            cpu_after[1] - cpu_before[1],
        )
        stored = counts(url, survey_id).stored - before.stored
        # A request the client gave up on may still have been stored: at most ``sent``.
        if not run.fixed.accepted <= stored <= run.fixed.sent:
            run.problems.append(
                f"{mode}: {run.fixed.accepted} accepted of {run.fixed.sent} sent, {stored} stored"
            )
        if analyses:
            answered = {
                r.response_id: started + r.number / rate + r.latency
                for r in results
                if r.accepted and r.response_id is not None
            }
            lags = sorted(seen[i] - at for i, at in answered.items() if i in seen)
            run.unanalysed = len(answered) - len(lags)
            if lags:
                run.lag_p50, run.lag_p99 = quantile(lags, 0.5), quantile(lags, 0.99)
                run.lag_max = lags[-1]
            run.drained_after = drained
            if run.unanalysed or run.lag_max is None or run.lag_max > args.analysed_within:
                run.problems.append(
                    f"{mode}: {run.unanalysed} comments not analysed, slowest "
                    f"{run.lag_max or float('nan'):.1f} s (limit {args.analysed_within:g} s)"
                )
        if args.saturation > 0:
            time.sleep(1.0)
            closed = run_closed(
                [port],
                key,
                survey_id,
                seconds=args.saturation,
                connections=args.connections,
                first=10**9,
            )
            run.saturated = phase(closed, args.saturation)
            if analyses:
                run.caught_up_after = wait_analysed(url, survey_id, args.settle)
    return run


def sequence(rounds: int, modes: Sequence[str]) -> list[str]:
    """A B B A per round: drift over time falls on both modes alike."""
    a, b = modes[0], modes[-1]
    return [a, b, b, a] * rounds


# Reporting


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def run_table(runs: Sequence[Run]) -> str:
    lines = [
        "| run | mode | load (1 min) | answers/s | p50 ms | p99 ms | max ms | server CPU s | "
        "child CPU s | analysed after p50 / p99 / max s | all analysed s after the end | "
        "saturation answers/s | saturation p99 ms | caught up s after |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for n, run in enumerate(runs, 1):
        lag = (
            "-"
            if run.lag_p50 is None
            else f"{run.lag_p50:.2f} / {run.lag_p99:.2f} / {run.lag_max:.2f}"
        )
        saturated = run.saturated
        lines.append(
            f"| {n} | {run.mode} | {run.load:.2f} | {run.fixed.per_second:,.0f} | "
            f"{run.fixed.p50_ms:.1f} | {run.fixed.p99_ms:.1f} | {run.fixed.max_ms:.0f} | "
            f"{run.server_cpu:.1f} | {run.child_cpu:.1f} | {lag} | {_s(run.drained_after)} | "
            f"{'-' if saturated is None else f'{saturated.per_second:,.0f}'} | "
            f"{'-' if saturated is None else f'{saturated.p99_ms:.1f}'} | "
            f"{_s(run.caught_up_after)} |"
        )
    return "\n".join(lines)


def pairs(runs: Sequence[Run], first_mode: str) -> list[tuple[Run, Run]]:
    """Each A run with the B run next to it (A B B A: runs 1-2, 3-4, ...)."""
    found = []
    for first, second in zip(runs[::2], runs[1::2], strict=False):
        a, b = (first, second) if first.mode == first_mode else (second, first)
        found.append((a, b))
    return found


def summary(runs: Sequence[Run], modes: Sequence[str]) -> str:
    def median(values: Sequence[float]) -> float:
        return statistics.median(values) if values else float("nan")

    lines = [
        "| mode | runs | answers/s | p50 ms | p99 ms | saturation answers/s | saturation p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in dict.fromkeys(modes):
        mine = [r for r in runs if r.mode == mode]
        sat = [r.saturated for r in mine if r.saturated is not None]
        lines.append(
            f"| {mode} | {len(mine)} | {median([r.fixed.per_second for r in mine]):,.0f} | "
            f"{median([r.fixed.p50_ms for r in mine]):.1f} | "
            f"{median([r.fixed.p99_ms for r in mine]):.1f} | "
            f"{median([s.per_second for s in sat]):,.0f} | {median([s.p99_ms for s in sat]):.1f} |"
        )
    both = pairs(runs, modes[0])
    p50 = [a.fixed.p50_ms - b.fixed.p50_ms for a, b in both]
    p99 = [a.fixed.p99_ms - b.fixed.p99_ms for a, b in both]
    rates = [
        a.saturated.per_second / b.saturated.per_second
        for a, b in both
        if a.saturated and b.saturated and b.saturated.per_second
    ]
    lines.append("")
    lines.append(
        f"Paired ({modes[0]} - {modes[-1]}, {len(both)} pairs): p50 {median(p50):+.1f} ms "
        f"(each: {', '.join(f'{d:+.1f}' for d in p50)}), p99 {median(p99):+.1f} ms "
        f"(each: {', '.join(f'{d:+.1f}' for d in p99)})"
        + (
            f"; saturation rate {modes[0]} / {modes[-1]} {median(rates):.2f} "
            f"(each: {', '.join(f'{r:.2f}' for r in rates)})"
            if rates
            else ""
        )
    )
    lags = [r.lag_max for r in runs if r.lag_max is not None]
    if lags:
        lines.append(
            f"Comments of the fixed-rate runs analysed at most {max(lags):.2f} s after their "
            f"answer (median of the runs' p99: "
            f"{median([r.lag_p99 for r in runs if r.lag_p99 is not None]):.2f} s)."
        )
    return "\n".join(lines)


def postgres(args: argparse.Namespace) -> str | None:
    """The administrative URL that creates each run's database, on PostgreSQL."""
    return args.postgres_url if args.database == "postgresql" else None


def database_words(args: argparse.Namespace) -> str:
    if args.database == "postgresql":
        return f"{postgres_version(args.postgres_url)}, a fresh database per run"
    return "SQLite, a fresh file per run"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=2, help="A B B A blocks (4 runs each)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds at the fixed rate")
    parser.add_argument("--rate", type=float, default=None, help="answers/s (default: a ramp)")
    parser.add_argument("--share", type=float, default=0.5, help="of the ramp's maximum")
    parser.add_argument("--ramp-step", type=float, default=3.0, help="seconds per ramp step")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds, not counted")
    parser.add_argument("--open-connections", type=int, default=64, help="open-loop connections")
    parser.add_argument("--saturation", type=float, default=10.0, help="seconds; 0: none")
    parser.add_argument("--connections", type=int, default=16, help="at saturation")
    parser.add_argument(
        "--analysed-within", type=float, default=10.0, help="seconds allowed per comment"
    )
    parser.add_argument("--settle", type=float, default=300.0, help="seconds to wait for a backlog")
    parser.add_argument(
        "--modes", default="process,off", help="A,B: CXPULSE_BACKGROUND_WORK of each"
    )
    parser.add_argument(
        "--no-rule", action="store_true", help="no rule: the answers' closed loop has no work"
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="a fresh SQLite file per run, or a fresh PostgreSQL database per run",
    )
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help="to create them")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args(argv)

    runs: list[Run] = []
    load_before = os.getloadavg()
    with contextlib.ExitStack() as stack:
        if args.keep:
            workdir = Path(tempfile.mkdtemp(prefix="cxpulse-analysis-bench-"))
            print(f"work folder kept: {workdir}", file=sys.stderr)
        else:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="cxpulse-analysis-bench-"))
            )
        rate = args.rate
        if rate is None:
            print("ramp (closed loop, CXPULSE_BACKGROUND_WORK=off):", file=sys.stderr)
            with server_for("off", workdir / "ramp", postgres_url=postgres(args)) as served:
                maximum = ramp(served.port, served.key, served.survey_id, args.ramp_step)
            rate = max(1.0, args.share * maximum)
            print(f"rate: {rate:,.0f}/s ({args.share:.0%} of {maximum:,.0f}/s)", file=sys.stderr)
        for n, mode in enumerate(sequence(args.rounds, args.modes.split(",")), 1):
            run = one_run(mode, rate, args, workdir / f"run-{n}")
            runs.append(run)
            print(
                f"run {n} {mode}: {run.fixed.per_second:,.0f}/s p50 {run.fixed.p50_ms:.1f} "
                f"p99 {run.fixed.p99_ms:.1f} ms; analysed after p99 {_s(run.lag_p99)} "
                f"max {_s(run.lag_max)} s; saturation "
                f"{'-' if run.saturated is None else f'{run.saturated.per_second:,.0f}/s'}",
                file=sys.stderr,
            )
    given = sys.argv[1:] if argv is None else list(argv)
    print(f"## `.venv/bin/python bench/{Path(__file__).name} {shlex.join(given)}`\n")
    print(
        f"One `cxpulse serve` (1 process, {database_words(args)}), {rate:,.0f} answers/s "
        f"for {args.duration:g} s open loop over {args.open_connections} connections, every "
        f"answer with a comment in one of {len(COMMENTS)} languages; saturation: "
        f"{args.saturation:g} s closed loop from {args.connections} connections. "
        f"{cpu_model()} ({os.cpu_count()} CPUs), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average before "
        f"{', '.join(f'{v:.2f}' for v in load_before)}, after "
        f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}.\n"
    )
    print(run_table(runs))
    print()
    print(summary(runs, args.modes.split(",")))
    problems = [p for run in runs for p in run.problems]
    print()
    for line in problems or ["every answer stored; every comment analysed in time"]:
        print(f"{'FAIL' if problems else 'PASS'}: {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
