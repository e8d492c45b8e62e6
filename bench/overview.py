"""Benchmark: server-side render of the overview (``GET /app``) with 20 surveys and 5 million
responses in all.

Target: "the overview with 20 surveys and 5M responses at most 300 ms" (median).

The data: a SQLite database (``bench/data/overview_<N>.sqlite3``, git-ignored, cached with
a ``.meta.json``) migrated to the current schema, with one organisation and 20 active
surveys sharing N responses equally: CSAT 1-5, NPS 0-10 and CES 1-7 in turn. Each survey's
answers are spread evenly over the 730 days up to the day the database was built (the
overview compares periods ending today), over 4 channels and 4 touchpoints as in
``bench/store_metrics.py``, a comment on one answer in ten, and a mix of scores that drifts
by survey so that some cards show a significant change. Rows are written with ``sqlite3``
``executemany`` in the format SQLAlchemy writes (the first 1,000 through
``responses.import_responses``, as ``store_metrics`` does), then ``rollups.rebuild`` fills
the daily rollups. A database built more than ``MAX_AGE_DAYS`` ago is rebuilt, so that the
last 30 days keep holding answers.

What it measures, in this process: the app (``create_app`` on the database file) serves
``GET /app`` (and ``/app?compare=...`` for the other comparisons) through Starlette's
TestClient with a viewer's signed session cookie; the time is ``time.perf_counter`` around
the request: authentication, per survey the three rollup GROUP BYs (12 months by month,
the current period, the previous period) and the count of commented answers of the current
period (up to 101 per survey), the scoring and tests, the SVG lines and the HTML. The
histograms of past months are remembered for 10 minutes (``report.overview.MonthCache``):
the case "past months cold" clears them before each request, so it reads all 12 months.
One untimed warm-up request per case; the cases alternate request by request. Every answer
must be 200 and show, for every survey, the n of the current period that an independent
``COUNT(*)`` gives.

Run from the repository root::

    .venv/bin/python bench/overview.py                        # 5M, 15 runs, every comparison
    .venv/bin/python bench/overview.py --rows 1000000 --runs 5 --compare 30d
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

import store_metrics
from cxpulse.config import Settings
from cxpulse.report import overview
from cxpulse.report.comparison_windows import COMPARISONS, comparison_windows
from cxpulse.report.filters_url import Window
from cxpulse.store import accounts, rollups, security, surveys
from cxpulse.store.db import create_engine_for, head_revision, migrate, session_factory
from cxpulse.store.models import Response, User
from cxpulse.store.responses import NewResponse, import_responses
from cxpulse.web import create_app
from cxpulse.web.routes import auth
from cxpulse.web.state import AppState
from cxpulse.web.tokens import CSRF_COOKIE, SESSION_COOKIE

GENERATOR_VERSION = 1
SEED = 20_261_206
SURVEYS = 20
DAYS = 730
MAX_AGE_DAYS = 7
METRICS = (("csat", 1, 5), ("nps", 0, 10), ("ces", 1, 7))
TARGET_MS = 300.0
BENCH_EMAIL = "bench-overview@example.com"
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
"""``store_metrics._stamps`` counts seconds from here."""


@dataclass(frozen=True)
class Data:
    rows: int
    path: Path
    organisation_id: int
    survey_ids: list[int]
    last_day: date
    build: str


def _scores(rng: np.random.Generator, rows: int, low: int, high: int, drift: float) -> Any:
    """Scores skewed to the top of the scale, better or worse by ``drift`` over time."""
    points = high - low + 1
    weights = np.linspace(1.0, 4.0, points) ** 2
    base = rng.choice(points, size=rows, p=weights / weights.sum())
    # A share of answers moved one point up (drift > 0) or down, more so as time goes on.
    moved = rng.random(rows) < np.abs(drift) * np.linspace(0.0, 1.0, rows)
    step = 1 if drift > 0 else -1
    return np.clip(base + moved * step, 0, points - 1) + low


def _insert(
    session: Session,
    organisation_id: int,
    survey_id: int,
    metric: tuple[str, int, int],
    rows: int,
    first: datetime,
    index: int,
) -> None:
    rng = np.random.default_rng([SEED, rows, index])
    start = int((first - EPOCH).total_seconds())
    offsets = np.sort(rng.integers(start, start + DAYS * 86_400, size=rows, dtype=np.int64))
    drift = (-0.25, 0.0, 0.2, 0.0)[index % 4]
    scores = _scores(rng, rows, metric[1], metric[2], drift)
    channels = rng.choice(len(store_metrics.CHANNELS), size=rows, p=store_metrics.CHANNEL_SHARES)
    touchpoints = rng.choice(
        len(store_metrics.TOUCHPOINTS), size=rows, p=store_metrics.TOUCHPOINT_SHARES
    )
    languages = rng.choice(len(store_metrics.LANGUAGES), size=rows, p=store_metrics.LANGUAGE_SHARES)
    commented = rng.random(rows) < store_metrics.COMMENT_SHARE
    api = min(rows, store_metrics.API_ROWS if index == 0 else 0)
    if api:
        import_responses(
            session,
            organisation_id,
            [
                NewResponse(
                    survey_id=survey_id,
                    score=int(scores[n]),
                    submitted_at=EPOCH + timedelta(seconds=int(offsets[n])),
                    comment="A comment." if commented[n] else None,
                    language=store_metrics.LANGUAGES[int(languages[n])],
                    channel=store_metrics.CHANNELS[int(channels[n])],
                    touchpoint=store_metrics.TOUCHPOINTS[int(touchpoints[n])],
                    source="import",
                )
                for n in range(api)
            ],
        )
    raw = store_metrics._raw(session)
    for low in range(api, rows, store_metrics.BATCH):
        high = min(rows, low + store_metrics.BATCH)
        stamps = store_metrics._stamps(offsets[low:high])
        raw.executemany(
            store_metrics._BULK_INSERT,
            [
                (
                    organisation_id,
                    survey_id,
                    float(scores[n]),
                    "A comment." if commented[n] else None,
                    store_metrics.LANGUAGES[int(languages[n])],
                    store_metrics.CHANNELS[int(channels[n])],
                    store_metrics.TOUCHPOINTS[int(touchpoints[n])],
                    stamps[n - low],
                    stamps[n - low],
                )
                for n in range(low, high)
            ],
        )


def build(path: Path, rows: int, last_day: date) -> tuple[int, list[int], str]:
    building = path.with_name(path.name + ".building")
    store_metrics._remove(building)
    started = time.perf_counter()
    first = datetime.combine(last_day - timedelta(days=DAYS - 1), clock(), UTC)
    engine = create_engine_for(f"sqlite:///{building}")
    try:
        migrate(engine)
        with session_factory(engine).begin() as session:
            organisation = accounts.create_organisation(session, slug="bench", name="Bench Ltd")
            ids = []
            per_survey = rows // SURVEYS
            for index in range(SURVEYS):
                metric = METRICS[index % len(METRICS)]
                survey = surveys.create_survey(
                    session,
                    organisation.id,
                    slug=f"survey-{index + 1:02d}",
                    name=f"Survey {index + 1:02d} ({metric[0].upper()})",
                    metric=metric[0],
                    status="active",
                )
                ids.append(survey.id)
                count = per_survey + (rows - per_survey * SURVEYS if index == 0 else 0)
                _insert(session, organisation.id, survey.id, metric, count, first, index)
            inserted = time.perf_counter()
            rollups.rebuild(session, organisation.id)
            organisation_id = organisation.id
        done = time.perf_counter()
    finally:
        engine.dispose()
    building.replace(path)
    how = (
        f"built in {done - started:.1f} s: insert {inserted - started:.1f}, "
        f"rollups {done - inserted:.1f}"
    )
    return organisation_id, ids, how


def prepare(data_dir: Path, rows: int, today: date) -> Data:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"overview_{rows}.sqlite3"
    meta_path = path.with_suffix(".meta.json")
    wanted = {"generator": GENERATOR_VERSION, "seed": SEED, "rows": rows, "schema": head_revision()}
    stored: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    fresh = (
        path.exists()
        and all(stored.get(k) == v for k, v in wanted.items())
        and today - date.fromisoformat(stored["last_day"]) <= timedelta(days=MAX_AGE_DAYS)
    )
    if fresh:
        print(f"data: cached {path.name} ({rows:,} responses, to {stored['last_day']})", flush=True)
        return Data(
            rows,
            path,
            stored["organisation_id"],
            stored["survey_ids"],
            date.fromisoformat(stored["last_day"]),
            f"cached ({stored['build']})",
        )
    print(f"data: building {path.name} ({rows:,} responses) ...", flush=True)
    meta_path.unlink(missing_ok=True)
    store_metrics._remove(path)
    organisation_id, ids, how = build(path, rows, today)
    meta = {
        **wanted,
        "organisation_id": organisation_id,
        "survey_ids": ids,
        "last_day": today.isoformat(),
        "build": how,
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"data: {how}", flush=True)
    return Data(rows, path, organisation_id, ids, today, how)


def _viewer(session: Session, organisation_id: int) -> User:
    user = session.scalar(select(User).where(User.email == BENCH_EMAIL))
    if user is None:
        user = User(
            organisation_id=organisation_id,
            email=BENCH_EMAIL,
            role="viewer",
            password_hash=security.hash_password("bench-overview-password"),
        )
        session.add(user)
        session.flush()
    return user


def _count(session: Session, survey_id: int, window: Window) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                Response.survey_id == survey_id,
                Response.submitted_at >= datetime.combine(window.start, clock(), UTC),
                Response.submitted_at < datetime.combine(window.end, clock(), UTC),
            )
        )
        or 0
    )


@dataclass
class Case:
    compare: str
    url: str
    cold: bool
    expected: dict[int, int]
    """Survey id -> answers of the current period (by SQL): its card must show n = this."""
    times_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)


def _request(client: TestClient, cookie: str, case: Case) -> float:
    if case.cold:
        overview.MONTHS.clear()
    started = time.perf_counter()
    answer = client.get(case.url, headers={"Cookie": cookie})
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise RuntimeError(f"{case.url} answered {answer.status_code}: {answer.text[:300]}")
    text = answer.text
    if text.count('class="ov-card ') != len(case.expected):
        raise RuntimeError(f"{case.url} does not show {len(case.expected)} cards")
    for survey_id, n in case.expected.items():
        start = text.index(f'aria-labelledby="ov-{survey_id}"')
        card = text[start : text.index("</article>", start)]
        if f"n = {n}" not in card:
            raise RuntimeError(f"{case.url}: survey {survey_id} does not show n = {n}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="responses in all")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per case")
    parser.add_argument(
        "--compare", default=",".join(COMPARISONS), help="comparisons to time, commas"
    )
    parser.add_argument("--data-dir", type=Path, default=store_metrics.BENCH / "data")
    args = parser.parse_args(argv)
    today = datetime.now(UTC).date()
    data = prepare(args.data_dir.resolve(), args.rows, today)
    choices = [c for c in COMPARISONS if c in {p.strip() for p in args.compare.split(",")}]
    with ExitStack() as stack:
        engine = create_engine_for(f"sqlite:///{data.path}")
        stack.callback(engine.dispose)
        settings = Settings(database_url=f"sqlite:///{data.path}", secret_key="bench")
        app = create_app(settings, engine)
        state: AppState = app.state.cxpulse
        client = stack.enter_context(TestClient(app, base_url="https://bench"))
        with state.sessions() as writing:
            viewer = _viewer(writing, data.organisation_id)
            session_data, _ = auth.start_session(state, writing, viewer)
            writing.commit()
        cookie = (
            f"{SESSION_COOKIE}={state.signer.dumps(session_data)}; "
            f"{CSRF_COOKIE}={session_data.csrf_token}"
        )
        cases = []
        with session_factory(engine, read_only=True)() as reading:
            for choice in choices:
                windows = comparison_windows(choice, today)
                expected = {s: _count(reading, s, windows.current) for s in data.survey_ids}
                url = "/app" if choice == "30d" else f"/app?compare={choice}"
                cases.append(Case(choice, url, False, expected))
                if choice == "30d":
                    cases.append(Case("30d, past months cold", url, True, expected))
        for case in cases:
            _request(client, cookie, case)  # warm-up
        for _ in range(args.runs):
            for case in cases:
                case.times_ms.append(_request(client, cookie, case))
    print(
        f"\n### Overview render, {SURVEYS} surveys, {data.rows:,} responses, "
        f"{args.runs} timed requests per case\n"
    )
    print(f"- data: {data.path.name}, answers up to {data.last_day} ({data.build})")
    print("\n| compare | answers in the current periods | min ms | median ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for case in cases:
        t = case.times_ms
        print(
            f"| {case.compare} | {sum(case.expected.values()):,} | {min(t):.1f} "
            f"| {case.median:.1f} | {max(t):.1f} |"
        )
    print("\n| target | measured | result |")
    print("|---|---|---|")
    for case in cases:
        if case.compare.startswith("30d"):
            ok = case.median <= TARGET_MS
            print(
                f"| `GET /app` ({case.compare}) median <= {TARGET_MS:g} ms "
                f"| {case.median:.1f} ms | **{'PASS' if ok else 'FAIL'}** |"
            )
    print(f"\n- load average: {store_metrics._load_average()}; nproc {store_metrics._cpus()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
