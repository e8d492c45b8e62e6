"""Benchmark: what a rate-limited request pays for limits shared through PostgreSQL.

Measures, on a PostgreSQL database made for the run (127.0.0.1:5432, user postgres by
default; dropped afterwards), the time of one ``take`` of

1. the in-memory ``TokenBucket`` (SQLite's single process; PostgreSQL's before shared limits),
2. ``SharedTokenBucket`` when the attempt is allowed: one UPSERT ... RETURNING on the
   UNLOGGED ``rate_buckets`` table (``store.rate_buckets``),
3. ``SharedTokenBucket`` when the client is already over its limit: refused from this
   process's memory, without a statement,

from --threads threads at once (a server process's thread pool), over --clients client
addresses. Prints a Markdown table (median and 99th percentile in microseconds, takes per
second) and the machine's load average, so that a busy machine can be recognised.

    .venv/bin/python bench/shared_rate_limits.py
    .venv/bin/python bench/shared_rate_limits.py --takes 20000 --threads 4
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from cxpulse.store.db import create_engine_for, migrate
from cxpulse.store.rate_buckets import SharedBuckets
from cxpulse.web.tokens import SharedTokenBucket, TokenBucket


def _run(take: Callable[[str], float], takes: int, threads: int, clients: int) -> list[float]:
    timings: list[float] = []
    lock = threading.Lock()

    def work(offset: int) -> None:
        mine = []
        for n in range(takes // threads):
            client = f"10.0.{(offset + n) % clients // 250}.{(offset + n) % 250}"
            started = time.perf_counter()
            take(client)
            mine.append(time.perf_counter() - started)
        with lock:
            timings.extend(mine)

    running = [threading.Thread(target=work, args=(i * 7919,)) for i in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return timings


def _row(name: str, timings: list[float], seconds: float) -> str:
    ordered = sorted(timings)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return (
        f"| {name} | {statistics.median(ordered) * 1e6:,.0f} | {p99 * 1e6:,.0f} | "
        f"{len(ordered) / seconds:,.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--takes", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clients", type=int, default=1_000)
    args = parser.parse_args()

    name = f"cxpulse_bench_limits_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(args.admin_url).set(database=name)
    try:
        engine = create_engine_for(url)
        migrate(engine)
        engine.dispose()
        buckets = SharedBuckets(url)
        rows = []
        local = TokenBucket(1_000_000, 1e9)
        shared = SharedTokenBucket("bench", 1_000_000, 1e9, buckets)
        refused = SharedTokenBucket("full", 1, 1e-6, buckets)
        for client in (f"10.0.{n // 250}.{n % 250}" for n in range(args.clients)):
            refused.take(client)  # every client spends its only token
        for label, limiter in (
            ("in memory (one process)", local),
            ("shared, allowed: one statement", shared),
            ("shared, over the limit: from memory", refused),
        ):
            _run(limiter.take, min(1000, args.takes), args.threads, args.clients)  # warm-up
            started = time.perf_counter()
            timings = _run(limiter.take, args.takes, args.threads, args.clients)
            rows.append(_row(label, timings, time.perf_counter() - started))
        buckets.close()
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"{args.takes:,} takes from {args.threads} threads over {args.clients:,} clients")
    print()
    print("| limiter | median µs | p99 µs | takes/s |")
    print("|---|---:|---:|---:|")
    print("\n".join(rows))
    print()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
