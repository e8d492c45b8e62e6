"""Benchmark: what queueing each new answer's ``response-event`` adds to the submission path.

What it measures: transactions of ``store.responses.add_each`` (the path of
``POST /api/v1/surveys/{id}/responses``, which commits the submissions of many callers
together), each with a batch of --batch answers, committed, on a fresh SQLite file and a
fresh PostgreSQL database. Paired: every round runs one transaction with the outbox insert
and one without (``store.response_events.queue`` replaced by a no-op), in alternating
order, so that both see the same machine at the same moment. Reported per database: p50 and
p99 of each, and p50/p99 of the paired differences (with minus without), in milliseconds.

Run from the repository root::

    .venv/bin/python bench/rule_events_submit.py                  # 2000 rounds, both DBs
    .venv/bin/python bench/rule_events_submit.py --rounds 500 --databases sqlite

It measures, it does not judge; the target is a p99 difference of at most 5 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from cxpulse.store import accounts, response_events, responses, surveys
from cxpulse.store.db import create_engine_for, migrate, session_factory
from cxpulse.store.response_checks import NewResponse

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _no_queue(*_: object) -> None:
    return None


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _run(url: str, rounds: int, batch: int) -> dict[str, list[float]]:
    engine = create_engine_for(url)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="bench", name="Bench")
        survey = surveys.create_survey(
            session, org.id, slug="nps", name="NPS", metric="nps", status="active"
        )
        org_id, survey_id = org.id, survey.id
    real_queue = response_events.queue
    times: dict[str, list[float]] = {"with": [], "without": []}

    def one(queue_events: bool, n: int) -> float:
        # add_each looks the function up at each call: swapping it is the whole difference.
        setattr(response_events, "queue", real_queue if queue_events else _no_queue)  # noqa: B010
        items = [
            (
                org_id,
                NewResponse(
                    survey_id=survey_id,
                    score=(n + i) % 11,
                    channel="web",
                    comment="fine" if i % 3 else None,
                ),
            )
            for i in range(batch)
        ]
        started = time.perf_counter()
        with sessions.begin() as session:
            responses.add_each(session, items)
        return (time.perf_counter() - started) * 1000

    for n in range(50):  # warm-up, not counted
        one(n % 2 == 0, n)
    for n in range(rounds):
        order = (True, False) if n % 2 == 0 else (False, True)
        for queue_events in order:
            times["with" if queue_events else "without"].append(one(queue_events, n))
    setattr(response_events, "queue", real_queue)  # noqa: B010
    engine.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=8, help="answers per transaction")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args()
    print(
        "| database | batch | p50 without | p50 with | p99 without | p99 with | "
        "paired diff p50 | paired diff p99 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for database in args.databases.split(","):
        if database == "sqlite":
            folder = tempfile.mkdtemp(prefix="cxpulse-bench-")
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            times = _run(url, args.rounds, args.batch)
        else:
            name = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                times = _run(
                    args.postgres_url.rsplit("/", 1)[0] + f"/{name}", args.rounds, args.batch
                )
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                admin.dispose()
        diffs = [a - b for a, b in zip(times["with"], times["without"], strict=True)]
        print(
            f"| {database} | {args.batch} | {statistics.median(times['without']):.2f} | "
            f"{statistics.median(times['with']):.2f} | {_quantile(times['without'], 0.99):.2f} | "
            f"{_quantile(times['with'], 0.99):.2f} | {statistics.median(diffs):.2f} | "
            f"{_quantile(diffs, 0.99):.2f} |"
        )


if __name__ == "__main__":
    main()
