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
property names of the latest responses), the comment rate (estimated from 40 slices of the
period above 200,000 answers), the goals, the scoring, the charts and the HTML.
The data end on 2024-12-31 while a headline's periods end today by default, so the page
is asked for ``?to=2024-12-31``: the trend covers the 12 months to that day (all of 2024, as
the default view did before), and the headline compares the 30 days to it with the 30
before (``report/comparison_windows.py``).

Two cases per size, after one untimed warm-up request each:

1. ``page``: the same URL again and again, as a dashboard that people reload;
2. ``page, charts cold``: the same, but the caches of drawn charts are cleared before each
   request, so every request also builds both chart specs with Altair and draws them with
   vl-convert (what a view nobody looked at before costs).

Run from the repository root::

    .venv/bin/python bench/dashboard.py                       # 1M and 5M, 15 runs each
    .venv/bin/python bench/dashboard.py --sizes 100000 --runs 5

It prints Markdown tables and the targets with PASS/FAIL. Every answer must be 200, show
the headline n (of its 30 days) that an independent ``COUNT(*)`` of the responses gives and
a comment rate near the share an independent count gives, else it stops with an error. The
sizes alternate request by request so that the machine's load hits them alike.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

import store_metrics
from cxpulse.config import Settings
from cxpulse.report import dashboard as dashboard_data
from cxpulse.report.filters_url import ViewFilters, Window
from cxpulse.store import security
from cxpulse.store.db import create_engine_for, session_factory
from cxpulse.store.models import Response, User
from cxpulse.web import create_app
from cxpulse.web.routes import auth, dashboard_charts
from cxpulse.web.state import AppState
from cxpulse.web.tokens import CSRF_COOKIE, SESSION_COOKIE

TARGET_MS = 300.0
TARGET_AT = 1_000_000
TARGET_RATIO = 1.2
LAST_DAY = date(2024, 12, 31)
"""The last day of the data of ``bench/store_metrics.py``: the view ends there."""
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


@dataclass
class Target:
    """One database's app, reached through its own TestClient."""

    db: store_metrics.Database
    client: TestClient
    cookie: str
    answers: int
    """Responses in the headline's current period, counted by SQL: the page must show this
    n."""
    comment_share: float
    """The percentage of the view's responses with a comment: the page's comment rate must
    hold it."""

    @property
    def url(self) -> str:
        return f"/app/surveys/{self.db.survey_id}?to={LAST_DAY.isoformat()}"


def open_target(db: store_metrics.Database, stack: ExitStack) -> Target:
    user_id, password_hash = _viewer(db.path, db.organisation_id)
    engine = create_engine_for(f"sqlite:///{db.path}")
    stack.callback(engine.dispose)
    settings = Settings(database_url=f"sqlite:///{db.path}", secret_key="bench")
    app = create_app(settings, engine)
    state: AppState = app.state.cxpulse
    client = stack.enter_context(TestClient(app, base_url="https://bench"))  # migrates
    # Sessions live on the server: start one for the viewer as a login would.
    with state.sessions() as writing:
        viewer = writing.get(User, user_id)
        assert viewer is not None
        assert viewer.password_hash == password_hash
        data, _ = auth.start_session(state, writing, viewer)
        writing.commit()
    cookie = f"{SESSION_COOKIE}={state.signer.dumps(data)}; {CSRF_COOKIE}={data.csrf_token}"
    filters = ViewFilters(to=LAST_DAY)
    headline = dashboard_data.comparison_for(filters, date.today()).current
    with session_factory(engine, read_only=True)() as reading:
        window = filters.window(
            dashboard_data.latest_day(reading, db.organisation_id, db.survey_id), date.today()
        )
        in_view, commented = _counts(reading, db.survey_id, window)
        answers = _counts(reading, db.survey_id, headline)[0]
    share = 100 * commented / max(1, in_view)
    return Target(db, client, cookie, answers, share)


def _counts(session: Session, survey_id: int, window: Window) -> tuple[int, int]:
    """(responses, of those with a comment) of the survey in ``window``, counted by SQL."""
    answers, commented = session.execute(
        select(func.count(), func.count(Response.comment)).where(
            Response.survey_id == survey_id,
            Response.submitted_at >= datetime.combine(window.start, clock(), UTC),
            Response.submitted_at < datetime.combine(window.end, clock(), UTC),
        )
    ).one()
    return int(answers or 0), int(commented or 0)


COMMENT_RATE = re.compile(
    r"Comment rate: <strong>(?:about )?([0-9.]+)%</strong>"
    r"(?:\s*\((?:\d+)% interval ([0-9.]+) to ([0-9.]+)\))?"
)


def measure(targets: Sequence[Target], runs: int) -> list[Case]:
    """Both cases for every size, the sizes alternating request by request so that the
    machine's ups and downs hit them alike; the warm pass runs before the cold one, which
    keeps clearing the chart caches."""
    cases: list[Case] = []
    for cold in (False, True):
        label = "page, charts cold" if cold else "page"
        pass_cases = [Case(t.db.rows, label, cold) for t in targets]
        for target in targets:
            _request(target, cold)  # warm-up
        for _ in range(runs):
            for target, case in zip(targets, pass_cases, strict=True):
                case.times_ms.append(_request(target, cold))
        cases += pass_cases
    return sorted(cases, key=lambda case: (case.rows, case.cold_charts))


def _request(target: Target, cold: bool) -> float:
    if cold:
        dashboard_charts.clear_chart_caches()
    started = time.perf_counter()
    answer = target.client.get(target.url, headers={"Cookie": target.cookie})
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise RuntimeError(f"{target.url} answered {answer.status_code}: {answer.text[:300]}")
    if f"n = {target.answers}" not in answer.text:
        raise RuntimeError(f"{target.url} does not show n = {target.answers}")
    shown = COMMENT_RATE.search(answer.text)
    if shown is None:
        raise RuntimeError(f"{target.url} shows no comment rate")
    value, low, high = shown.groups()
    # Shown to 0.1. An estimate's 95% interval misses the count one time in twenty, so the
    # check allows twice its half width (about four standard errors): it catches a broken
    # estimate, not bad luck.
    spread = (float(high) - float(low)) / 2 if low and high else 0.0
    lowest = float(low or value) - spread - 0.05
    highest = float(high or value) + spread + 0.05
    if not lowest <= target.comment_share <= highest:
        raise RuntimeError(
            f"{target.url} shows a comment rate of {shown.group(0)!r}, "
            f"the count gives {target.comment_share:.2f}%"
        )
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
    databases = [store_metrics.prepare(args.data_dir.resolve(), rows, False) for rows in sizes]
    with ExitStack() as stack:
        cases = measure([open_target(db, stack) for db in databases], args.runs)
    print(f"\n### Dashboard page render, {args.runs} timed requests per case\n")
    results = print_results(cases)
    print(
        "\nWall milliseconds per request in this process (TestClient, signed session, "
        "view to 2024-12-31: 12 months of trend, the headline's 30 days against the 30 before), "
        "after one warm-up request."
    )
    print(f"- load average: {store_metrics._load_average()}; nproc {store_metrics._cpus()}")
    missed = any(r is False for r in results)
    print("SOME TARGETS MISSED" if missed else "All targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
