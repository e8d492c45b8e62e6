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

With ``--comments`` it measures the target of issue 12 instead: "the dashboard with its
themes panel still at most 300 ms median at 1M responses with 400,000 comments". The data
are the commented variant of ``bench/store_metrics.py`` (``store_metrics_comments_<N>``:
about 40% of the answers carry a comment in English, Swedish, Dutch or Macedonian written by
the demo's generator). A copy of it has every comment analysed by the worker's own code,
``act.comment_analysis.analyse_pending`` called until nothing waits (progress and the rate
in comments/s are printed), and is cached as ``bench/data/dashboard_comments_<N>.sqlite3``;
its ``.meta.json`` holds the data's key, ``ANALYSIS_VERSION`` and a hash of the source of
the text stage and of the store and act modules that write analyses, so a cache made by
other code is never reused (and a reused one must still have nothing waiting). Three pages
are timed, request by request in turn:

1. ``analysed, analyst``: the page of an analyst (who may read responses), with the themes
   panel (costs and wins, examples) and the comments panel (latest comments as cards); the
   script asserts both are there and nothing says "Analysing";
2. ``analysed, viewer``: the same page for a viewer (no comments panel, themes without
   examples), on the same database;
3. ``before analysis, analyst`` (the baseline): the analyst's page of the commented database
   before analysis, whose panels only say "Analysing about N comments…" (the script
   asserts it): what the page cost without the panels' data.

Warm: the same URL again and again. Cold: before each request the caches of the first view
of a period are cleared (the theme counts of ``report.theme_counts`` and the drawn charts).
The app runs without its inline worker (``inline_worker=False``) in every mode: the worker
would otherwise analyse comments in this process while the page is timed.

Run from the repository root::

    .venv/bin/python bench/dashboard.py                       # 1M and 5M, 15 runs each
    .venv/bin/python bench/dashboard.py --sizes 100000 --runs 5
    .venv/bin/python bench/dashboard.py --comments            # 1M with 400,000 comments
    .venv/bin/python bench/dashboard.py --comments --sizes 100000 --runs 5

It prints Markdown tables and the targets with PASS/FAIL. Every answer must be 200, show
the headline n (of its 30 days) that an independent ``COUNT(*)`` of the responses gives and
a comment rate near the share an independent count gives, else it stops with an error. The
sizes alternate request by request so that the machine's load hits them alike.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent))

import store_metrics
from cxpulse.act.comment_analysis import ANALYSIS_VERSION, analyse_pending
from cxpulse.act.comment_pipeline import ensure_starter_taxonomy
from cxpulse.config import Settings
from cxpulse.report import dashboard as dashboard_data
from cxpulse.report import theme_counts
from cxpulse.report.filters_url import ViewFilters, Window
from cxpulse.store import security
from cxpulse.store.db import create_engine_for, session_factory
from cxpulse.store.models import AnalysedComment, Response, User
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
ANALYST_EMAIL = "bench-dashboard-analyst@example.com"
COMMENTS_SIZE = 1_000_000
ANALYSIS_BATCH = 5_000
"""Comments per ``analyse_pending`` call: each call scans the responses for waiting ones, so
the worker's 500 would spend most of the time scanning."""
ANALYSIS_SOURCES = (
    "src/cxpulse/text",
    "src/cxpulse/act/comment_analysis.py",
    "src/cxpulse/act/comment_pipeline.py",
    "src/cxpulse/store/comment_analyses.py",
    "src/cxpulse/store/comment_queue.py",
    "src/cxpulse/store/comment_rollups.py",
    "src/cxpulse/store/text_themes.py",
    "src/cxpulse/store/sentiment_models.py",
    "src/cxpulse/store/models.py",
)
"""What an analysed database depends on besides its data: its cache key hashes them."""


@dataclass
class Case:
    rows: int
    label: str
    cold_charts: bool
    times_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)


def _viewer(
    path: Path, organisation_id: int, email: str = BENCH_EMAIL, role: str = "viewer"
) -> tuple[int, str]:
    """The benchmark's user of ``role`` (created once): its id and password hash."""
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        with session_factory(engine)() as session:
            user = session.scalar(select(User).where(User.email == email))
            if user is None:
                user = User(
                    organisation_id=organisation_id,
                    email=email,
                    role=role,
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
    label: str = "page"
    expect: tuple[str, ...] = ()
    """Texts the page must hold."""
    refuse: tuple[str, ...] = ()
    """Texts the page must not hold."""

    @property
    def url(self) -> str:
        return f"/app/surveys/{self.db.survey_id}?to={LAST_DAY.isoformat()}"


def open_target(
    db: store_metrics.Database,
    stack: ExitStack,
    role: str = "viewer",
    label: str = "page",
    expect: tuple[str, ...] = (),
    refuse: tuple[str, ...] = (),
) -> Target:
    email = BENCH_EMAIL if role == "viewer" else ANALYST_EMAIL
    user_id, password_hash = _viewer(db.path, db.organisation_id, email, role)
    engine = create_engine_for(f"sqlite:///{db.path}")
    stack.callback(engine.dispose)
    # No inline worker: it would analyse comments in this process while the page is timed.
    settings = Settings(
        database_url=f"sqlite:///{db.path}", secret_key="bench", inline_worker=False
    )
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
    return Target(db, client, cookie, answers, share, label, expect, refuse)


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


def _request(target: Target, cold: bool, clear: Callable[[], None] | None = None) -> float:
    if cold:
        (clear or dashboard_charts.clear_chart_caches)()
    started = time.perf_counter()
    answer = target.client.get(target.url, headers={"Cookie": target.cookie})
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise RuntimeError(f"{target.url} answered {answer.status_code}: {answer.text[:300]}")
    for text in target.expect:
        if text not in answer.text:
            raise RuntimeError(f"{target.label}: {target.url} does not show {text!r}")
    for text in target.refuse:
        if text in answer.text:
            raise RuntimeError(f"{target.label}: {target.url} shows {text!r}")
    # An analyst's n is a link to the responses behind it, a viewer's plain text.
    if not re.search(rf"n = (?:<a [^>]*>)?{target.answers}(?!\d)", answer.text):
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


# --------------------------------------------------------------------------- --comments


def _analysis_key(rows: int) -> dict[str, object]:
    """What an analysed database of ``rows`` responses was made from: reused only if equal."""
    digest = hashlib.sha256()
    for name in ANALYSIS_SOURCES:
        root = store_metrics.REPO / name
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(store_metrics.REPO)).encode())
                digest.update(path.read_bytes())
    return {
        **store_metrics._meta(rows, comments=True),
        "analysis_version": ANALYSIS_VERSION,
        "analysis_sources": digest.hexdigest()[:16],
    }


def _comment_counts(sessions: sessionmaker[Session], survey_id: int) -> tuple[int, int]:
    """(responses with a comment, analyses) of the survey, counted by SQL."""
    with sessions() as session:
        comments = session.scalar(
            select(func.count(Response.comment)).where(Response.survey_id == survey_id)
        )
        analysed = session.scalar(
            select(func.count()).where(AnalysedComment.survey_id == survey_id)
        )
    return int(comments or 0), int(analysed or 0)


def _analyse_all(path: Path, organisation_id: int, survey_id: int, batch: int) -> str:
    """Analyse every comment of the database at ``path`` with the worker's code; a summary."""
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        sessions = session_factory(engine)
        with sessions.begin() as session:
            ensure_starter_taxonomy(session, organisation_id)
        total, _ = _comment_counts(sessions, survey_id)
        print(f"analysis: {total:,} comments, {batch:,} per analyse_pending call", flush=True)
        started = shown = time.perf_counter()
        done = 0
        while found := analyse_pending(sessions, batch=batch, organisation_id=organisation_id):
            done += found
            now = time.perf_counter()
            if now - shown >= 10 or done >= total:
                shown = now
                print(
                    f"analysis: {done:,} of {total:,} ({100 * done / max(1, total):.0f}%), "
                    f"{done / (now - started):,.0f} comments/s",
                    flush=True,
                )
        seconds = time.perf_counter() - started
        comments, analysed = _comment_counts(sessions, survey_id)
        if analysed != comments or done != comments:
            raise RuntimeError(
                f"{comments:,} comments, {analysed:,} analyses stored, {done:,} analysed"
            )
    finally:
        engine.dispose()  # the last connection closing checkpoints the WAL into the file
    if Path(f"{path}-wal").exists():
        raise RuntimeError(f"{path}-wal is still there after closing the database")
    return (
        f"{done:,} comments analysed in {seconds:.1f} s ({done / seconds:,.0f} comments/s, "
        f"analyse_pending batch {batch:,})"
    )


def _still_analysed(db: store_metrics.Database) -> bool:
    """Whether a cached analysed database has every comment analysed and nothing waiting
    (a stale analysis would be analysed here: then the cache is not used)."""
    engine = create_engine_for(f"sqlite:///{db.path}")
    try:
        sessions = session_factory(engine)
        comments, analysed = _comment_counts(sessions, db.survey_id)
        if comments == 0 or analysed != comments:
            return False
        return analyse_pending(sessions, batch=1, organisation_id=db.organisation_id) == 0
    finally:
        engine.dispose()


def analysed_database(
    data_dir: Path, base: store_metrics.Database, regenerate: bool, batch: int
) -> store_metrics.Database:
    """A copy of the commented database ``base`` with every comment analysed, cached."""
    path = data_dir / f"dashboard_comments_{base.rows}.sqlite3"
    meta_path = path.with_suffix(".meta.json")
    key = _analysis_key(base.rows)
    stored: dict[str, object] = {}
    if not regenerate and path.exists() and meta_path.exists():
        stored = json.loads(meta_path.read_text())
    ids = stored.get("organisation_id"), stored.get("survey_id")
    if (
        stored
        and all(stored.get(k) == v for k, v in key.items())
        and ids
        == (
            base.organisation_id,
            base.survey_id,
        )
    ):
        cached = store_metrics.Database(
            base.rows,
            path,
            base.organisation_id,
            base.survey_id,
            base.rollup_rows,
            f"cached, made earlier: {stored.get('analysis', '?')}",
        )
        if _still_analysed(cached):
            print(f"analysis: cached {path.name} ({stored.get('analysis', '?')})", flush=True)
            return cached
        print(f"analysis: {path.name} has comments waiting: analysing a fresh copy", flush=True)
    meta_path.unlink(missing_ok=True)
    store_metrics._remove(path)
    building = path.with_name(path.name + ".building")
    store_metrics._remove(building)
    shutil.copyfile(base.path, building)
    how = _analyse_all(building, base.organisation_id, base.survey_id, batch)
    building.replace(path)
    meta = {
        **key,
        "organisation_id": base.organisation_id,
        "survey_id": base.survey_id,
        "analysis": how,
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"analysis: {how}", flush=True)
    return store_metrics.Database(
        base.rows, path, base.organisation_id, base.survey_id, base.rollup_rows, how
    )


THEMES_SHOWN = ('id="themes"', "What costs the most points", "What wins promoters")
COMMENTS_SHOWN = ('id="comments"', 'class="cm-card"')
ANALYSING = "Analysing "


def clear_first_view_caches() -> None:
    """What the first view of a period in a process finds empty: theme counts and charts."""
    theme_counts.COUNTS.clear()
    dashboard_charts.clear_chart_caches()


def comment_targets(
    base: store_metrics.Database, analysed: store_metrics.Database, stack: ExitStack
) -> list[Target]:
    """The three pages of ``--comments``, each with what it must and must not show."""
    return [
        open_target(
            analysed,
            stack,
            "analyst",
            "analysed, analyst: themes + comments panels",
            THEMES_SHOWN + COMMENTS_SHOWN,
            (ANALYSING,),
        ),
        open_target(
            analysed,
            stack,
            "viewer",
            "analysed, viewer: themes panel only",
            THEMES_SHOWN,
            (ANALYSING, 'id="comments"'),
        ),
        open_target(
            base,
            stack,
            "analyst",
            "before analysis, analyst (baseline: panels say Analysing)",
            ('id="themes"', 'id="comments"', ANALYSING),
            ("What costs the most points",),
        ),
    ]


def measure_comments(targets: Sequence[Target], runs: int) -> list[Case]:
    """Warm then cold, the pages alternating request by request, one warm-up each."""
    cases: list[Case] = []
    for cold in (False, True):
        suffix = ", cold" if cold else ", warm"
        pass_cases = [Case(t.db.rows, t.label + suffix, cold) for t in targets]
        for target in targets:
            _request(target, cold, clear_first_view_caches)
        for _ in range(runs):
            for target, case in zip(targets, pass_cases, strict=True):
                case.times_ms.append(_request(target, cold, clear_first_view_caches))
        cases += pass_cases
    return cases


def print_comment_results(cases: Sequence[Case], comments: int) -> bool | None:
    """The table and the target; True when met, False when missed, None at another size."""
    print("| responses | page | runs | min ms | median ms | max ms |")
    print("|---:|---|---:|---:|---:|---:|")
    for case in cases:
        t = case.times_ms
        print(
            f"| {case.rows:,} | {case.label} | {len(t)} | {min(t):.1f} | {case.median:.1f} "
            f"| {max(t):.1f} |"
        )
    warm, cold = cases[0], cases[len(cases) // 2]
    baseline_warm, baseline_cold = cases[len(cases) // 2 - 1], cases[-1]
    print(
        f"\nPanels' cost (analysed analyst page minus the baseline): warm "
        f"{warm.median - baseline_warm.median:+.1f} ms, cold "
        f"{cold.median - baseline_cold.median:+.1f} ms (medians)."
    )
    print("\n| target | measured | result |")
    print("|---|---|---|")
    name = (
        f"dashboard with its themes panel: median <= {TARGET_MS:g} ms at {TARGET_AT:,} "
        "responses with 400,000 comments"
    )
    if warm.rows != TARGET_AT:
        print(f"| {name} | {warm.median:.1f} ms at {warm.rows:,} ({comments:,} comments) | n/a |")
        return None
    ok = warm.median <= TARGET_MS
    print(
        f"| {name} | {warm.median:.1f} ms warm, {cold.median:.1f} ms cold "
        f"({comments:,} comments) | **{'PASS' if ok else 'FAIL'}** |"
    )
    return ok


def run_comments(args: argparse.Namespace) -> int:
    load_before = store_metrics._load_average()
    data_dir = args.data_dir.resolve()
    sizes = [int(part.replace("_", "")) for part in args.sizes.split(",")]
    if len(sizes) != 1:
        raise SystemExit("--comments takes one size")
    base = store_metrics.prepare(data_dir, sizes[0], args.regenerate, comments=True)
    analysed = analysed_database(data_dir, base, args.regenerate, args.analysis_batch)
    engine = create_engine_for(f"sqlite:///{analysed.path}")
    try:
        comments, _ = _comment_counts(session_factory(engine, read_only=True), base.survey_id)
    finally:
        engine.dispose()
    with ExitStack() as stack:
        cases = measure_comments(comment_targets(base, analysed, stack), args.runs)
    print(
        f"\n### Dashboard page with the themes and comments panels, {base.rows:,} responses, "
        f"{comments:,} comments, {args.runs} timed requests per case\n"
    )
    result = print_comment_results(cases, comments)
    print(
        "\nWall milliseconds per request in this process (TestClient, signed session, "
        "view to 2024-12-31), after one warm-up request; cold: theme counts and charts "
        f"cleared before each request. Analysis: {analysed.build}."
    )
    print(
        f"- load average before: {load_before}; after: {store_metrics._load_average()}; "
        f"nproc {store_metrics._cpus()}"
    )
    print("SOME TARGETS MISSED" if result is False else "Done.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=None,
        help="responses, commas (default 1000000,5000000; 1000000 "
        "with --comments, which takes one size)",
    )
    parser.add_argument("--runs", type=int, default=15, help="timed requests per case")
    parser.add_argument("--data-dir", type=Path, default=store_metrics.BENCH / "data")
    parser.add_argument(
        "--comments",
        action="store_true",
        help="time the page with its themes and comments panels on the commented data, "
        "every comment analysed (issue 12's target)",
    )
    parser.add_argument(
        "--analysis-batch",
        type=int,
        default=ANALYSIS_BATCH,
        help="comments per analyse_pending call (--comments)",
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="rebuild the cached databases (--comments)"
    )
    args = parser.parse_args(argv)
    if args.comments:
        args.sizes = args.sizes or str(COMMENTS_SIZE)
        return run_comments(args)
    args.sizes = args.sizes or "1000000,5000000"
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
