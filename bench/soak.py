"""Soak: answers at a steady rate for minutes, with the closed loop running, on PostgreSQL.

What runs, all on loopback and in a fresh PostgreSQL database (created for the run and
dropped afterwards):

- ``cxpulse serve --workers 2`` (two service processes sharing one port; ``--separate``
  starts two single-process servers on two ports instead, and the load alternates), without
  an outbox worker of its own (``CXPULSE_INLINE_WORKER=false``, ``CXPULSE_BACKGROUND_WORK=off``);
- two ``cxpulse worker`` processes: they run the rules, send the emails, post the webhooks
  and analyse the comments (four answers in five carry one);
- a rule that emails a notice about each detractor (score 0-6), and a webhook endpoint for
  ``response.created``, received by the real SMTP server and signature-checking webhook
  receiver of ``tests/`` (in a child process of their own).

First a short ramp (closed loop, 2 to 32 connections, --ramp-step seconds each) finds the
maximum the servers sustain; then the soak sends at --rate (default: 80% of that maximum)
for --duration seconds, open loop (latency counted from when each request was due: a server
falling behind shows it). It prints p50/p99/max latency, the accepted count, the resident
memory (VmRSS) of every process at the start and at the end, and, once the closed loop has
settled, checks that the stored answers are the accepted ones, that each detractor's notice
arrived once per Message-ID and each answer's webhook once per event id.

Run from the repository root::

    .venv/bin/python bench/soak.py                       # 300 s at 80% of the ramp's maximum
    .venv/bin/python bench/soak.py --duration 60
    .venv/bin/python bench/soak.py --duration 60 --rate 150 --separate

Exit status 0 when every check held, 1 otherwise. It measures and checks; it sets no speed
target.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the real receivers and process helpers of tests/

from tests.load_checks import delivery_problems, read_ledger, wait_settled  # noqa: E402
from tests.load_client import Result, quantile, run_closed, run_load  # noqa: E402
from tests.load_fleet import (  # noqa: E402
    Proc,
    free_port,
    make_shop,
    rss_kb,
    start_server,
    start_worker,
    stop,
    tree_pids,
)
from tests.load_receivers import Receivers  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RAMP_CONNECTIONS = (2, 4, 8, 16, 32)


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"cxpulse_soak_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def memory(procs: Sequence[Proc]) -> dict[str, int]:
    """VmRSS in kB of each process and its children (a --workers server's children)."""
    found: dict[str, int] = {}
    for proc in procs:
        for pid in tree_pids(proc.pid):
            rss = rss_kb(pid)
            if rss is not None:
                role = proc.name if pid == proc.pid else f"{proc.name} child {pid}"
                found[role] = rss
    return found


def summary(results: Sequence[Result], seconds: float) -> dict[str, object]:
    ok = [r for r in results if r.accepted]
    latencies = [r.latency * 1000 for r in results if r.status]
    return {
        "sent": len(results),
        "accepted": len(ok),
        "per_second": len(ok) / seconds if seconds else 0.0,
        "p50_ms": quantile(latencies, 0.50),
        "p99_ms": quantile(latencies, 0.99),
        "max_ms": max(latencies, default=float("nan")),
        "other": dict(Counter(r.status for r in results if not r.accepted)),
    }


def ramp(ports: Sequence[int], key: str, survey_id: int, step: float) -> tuple[float, list[Result]]:
    """The best accepted answers per second over closed-loop steps of more connections,
    stopping once a step gains less than 5%; every result, to be checked with the rest."""
    best, every = 0.0, []
    for n, connections in enumerate(RAMP_CONNECTIONS):
        results = run_closed(
            ports, key, survey_id, seconds=step, connections=connections, first=10**8 * (n + 1)
        )
        every.extend(results)
        got = summary(results, step)
        rate = float(got["per_second"])  # type: ignore[arg-type]
        print(
            f"  ramp {connections:>2} connections: {rate:,.0f}/s, "
            f"p99 {got['p99_ms']:.0f} ms, other {got['other']}",
            file=sys.stderr,
        )
        if rate < best * 1.05:
            best = max(best, rate)
            break
        best = rate
    return best, every


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of the soak")
    parser.add_argument("--rate", type=float, default=None, help="answers/s (default: 80%% of max)")
    parser.add_argument("--ramp-step", type=float, default=4.0, help="seconds per ramp step")
    parser.add_argument("--connections", type=int, default=64, help="open-loop connections")
    parser.add_argument("--separate", action="store_true", help="two servers on two ports")
    parser.add_argument(
        "--settle", type=float, default=900.0, help="seconds to wait for the loop afterwards"
    )
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="cxpulse-soak-"))
    load_before = os.getloadavg()
    uptime_before = _uptime()
    problems: list[str] = []
    autovacuum = "?"
    try:
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(postgres_database(args.postgres_url))
            hook_port = free_port()
            shop = make_shop(url, f"http://127.0.0.1:{hook_port}/hook")
            autovacuum = _setting(url, "autovacuum")
            receivers = stack.enter_context(Receivers(hook_port, shop.hook_secret))
            if args.separate:
                ports = [free_port(), free_port()]
                servers = [start_server(url, p, workdir / f"server-{p}.log") for p in ports]
            else:
                ports = [free_port()]
                servers = [start_server(url, ports[0], workdir / "server.log", workers=2)]
            for server in servers:
                stack.callback(stop, server)
            workers = [
                start_worker(url, receivers.smtp_port, workdir / f"worker-{n}.log")
                for n in range(2)
            ]
            for worker in workers:
                stack.callback(stop, worker)
            procs = [*servers, *workers]
            time.sleep(3.0)  # the workers' imports and first rounds
            rss_start = memory(procs)

            print("ramp (closed loop):", file=sys.stderr)
            maximum, ramp_results = ramp(ports, shop.key, shop.survey_id, args.ramp_step)
            rate = args.rate if args.rate else max(1.0, 0.8 * maximum)
            print(f"soak: {rate:,.0f}/s for {args.duration:g} s", file=sys.stderr)
            started = time.perf_counter()
            results = run_load(
                ports,
                shop.key,
                shop.survey_id,
                rate=rate,
                seconds=args.duration,
                connections=args.connections,
            )
            elapsed = time.perf_counter() - started
            rss_end = memory(procs)
            at_stop = read_ledger(url, shop.survey_id)
            load_end = os.getloadavg()
            uptime_end = _uptime()
            soak = summary(results, elapsed)
            settle_started = time.monotonic()
            ledger = wait_settled(url, shop.survey_id, args.settle, _settle_progress(), poll=5.0)
            settled_after = time.monotonic() - settle_started
            time.sleep(1.0)  # the last webhook's answer reaches the receiver's list
            seen = receivers.snapshot()
            accepted = [r for r in [*ramp_results, *results] if r.accepted]
            problems = delivery_problems(ledger, accepted, seen)
            final = read_ledger(url, shop.survey_id)
            dead = [p for p in procs if p.popen.poll() is not None]
            if dead:
                problems.append(f"processes died during the run: {[p.name for p in dead]}")
    finally:
        if args.keep:
            print(f"work folder kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    given = sys.argv[1:] if argv is None else list(argv)
    command = " ".join([".venv/bin/python", f"bench/{Path(__file__).name}", shlex.join(given)])
    layout = (
        "two single-process servers on two ports"
        if args.separate
        else ("`cxpulse serve --workers 2`")
    )
    print(f"## Soak: `{command}`\n")
    print(
        f"{layout} and two `cxpulse worker` on PostgreSQL, a rule emailing each detractor, a "
        f"webhook endpoint for `response.created`; ramp maximum {maximum:,.0f}/s, soak at "
        f"{rate:,.0f}/s for {elapsed:.0f} s over {args.connections} connections (open loop).\n"
    )
    print("| phase | sent | accepted | answers/s | p50 ms | p99 ms | max ms | not accepted |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    ramp_seconds = args.ramp_step * len({r.number // 10**8 for r in ramp_results})
    for name, got in (("ramp", summary(ramp_results, ramp_seconds)), ("soak", soak)):
        print(
            f"| {name} | {got['sent']:,} | {got['accepted']:,} | {got['per_second']:,.0f} "
            f"| {got['p50_ms']:.1f} | {got['p99_ms']:.1f} | {got['max_ms']:.0f} "
            f"| {got['other'] or 'none'} |"
        )
    print("\n| process | VmRSS at start (MB) | VmRSS at end (MB) |")
    print("|---|---:|---:|")
    for role in sorted(set(rss_start) | set(rss_end)):
        start_mb = rss_start.get(role)
        end_mb = rss_end.get(role)
        print(
            f"| {role} | {'-' if start_mb is None else f'{start_mb / 1024:.0f}'} "
            f"| {'-' if end_mb is None else f'{end_mb / 1024:.0f}'} |"
        )
    emails = len(seen.message_ids)
    done_at_stop = at_stop.states.get(("response-event", "sent"), 0)
    print(
        f"\nThe closed loop (rules, emails, webhooks, comment analysis) by the two workers: "
        f"{done_at_stop:,} of {len(at_stop.stored):,} answers' rules run and "
        f"{at_stop.analysed:,} comments analysed when the load stopped, the rest in the "
        f"{settled_after:.0f} s after; "
        f"{len(final.stored) / (ramp_seconds + elapsed + settled_after):,.0f} answers/s through "
        "the whole loop overall."
    )
    print(
        f"\nAfterwards (the loop settled {settled_after:.0f} s after the load stopped): "
        f"{len(final.stored):,} answers stored for {len(accepted):,} accepted; "
        f"{emails:,} notice emails received ({len(set(seen.message_ids)):,} Message-IDs) for "
        f"{len(final.low):,} detractors; {len(seen.event_ids):,} webhooks received "
        f"({len(set(seen.event_ids)):,} event ids); {final.analysed:,} of "
        f"{final.with_comment:,} comments analysed."
    )
    print()
    for line in problems or ["every check held"]:
        print(f"{'FAIL' if problems else 'PASS'}: {line}")
    print(
        f"\nMachine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average (1, 5, 15 min) before "
        f"{_loads(load_before)}, at the end of the soak {_loads(load_end)}; PostgreSQL "
        f"autovacuum {autovacuum} (off: the tables filled by the soak have no planner "
        "statistics until someone runs ANALYZE)\n"
        f"uptime before: {uptime_before}\nuptime after: {uptime_end}"
    )
    return 1 if problems else 0


def _settle_progress() -> Callable[[float, int], None]:
    """Every 10 s while the loop catches up: the items left and the pace of the last 10 s."""
    last: list[tuple[float, int]] = []

    def show(waited: float, left: int) -> None:
        if last and waited - last[0][0] < 10.0 and left:
            return
        pace = ""
        if last:
            rate = (last[0][1] - left) / max(waited - last[0][0], 0.1)
            pace = f", {rate:,.0f} items/s"
        print(f"settling: {left:,} loop items open after {waited:.0f} s{pace}", file=sys.stderr)
        last[:] = [(waited, left)]

    return show


def _setting(url: str, name: str) -> str:
    from cxpulse.store.db import create_engine_for

    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            return str(connection.exec_driver_sql(f"SHOW {name}").scalar())
    finally:
        engine.dispose()


def _loads(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _uptime() -> str:
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "(uptime not available)"


if __name__ == "__main__":
    sys.exit(main())
