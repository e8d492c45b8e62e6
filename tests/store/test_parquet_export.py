"""The day-partitioned Parquet export: readable by DuckDB, counts equal to the database's,
closed days written once, today's rewritten."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.cli.scoring_cli import run

from cxpulse.store.models import Organisation, Response, Survey
from cxpulse.store.parquet_export import MARKER, export_responses_parquet, partition_folder
from cxpulse.store.response_checks import NewResponse
from cxpulse.store.responses import add_responses
from cxpulse.store.types import utc_now


def _add(session: Session, org: Organisation, survey: Survey, when: list[datetime]) -> None:
    items = [
        NewResponse(survey_id=survey.id, score=1 + i % 5, submitted_at=moment, channel="email")
        for i, moment in enumerate(when)
    ]
    add_responses(session, org.id, items, events=False)
    session.commit()


def _lake_counts(target: Path) -> dict[str, int]:
    rows = (
        duckdb.connect()
        .sql(
            f"SELECT organisation, CAST(day AS VARCHAR), count(*) FROM read_parquet("
            f"'{target}/**/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY 2"
        )
        .fetchall()
    )
    return {f"{org}/{day}": n for org, day, n in rows}


def test_export_is_incremental_and_readable(
    session: Session, org: Organisation, survey: Survey, tmp_path: Path
) -> None:
    now = utc_now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    days_ago = [midnight - timedelta(days=3) + timedelta(hours=h) for h in (1, 5, 23)]
    yesterday = [midnight - timedelta(hours=1)]
    today = [midnight + timedelta(seconds=1)]
    _add(session, org, survey, days_ago + yesterday + today)

    first = export_responses_parquet(session, org.id, org.slug, tmp_path, now=now)
    day = (midnight - timedelta(days=3)).date()
    assert first.written == {
        day: 3,
        day + timedelta(days=2): 1,
        midnight.date(): 1,
    }
    counts = _lake_counts(tmp_path)
    assert sum(counts.values()) == session.scalar(select(func.count()).select_from(Response))
    assert counts[f"acme/{day}"] == 3
    assert (partition_folder(tmp_path, "acme", day) / MARKER).exists()
    assert not (partition_folder(tmp_path, "acme", midnight.date()) / MARKER).exists()
    row = (
        duckdb.connect()
        .sql(
            f"SELECT survey_slug, score, submitted_at FROM '{tmp_path}/organisation=acme/"
            f"day={day}/part-0.parquet' ORDER BY submitted_at LIMIT 1"
        )
        .fetchall()[0]
    )
    assert row[0] == "support-csat"
    assert row[2].astimezone(UTC) == days_ago[0]

    # More answers today: only today (and the day with no marker) is written again.
    _add(session, org, survey, [midnight + timedelta(seconds=2)])
    second = export_responses_parquet(session, org.id, org.slug, tmp_path, now=now)
    assert second.written == {midnight.date(): 2}
    assert second.skipped == 2
    assert _lake_counts(tmp_path)[f"acme/{midnight.date()}"] == 2

    # --since rewrites the closed days too.
    third = export_responses_parquet(session, org.id, org.slug, tmp_path, since=day, now=now)
    assert sorted(third.written) == sorted(second.written | first.written)
    assert third.skipped == 0


def test_nothing_to_export(session: Session, org: Organisation, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    done = export_responses_parquet(session, org.id, org.slug, lake)
    assert (done.written, done.skipped) == ({}, 0)
    assert not lake.exists()


def test_cli_export_parquet(tmp_path: Path) -> None:
    from cxpulse.store import accounts, surveys
    from cxpulse.store.db import create_engine_for, migrate, session_factory

    url = f"sqlite:///{tmp_path / 'cx.db'}"
    engine = create_engine_for(url)
    migrate(engine)
    with session_factory(engine)() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme")
        survey = surveys.create_survey(
            session, org.id, slug="s", name="S", metric="csat", status="active"
        )
        start = datetime(2026, 1, 30, 12, tzinfo=UTC)
        _add(session, org, survey, [start + timedelta(hours=12 * i) for i in range(6)])
    engine.dispose()
    lake = tmp_path / "lake"
    result = run("export-parquet", str(lake), "--org", "acme", "--database", url)
    assert "wrote 4 days (6 answers) of acme" in result.stdout
    assert _lake_counts(lake) == {
        "acme/2026-01-30": 1,
        "acme/2026-01-31": 2,
        "acme/2026-02-01": 2,
        "acme/2026-02-02": 1,
    }
    # The lake's folder of one organisation, scored by an engine: its day folders read too.
    scored = run(
        "score",
        str(lake / "organisation=acme"),
        "--engine",
        "duckdb",
        "-m",
        "csat",
        "--by",
        "day",
        "--format",
        "json",
    )
    groups = {row["group"]["day"]: row["n"] for row in json.loads(scored.stdout)["rows"][1:]}
    assert groups == {"2026-01-30": 1, "2026-01-31": 2, "2026-02-01": 2, "2026-02-02": 1}
    again = run("export-parquet", str(lake), "--org", "acme", "--database", url)
    assert "wrote 0 days" in again.stdout
    bad = run("export-parquet", str(lake), "--since", "yesterday", "--database", url, check=False)
    assert bad.returncode == 2
