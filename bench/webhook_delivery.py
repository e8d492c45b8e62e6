"""Benchmark: webhook deliveries per second from the worker to a receiver on loopback.

    .venv/bin/python bench/webhook_delivery.py                   # SQLite and local PostgreSQL
    .venv/bin/python bench/webhook_delivery.py --count 10000 --runs 5
    .venv/bin/python bench/webhook_delivery.py --postgres-admin none   # SQLite only

The receiver is uvicorn in its own process: it checks every request's signature, as a real
receiver would, counts the good ones and answers 204. Each run publishes ``--count`` events
to one endpoint (not timed: the rate of ``publish`` is shown apart), then one worker delivers
them all in batches (the ``webhook`` task of ``act.webhook_delivery``: parallel posts over
kept-alive connections, one commit per batch): that is the figure. The table shows the
median of the runs per database, next to the target of 500 per second.
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

TARGET_PER_SECOND = 500.0
DEFAULT_POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(port: int, secret: Any, good: Any, bad: Any) -> None:
    """The receiver: verify, count, answer 204."""
    from datetime import UTC, datetime

    import uvicorn

    from cxpulse.act.webhook_signing import InvalidSignature, verify

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {name.decode(): value.decode() for name, value in scope["headers"]}
        try:
            verify(secret.value.decode(), headers, body, now=datetime.now(UTC))
            counter, status = good, 204
        except InvalidSignature:
            counter, status = bad, 400
        with counter.get_lock():
            counter.value += 1
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the receiver did not start")


def _run(url: str, count: int, receiver_port: int, secret: Any, good: Any) -> tuple[float, float]:
    """One run on the database at ``url``: (deliveries per second, publishes per second)."""
    from cxpulse.act import events, webhook_delivery
    from cxpulse.act.jobs import JobRegistry
    from cxpulse.act.outbox_worker import OutboxWorker
    from cxpulse.act.tasks import TaskRegistry
    from cxpulse.collect.links import LinkSigner
    from cxpulse.collect.smtp import SmtpSettings
    from cxpulse.store import accounts, webhooks
    from cxpulse.store.db import create_engine_for, migrate, session_factory
    from cxpulse.store.models import Base

    engine = create_engine_for(url)
    migrate(engine)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "alembic_version":
                connection.execute(table.delete())
    sessions = session_factory(engine)
    with sessions.begin() as session:
        organisation = accounts.create_organisation(session, slug="bench", name="Bench Shop")
        endpoint = webhooks.create_endpoint(
            session, organisation.id, url=f"http://127.0.0.1:{receiver_port}/hook"
        )
        secret.value = endpoint.secret.encode()
        organisation_id = organisation.id
    published = time.perf_counter()
    for start in range(0, count, 500):
        with sessions.begin() as session:
            for n in range(start, min(count, start + 500)):
                data = {"response_id": n, "survey_id": 1, "score": n % 5 + 1}
                events.publish(session, organisation_id, "response.created", data)
    published = time.perf_counter() - published

    tasks, jobs = TaskRegistry(), JobRegistry()
    webhook_delivery.register(tasks, jobs)
    worker = OutboxWorker(
        engine,
        SmtpSettings(host="127.0.0.1", port=1),
        LinkSigner("bench-key"),
        tasks=tasks,
        jobs=jobs,
        analyse_comments=False,
    )
    before = good.value
    started = time.perf_counter()
    delivered = 0
    while True:
        handled = worker.run_tasks()
        if handled == 0:
            break
        delivered += handled
    seconds = time.perf_counter() - started
    worker.connection.close()
    webhook_delivery.close_shared_poster()
    engine.dispose()
    arrived = good.value - before
    if delivered != count or arrived != count:
        sys.exit(f"expected {count} deliveries, handled {delivered}, {arrived} arrived signed")
    return count / seconds, count / published


def _postgres_database(admin_url: str) -> tuple[str, str] | None:
    """A new database for the runs, as (its URL, its name); None when unreachable."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"cxpulse_bench_webhooks_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        print(f"PostgreSQL skipped: {error}".strip(), file=sys.stderr)
        return None
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), name


def _drop(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="deliveries per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--postgres-admin",
        default=DEFAULT_POSTGRES_ADMIN,
        help="an admin URL to create a database for the runs; 'none' for SQLite only",
    )
    args = parser.parse_args()

    port = _free_port()
    secret = multiprocessing.Array("c", 200)
    good = multiprocessing.Value("i", 0)
    bad = multiprocessing.Value("i", 0)
    receiver = multiprocessing.Process(target=_serve, args=(port, secret, good, bad), daemon=True)
    receiver.start()
    _wait_listening(port)
    folder = tempfile.TemporaryDirectory(prefix="cxpulse-bench-")
    databases: list[tuple[str, str, str | None]] = [
        ("sqlite", f"sqlite:///{Path(folder.name) / 'bench.db'}", None)
    ]
    if args.postgres_admin != "none":
        made = _postgres_database(args.postgres_admin)
        if made is not None:
            databases.append(("postgresql", made[0], made[1]))
    rows = []
    try:
        for backend, url, _ in databases:
            results = [_run(url, args.count, port, secret, good) for _ in range(args.runs)]
            rates = [rate for rate, _ in results]
            rows.append(
                (
                    backend,
                    statistics.median(rates),
                    min(rates),
                    max(rates),
                    statistics.median(published for _, published in results),
                )
            )
    finally:
        for _, _, name in databases:
            if name is not None:
                _drop(args.postgres_admin, name)
        receiver.terminate()
    print(f"{args.count:,} deliveries per run, {args.runs} runs, receiver on loopback checking")
    print(f"every signature ({bad.value} refused)\n")
    print("| database | deliveries/s (median) | slowest run | fastest run | target | published/s |")
    print("|---|---|---|---|---|---|")
    for backend, median, low, high, published in rows:
        print(
            f"| {backend} | {median:,.0f} | {low:,.0f} | {high:,.0f} "
            f"| {TARGET_PER_SECOND:.0f} | {published:,.0f} |"
        )
    if bad.value:
        sys.exit(f"{bad.value} requests had a bad signature")


if __name__ == "__main__":
    main()
