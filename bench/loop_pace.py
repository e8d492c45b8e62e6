"""Benchmark: how many answers per second the closed loop gets through on PostgreSQL.

The soak (bench/soak.py) showed the loop falling behind the door; this measures the loop
alone, so that a change to it can be judged in a few minutes:

1. a fresh PostgreSQL database with the soak's shop (an NPS survey, a rule emailing each
   detractor, a webhook endpoint for ``response.created``), the real SMTP server and
   signature-checking webhook receiver on loopback;
2. ``cxpulse serve --workers 2`` takes ``--answers`` answers (closed loop, as fast as it
   can) while no worker runs, so they wait as a backlog; then the server stops;
3. ``--workers`` ``cxpulse worker`` processes start, and the clock runs until every loop
   item is done and every comment analysed: that is the figure, in answers per second, with
   the pace every 5 s, the CPU of each worker with its children (the text stage's process)
   and that of the PostgreSQL server;
4. the soak's checks: every answer's rules, one email per detractor and Message-ID, one
   webhook per event id.

    .venv/bin/python bench/loop_pace.py                       # 20,000 answers, 2 workers
    .venv/bin/python bench/loop_pace.py --answers 50000 --workers 4
    .venv/bin/python bench/loop_pace.py --analyze             # ANALYZE before the workers

Exit status 0 when every check held, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from soak import DEFAULT_POSTGRES_URL, postgres_database  # same folder: bench/

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the real receivers and process helpers of tests/

from tests.load_checks import delivery_problems, open_items, read_ledger  # noqa: E402
from tests.load_client import Result, run_closed  # noqa: E402
from tests.load_fleet import (  # noqa: E402
    free_port,
    make_shop,
    start_server,
    start_worker,
    stop,
    tree_pids,
)
from tests.load_receivers import Receivers  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process (from /proc), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL server process (backends come and go: a rough figure)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if name.startswith("postgres"):
            total += cpu_seconds(int(entry.name))
    return total


def fill(url: str, key: str, survey_id: int, answers: int, workdir: Path) -> int:
    """Submit at least ``answers`` answers with no worker running; the count accepted."""
    port = free_port()
    server = start_server(url, port, workdir / "server.log", workers=2)
    accepted = 0
    round_number = 0
    try:
        while accepted < answers:
            round_number += 1
            results = run_closed(
                [port], key, survey_id, seconds=2.0, connections=16, first=10**8 * round_number
            )
            accepted += sum(1 for r in results if r.accepted)
            print(f"  filled {accepted:,} answers", file=sys.stderr)
    finally:
        stop(server)
    return accepted


def analyse(url: str) -> None:
    from cxpulse.store.db import create_engine_for

    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--answers", type=int, default=20_000, help="the backlog to work off")
    parser.add_argument("--workers", type=int, default=2, help="`cxpulse worker` processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE before the workers")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait at most")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="cxpulse-loop-"))
    try:
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(postgres_database(args.postgres_url))
            hook_port = free_port()
            shop = make_shop(url, f"http://127.0.0.1:{hook_port}/hook")
            receivers = stack.enter_context(Receivers(hook_port, shop.hook_secret))
            print("filling the backlog (no worker running):", file=sys.stderr)
            fill(url, shop.key, shop.survey_id, args.answers, workdir)
            backlog = read_ledger(url, shop.survey_id)
            if args.analyze:
                analyse(url)
            pg_before = postgres_cpu_seconds()
            started = time.monotonic()
            workers = [
                start_worker(
                    url, receivers.smtp_port, workdir / f"worker-{n}.log", threads=args.threads
                )
                for n in range(args.workers)
            ]
            for worker in workers:
                stack.callback(stop, worker)
            cpu = {worker.pid: 0.0 for worker in workers}
            readings: dict[int, float] = {}
            owned: dict[int, set[int]] = {worker.pid: set() for worker in workers}
            last = (0.0, open_items(url))
            while True:
                time.sleep(5.0)
                for worker in workers:
                    # The worker and its children (the text stage's process): the last
                    # reading of each, so one that ended still counts.
                    for pid in tree_pids(worker.pid):
                        owned[worker.pid].add(pid)
                        readings[pid] = max(readings.get(pid, 0.0), cpu_seconds(pid))
                    cpu[worker.pid] = sum(readings[pid] for pid in owned[worker.pid])
                waited = time.monotonic() - started
                left = open_items(url)
                pace = (last[1] - left) / (waited - last[0])
                print(f"  {waited:5.0f} s: {left:,} items open, {pace:,.0f}/s", file=sys.stderr)
                last = (waited, left)
                if left == 0 or waited > args.timeout:
                    ledger = read_ledger(url, shop.survey_id)
                    if ledger.analysed >= ledger.with_comment or waited > args.timeout:
                        break
            elapsed = time.monotonic() - started
            pg_cpu = max(0.0, postgres_cpu_seconds() - pg_before)
            time.sleep(1.0)  # the last webhook's answer reaches the receiver's list
            seen = receivers.snapshot()
            accepted_ids = ledger.stored  # every answer the fill stored was accepted
            problems = delivery_problems(ledger, _accepted(accepted_ids), seen)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    given = sys.argv[1:] if argv is None else list(argv)
    command = " ".join([".venv/bin/python", f"bench/{Path(__file__).name}", shlex.join(given)])
    answers = len(backlog.stored)
    items = backlog.open_items()
    print(f"## Closed-loop pace: `{command}`\n")
    print(
        f"{answers:,} answers waiting ({backlog.with_comment:,} with a comment, "
        f"{len(backlog.low):,} detractors, {items:,} loop items open), worked off by "
        f"{args.workers} `cxpulse worker` ({args.threads} thread(s) each)"
        f"{', after ANALYZE' if args.analyze else ''}.\n"
    )
    print(
        "| answers | seconds | answers/s | worker CPU s (each, with children) | PostgreSQL CPU s |"
    )
    print("|---:|---:|---:|---|---:|")
    print(
        f"| {answers:,} | {elapsed:.1f} | {answers / elapsed:,.0f} "
        f"| {', '.join(f'{c:.0f}' for c in cpu.values())} | {pg_cpu:.0f} |"
    )
    print(
        f"\nCPU per answer: workers {sum(cpu.values()) / answers * 1000:.2f} ms, PostgreSQL "
        f"{pg_cpu / answers * 1000:.2f} ms; load average {os.getloadavg()[0]:.2f}."
    )
    print()
    for line in problems or ["every check held"]:
        print(f"{'FAIL' if problems else 'PASS'}: {line}")
    return 1 if problems else 0


def _accepted(ids: set[int]) -> list[Result]:
    return [Result(number=i, status=201, latency=0.0, response_id=i) for i in ids]


if __name__ == "__main__":
    sys.exit(main())
