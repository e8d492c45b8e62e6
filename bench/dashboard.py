"""Benchmark: server-side render of a survey's dashboard page at 1 and 5 million responses.

Target: "``GET /app/surveys/{id}`` renders in at most 300 ms (median) with 1 million
responses, and no slower at 5 million."

The data are the SQLite databases of ``bench/store_metrics.py`` (one NPS survey, N responses
over 2023 and 2024, four channels, daily rollups), built by it the first time and cached in
``bench/data``; this script only adds a viewer user (once) so that it can sign in.

What it measures, in this process: the app (``create_app`` on the database file) serves
``GET /app/surveys/{id}`` through Starlette's TestClient with a signed session cookie; the
time is ``time.perf_counter`` around the request, so it holds authentication, the three
grouped queries of the view (daily histograms of two years, the breakdown by channel, the
property names of the latest responses), the goals, the scoring, the charts and the HTML.
The default view is the 12 months up to the latest response (all of 2024).

Two cases per size, after one untimed warm-up request each:

1. ``page``: the same URL again and again, as a dashboard that people reload;
2. ``page, charts cold``: the same, but the caches of drawn charts are cleared before each
   request, so every request also builds both chart specs with Altair and draws them with
   vl-convert (what a view nobody looked at before costs).

Run from the repository root::

    .venv/bin/python bench/dashboard.py                       # 1M and 5M, 15 runs each
    .venv/bin/python bench/dashboard.py --sizes 100000 --runs 5

It prints Markdown tables and the targets with PASS/FAIL; it exits 1 only when a page does
not answer 200 or shows the wrong number of answers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))

import store_metrics
from cxpulse.config import Settings
from cxpulse.store import security
from cxpulse.store.db import create_engine_for, session_factory
from cxpulse.store.models import User
from cxpulse.web import create_app
from cxpulse.web.options import WebOptions
from cxpulse.web.routes import dashboard
from cxpulse.web.state import AppState
from cxpulse.web.tokens import CSRF_COOKIE, SESSION_COOKIE

TARGET_MS = 300.0
TARGET_AT = 1_000_000
TARGET_RATIO = 1.2
BENCH_EMAIL = "bench-dashboard@example.com"


@dataclass
class Case:
    rows: int
    label: str
    cold_charts: bool
    times_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)


def _viewer(path: Path, organisation_id: int) -> tuple[int, str]:
    """The benchmark's viewer (created once): its id and password hash."""
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        with session_factory(engine)() as session:
            user = session.scalar(select(User).where(User.email == BENCH_EMAIL))
            if user is None:
                user = User(
                    organisation_id=organisation_id,
                    email=BENCH_EMAIL,
                    role="viewer",
                    password_hash=security.hash_password("bench-dashboard-password"),
                )
                session.add(user)
                session.commit()
            return user.id, user.password_hash
    finally:
        engine.dispose()


def measure(db: store_metrics.Database, runs: int) -> list[Case]:
    user_id, password_hash = _viewer(db.path, db.organisation_id)
    engine = create_engine_for(f"sqlite:///{db.path}")
    settings = Settings(database_url=f"sqlite:///{db.path}", secret_key="bench")
    app = create_app(settings, engine, options=WebOptions())
    state: AppState = app.state.cxpulse
    session = state.signer.issue(user_id, password_hash)
    cookie = f"{SESSION_COOKIE}={state.signer.dumps(session)}; {CSRF_COOKIE}={session.csrf_token}"
    url = f"/app/surveys/{db.survey_id}"
    cases = [Case(db.rows, "page", False), Case(db.rows, "page, charts cold", True)]
    try:
        with TestClient(app, base_url="https://bench") as client:
            for case in cases:
                _request(client, url, cookie, case.cold_charts)  # warm-up
            for _ in range(runs):
                for case in cases:
                    case.times_ms.append(_request(client, url, cookie, case.cold_charts))
    finally:
        engine.dispose()
    return cases


def _request(client: TestClient, url: str, cookie: str, cold: bool) -> float:
    if cold:
        dashboard.clear_chart_caches()
    started = time.perf_counter()
    answer = client.get(url, headers={"Cookie": cookie})
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200 or "Headline" not in answer.text:
        raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:300]}")
    return elapsed


def print_results(cases: Sequence[Case]) -> list[bool | None]:
    print("| responses | case | runs | min ms | median ms | max ms |")
    print("|---:|---|---:|---:|---:|---:|")
    for case in cases:
        t = case.times_ms
        print(
            f"| {case.rows:,} | {case.label} | {len(t)} | {min(t):.1f} | {case.median:.1f} "
            f"| {max(t):.1f} |"
        )
    results: list[bool | None] = []
    print("\n| target | measured | result |")
    print("|---|---|---|")
    for label in ("page", "page, charts cold"):
        by_size = {c.rows: c for c in cases if c.label == label}
        if TARGET_AT in by_size:
            median = by_size[TARGET_AT].median
            ok = median <= TARGET_MS
            results.append(ok)
            print(
                f"| {label}: median <= {TARGET_MS:g} ms at {TARGET_AT:,} | {median:.1f} ms "
                f"| **{'PASS' if ok else 'FAIL'}** |"
            )
        largest = max(by_size)
        if TARGET_AT in by_size and largest > TARGET_AT:
            ratio = by_size[largest].median / by_size[TARGET_AT].median
            ok = ratio <= TARGET_RATIO
            results.append(ok)
            print(
                f"| {label}: no slower at {largest:,} (ratio <= {TARGET_RATIO:g}) "
                f"| {ratio:.2f} | **{'PASS' if ok else 'FAIL'}** |"
            )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,5000000", help="responses, commas")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per case")
    parser.add_argument("--data-dir", type=Path, default=store_metrics.BENCH / "data")
    args = parser.parse_args(argv)
    sizes = sorted({int(part.replace("_", "")) for part in args.sizes.split(",")})
    cases: list[Case] = []
    for rows in sizes:
        db = store_metrics.prepare(args.data_dir.resolve(), rows, False)
        cases += measure(db, args.runs)
    print(f"\n### Dashboard page render, {args.runs} timed requests per case\n")
    results = print_results(cases)
    print(
        "\nWall milliseconds per request in this process (TestClient, signed session, "
        "default view: 12 months up to the latest response), after one warm-up request."
    )
    print(f"- load average: {store_metrics._load_average()}; nproc {store_metrics._cpus()}")
    missed = any(r is False for r in results)
    print("SOME TARGETS MISSED" if missed else "All targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
