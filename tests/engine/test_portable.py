"""The histogram query through Ibis gives the file path's numbers on DuckDB, PostgreSQL and
Spark (local mode): the same histograms, so the same scores, intervals and n per group.

Spark tests are slow (a JVM starts once for the module) and skip when pyspark or Java is
missing, except under CI=true, where they fail. PostgreSQL comes from tests/conftest.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session, sessionmaker
from tests.cli.scoring_cli import run

from cxpulse.engine import FileHistograms, InvalidScoresError, histograms_from_file
from cxpulse.engine.backends import connect, local_spark_session, read_file, spark_problem
from cxpulse.engine.periods import Period
from cxpulse.engine.portable import TableInputError, histograms_from_table, score_table
from cxpulse.metrics import Metric, MetricSpec, parse_scale
from cxpulse.metrics.scores import MetricResult, score

pytestmark = [
    # pyspark 4 warns that it does not fully support pandas 3 (counts come back via Arrow).
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    # Ibis 12 calls DuckDB 2's older names of its Arrow fetches, which still work.
    pytest.mark.filterwarnings("ignore:.* is deprecated, use .* instead:DeprecationWarning"),
]

ROWS = 3000
CASES = [
    # metric, score column, scale
    (Metric.CSAT, "csat", "1-5"),
    (Metric.NPS, "ltr", "0-10"),
    (Metric.CES, "effort", "1-7"),
    (Metric.MEAN, "csat", "1-5"),
]


def _rows() -> dict[str, list[Any]]:
    draw = random.Random(15)
    start = dt.datetime(2025, 11, 20, 8, 0)
    columns: dict[str, list[Any]] = {
        k: [] for k in ("ltr", "csat", "effort", "region", "team", "created")
    }
    for i in range(ROWS):
        columns["ltr"].append(draw.choice([0, 3, 6, 7, 8, 9, 9, 10, 10, 10]))
        columns["csat"].append(None if i % 41 == 0 else draw.choice([1, 2, 3, 4, 4, 5, 5, 5]))
        columns["effort"].append(draw.randint(1, 7))
        columns["region"].append(draw.choice(["EU", "US", "APAC", None]))
        columns["team"].append(draw.randint(1, 5))
        columns["created"].append(start + dt.timedelta(hours=draw.randint(0, 24 * 120)))
    return columns


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Parquet file of answers: four scores, two group columns and a timestamp."""
    path = tmp_path_factory.mktemp("portable") / "answers.parquet"
    pq.write_table(pa.table(_rows()), path)
    return path


def _file_scores(path: Path, metric: Metric, column: str, scale: str, **kw: Any) -> Any:
    spec = MetricSpec.default(metric, parse_scale(scale))
    found = histograms_from_file(path, score=column, scale=spec.scale, **kw)
    return found, _scores(found, spec)


def _scores(found: FileHistograms, spec: MetricSpec) -> dict[Any, MetricResult]:
    scores: dict[Any, MetricResult] = {(): score(found.total(), spec)}
    scores.update((key, score(h, spec)) for key, h in found.groups.items())
    return scores


def _same(portable: FileHistograms, expected: FileHistograms, spec: MetricSpec) -> None:
    assert portable.group_columns == expected.group_columns
    assert list(portable.groups) == list(expected.groups)
    assert portable.groups == expected.groups
    assert (portable.rows, portable.blank) == (expected.rows, expected.blank)
    got, want = _scores(portable, spec), _scores(expected, spec)
    for key in want:
        assert (got[key].value, got[key].ci_low, got[key].ci_high, got[key].n) == (
            want[key].value,
            want[key].ci_low,
            want[key].ci_high,
            want[key].n,
        )


GROUPINGS: list[dict[str, Any]] = [
    {},
    {"by": ["region"]},
    {"by": ["region", "team"], "date": "created", "period": Period.MONTH},
    {"by": ["team"], "date": "created", "period": Period.WEEK},
]


# -- DuckDB through Ibis ------------------------------------------------------------------


@pytest.mark.parametrize(("metric", "column", "scale"), CASES)
@pytest.mark.parametrize("grouping", GROUPINGS)
def test_duckdb_through_ibis_equals_file_path(
    answers: Path, metric: Metric, column: str, scale: str, grouping: dict[str, Any]
) -> None:
    expected, _ = _file_scores(answers, metric, column, scale, **grouping)
    spec = MetricSpec.default(metric, parse_scale(scale))
    with connect("duckdb") as backend:
        table = read_file(backend, "duckdb", answers)
        found = histograms_from_table(table, score=column, scale=spec.scale, **grouping)
    _same(found, expected, spec)


def test_score_table_gives_overall_and_groups(answers: Path) -> None:
    spec = MetricSpec.default(Metric.NPS, parse_scale("0-10"))
    _, expected = _file_scores(answers, Metric.NPS, "ltr", "0-10", by=["region"])
    with connect("duckdb") as backend:
        scores = score_table(
            read_file(backend, "duckdb", answers), spec, score="ltr", by=["region"]
        )
    assert list(scores) == list(expected)
    assert scores == expected
    assert scores[()].n == ROWS


def test_filters_and_days(answers: Path) -> None:
    spec = MetricSpec.default(Metric.CSAT)
    with connect("duckdb") as backend:
        table = read_file(backend, "duckdb", answers)
        found = histograms_from_table(
            table,
            score="csat",
            scale=spec.scale,
            date="created",
            period=Period.DAY,
            filters=[table.region == "EU", table.team > 2],
        )
    rows = _rows()
    kept = [i for i in range(ROWS) if rows["region"][i] == "EU" and rows["team"][i] > 2]
    assert found.rows == len(kept)
    assert found.blank == sum(rows["csat"][i] is None for i in kept)
    first = min(rows["created"][i] for i in kept).date().isoformat()
    assert next(iter(found.groups)) == (first,)


def test_text_scores_blank_and_invalid(tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    path.write_text("score,team\n5,a\n 4 ,a\n,b\n  ,b\n9,a\nabc,b\n3,b\n", encoding="utf-8")
    scale = parse_scale("1-5")
    expected = histograms_from_file(
        path, score="score", scale=scale, by=["team"], skip_invalid=True
    )
    with connect("duckdb") as backend:
        table = read_file(backend, "duckdb", path)
        found = histograms_from_table(
            table, score="score", scale=scale, by=["team"], skip_invalid=True
        )
        assert found.groups == expected.groups
        assert (found.rows, found.blank) == (7, 2)
        assert found.invalid is not None
        assert (found.invalid.count, found.invalid.values) == (2, ["9", "abc"])
        with pytest.raises(InvalidScoresError, match=r"2 invalid scores \(values: 9, 'abc'\)"):
            histograms_from_table(table, score="score", scale=scale)


def test_missing_column_and_no_rows(answers: Path) -> None:
    scale = parse_scale("1-5")
    with connect("duckdb") as backend:
        table = read_file(backend, "duckdb", answers)
        with pytest.raises(TableInputError, match="score column 'nope' not found"):
            histograms_from_table(table, score="nope", scale=scale)
        with pytest.raises(TableInputError, match="no rows that match"):
            histograms_from_table(table, score="csat", scale=scale, filters=[table.team > 99])


# -- PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.parametrize(("metric", "column", "scale"), CASES)
def test_postgres_equals_file_path(
    postgres_database: str, answers: Path, metric: Metric, column: str, scale: str
) -> None:
    spec = MetricSpec.default(metric, parse_scale(scale))
    for grouping in GROUPINGS:
        expected, _ = _file_scores(answers, metric, column, scale, **grouping)
        with connect("postgres", database=postgres_database) as backend:
            # The same rows in a temporary table of the test database.
            table = read_file(backend, "postgres", answers)
            found = histograms_from_table(table, score=column, scale=spec.scale, **grouping)
        _same(found, expected, spec)


@pytest.mark.parametrize("database_kind", ["postgresql"])
def test_cli_scores_the_responses_table_of_a_survey(
    sessions: sessionmaker[Session], postgres_database: str, tmp_path: Path
) -> None:
    from cxpulse.store import accounts, surveys
    from cxpulse.store.response_checks import NewResponse
    from cxpulse.store.responses import add_responses

    rows = _rows()
    with sessions() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme")
        survey = surveys.create_survey(
            session, org.id, slug="support", name="Support", metric="csat", status="active"
        )
        other = surveys.create_survey(
            session, org.id, slug="other", name="Other", metric="csat", status="active"
        )
        items = [
            NewResponse(
                survey_id=survey.id,
                score=rows["csat"][i],
                channel=rows["region"][i],
                submitted_at=rows["created"][i].replace(tzinfo=dt.UTC),
            )
            for i in range(400)
            if rows["csat"][i] is not None
        ]
        items += [NewResponse(survey_id=other.id, score=1) for _ in range(30)]
        add_responses(session, org.id, items, events=False)
        session.commit()
    # The same answers as a file, scored by the file path.
    lines = ["score,channel,submitted_at"]
    lines += [
        f"{item.score:g},{item.channel or ''},{item.submitted_at:%Y-%m-%d %H:%M:%S}"
        for item in items
        if item.survey_id != other.id
    ]
    csv_file = tmp_path / "support.csv"
    csv_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    common = ["-m", "csat", "--by", "channel", "--date", "submitted_at", "--format", "json"]
    from_file = json.loads(run("score", str(csv_file), "-s", "score", *common).stdout)
    from_table = json.loads(
        run(
            "score",
            "--engine",
            "postgres",
            "--table",
            "responses",
            "--survey",
            "support",
            "--org",
            "acme",
            "--database",
            postgres_database,
            *common,
        ).stdout
    )
    assert from_table == from_file
    assert from_table["rows"][0]["n"] == len(items) - 30


def test_cli_file_on_duckdb_and_postgres_prints_the_same(
    postgres_database: str, answers: Path
) -> None:
    common = ["-m", "nps", "-s", "ltr", "--by", "region", "--date", "created", "--format", "json"]
    expected = run("score", str(answers), *common).stdout
    assert run("score", str(answers), *common, "--engine", "duckdb").stdout == expected
    postgres = ["--engine", "postgres", "--database", postgres_database]
    assert run("score", str(answers), *common, *postgres).stdout == expected


def test_cli_refuses_unclear_sources(answers: Path) -> None:
    result = run("score", "--engine", "duckdb", check=False)
    assert result.returncode == 2
    assert "give a FILE" in result.stderr
    result = run("score", str(answers), "--table", "responses", check=False)
    assert result.returncode == 2
    assert "need --engine" in result.stderr
    result = run("score", "--engine", "spark", "--table", "t", "--survey", "s", check=False)
    assert "--survey reads cxpulse's database" in result.stderr


# -- Spark (local mode) -------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One local SparkSession for the module: one thread, few partitions, UI off."""
    problem = spark_problem()
    if problem is not None:
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(f"{problem} (CI=true: Spark is required)", pytrace=False)
        pytest.skip(problem)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = local_spark_session(1)
    try:
        yield session
    finally:
        session.stop()


@pytest.mark.slow
def test_spark_equals_file_path(spark: Any, answers: Path) -> None:
    with connect("spark", spark_session=spark) as backend:
        table = read_file(backend, "spark", answers)
        for metric, column, scale in CASES:
            spec = MetricSpec.default(metric, parse_scale(scale))
            for grouping in GROUPINGS:
                expected, _ = _file_scores(answers, metric, column, scale, **grouping)
                found = histograms_from_table(table, score=column, scale=spec.scale, **grouping)
                _same(found, expected, spec)
