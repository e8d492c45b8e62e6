"""Benchmark: invitation emails per second from the outbox worker to a local SMTP server.

    .venv/bin/python bench/send_invitations.py                 # 10,000 on SQLite
    .venv/bin/python bench/send_invitations.py --count 2000 \\
        --database postgresql://postgres@127.0.0.1:5432/cxpulse_bench

The SMTP server (aiosmtpd) runs in its own process and only counts what it receives. The
database is a fresh SQLite file in a temporary folder unless ``--database`` names an empty
PostgreSQL database (its tables are emptied first). The invitations are created first (not
timed), then one ``OutboxWorker`` sends them all: that is the figure, in emails per second,
as a Markdown table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import sys
import tempfile
import time
from pathlib import Path

TARGET_PER_SECOND = 200.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(port: int, count: multiprocessing.sharedctypes.Synchronized) -> None:  # type: ignore[type-arg]
    import asyncio

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, Envelope, Session

    class Counter:
        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        asyncio.run(asyncio.sleep(10**6))
    finally:
        controller.stop()


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the SMTP server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--database", default=None)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="workers sending at once")
    args = parser.parse_args()

    from sqlalchemy.orm import Session

    from cxpulse.act.worker import OutboxWorker, drain_together
    from cxpulse.collect.invitations import InvitationRequest, create_invitations
    from cxpulse.collect.links import LinkSigner
    from cxpulse.collect.smtp import SmtpSettings
    from cxpulse.store import accounts, surveys
    from cxpulse.store.db import create_engine_for, migrate, session_factory
    from cxpulse.store.models import Base

    folder = tempfile.TemporaryDirectory(prefix="cxpulse-bench-")
    url = args.database or f"sqlite:///{Path(folder.name) / 'bench.db'}"
    engine = create_engine_for(url)
    migrate(engine)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "alembic_version":
                connection.execute(table.delete())
    sessions = session_factory(engine)
    with sessions.begin() as session:
        organisation = accounts.create_organisation(session, slug="bench", name="Bench Shop")
        survey = surveys.create_survey(
            session, organisation.id, slug="csat", name="CSAT", metric="csat", status="active"
        )
        organisation_id, survey_id = organisation.id, survey.id
    made = time.perf_counter()
    for start in range(0, args.count, 1000):
        with sessions.begin() as session:
            assert isinstance(session, Session)
            create_invitations(
                session,
                organisation_id,
                survey_id,
                [
                    InvitationRequest(email=f"customer{n}@example.com", name=f"Customer {n}")
                    for n in range(start, min(args.count, start + 1000))
                ],
            )
    made = time.perf_counter() - made

    port = _free_port()
    received = multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=_serve, args=(port, received), daemon=True)
    server.start()
    _wait_listening(port)
    smtp = SmtpSettings(host="127.0.0.1", port=port, mail_from="surveys@bench.example")
    workers = [
        OutboxWorker(engine, smtp, LinkSigner("bench-key"), batch_size=args.batch_size)
        for _ in range(args.threads)
    ]
    started = time.perf_counter()
    stats = drain_together(workers)
    seconds = time.perf_counter() - started
    for worker in workers:
        worker.connection.close()
    deadline = time.monotonic() + 10
    while received.value < stats.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    server.terminate()
    engine.dispose()
    rate = stats.sent / seconds if seconds else 0.0
    backend = engine.dialect.name
    print(
        "| database | threads | emails | received | seconds | emails/s | target "
        "| invitations made/s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {backend} | {args.threads} | {stats.sent:,} | {received.value:,} | {seconds:.1f} "
        f"| {rate:,.0f} | {TARGET_PER_SECOND:.0f} | {args.count / made:,.0f} |"
    )
    if stats.sent != args.count or received.value != args.count:
        sys.exit(f"expected {args.count} emails, sent {stats.sent}, received {received.value}")


if __name__ == "__main__":
    main()
