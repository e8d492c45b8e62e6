"""SQL over a file's columns: trimming, blanks, scores read from each column type."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cxpulse.engine import FileInputError, open_source, trimmed_sql, valid_score_sql
from cxpulse.engine.column_sql import TextSql, score_sql
from cxpulse.metrics.scales import Scale


def test_trimmed_sql_trims_whitespace_and_makes_blanks_null(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text('score,x\n" 5 ",a\n,b\n"\u00a0 ",c\n7,d\n', encoding="utf-8")
    with open_source(path) as source:
        source.read_as_text(["score"])
        found = source.run(f"SELECT {trimmed_sql(source, 'score')} FROM {source.from_item()}")
    assert [row[0] for row in found] == ["5", None, None, "7"]


def test_text_sql_of_each_type() -> None:
    assert TextSql.of("a", "VARCHAR").value == '"a"'
    assert TextSql.of("a", "BIGINT").value == 'CAST("a" AS VARCHAR)'
    assert TextSql.of("a", "JSON").value == "json_extract_string(\"a\", '$')"


@pytest.mark.parametrize(
    ("value", "valid"),
    [(1, True), (5, True), (0, False), (6, False), (2.5, False), ("'NaN'", False)],
)
def test_valid_score_sql(value: object, valid: bool) -> None:
    sql = valid_score_sql(f"CAST({value} AS DOUBLE)", Scale(1, 5))
    assert duckdb.connect().execute(f"SELECT {sql}").fetchone() == (valid,)


def test_score_sql_reads_text_numbers_and_refuses_dates(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("score,when\n 4 ,2024-01-01\nabc,2024-01-02\n,2024-01-03\n", encoding="utf-8")
    with open_source(path) as source:
        source.read_as_text(["score"])
        score = score_sql(source, "score")
        found = source.run(f"SELECT {score.value}, {score.raw} FROM {source.from_item()}")
        assert found[0] == (4.0, "4")
        assert found[1][1] == "abc"
        assert found[1][0] != found[1][0]  # NaN: not a number
        assert found[2] == (None, None)
        with pytest.raises(FileInputError, match="holds DATE values, not numbers"):
            score_sql(source, "when")


HOSTILE_COLUMNS = ['a"b', '"', "x.y[0]", "$", "$.a", "*", "a\\b", "it's", "café 😀", "\u200fname"]


@pytest.mark.parametrize("name", HOSTILE_COLUMNS)
@pytest.mark.parametrize(
    ("column_type", "stored", "expected"),
    [
        ("VARCHAR", "'4'", "4"),
        ("BIGINT", "4", "4"),
        # A JSON cell is read as the text it holds, whatever its column is called: the name
        # is an identifier, quoted, and the JSON path is the document itself ('$').
        ("JSON", """'"4"'""", "4"),
        ("JSON", """'{"a\\"b": 1}'""", '{"a\\"b":1}'),
    ],
)
def test_text_and_score_sql_read_a_column_of_any_name(
    name: str, column_type: str, stored: str, expected: str
) -> None:
    con = duckdb.connect()
    quoted = '"' + name.replace('"', '""') + '"'
    con.execute(f"CREATE TABLE t ({quoted} {column_type})")
    con.execute(f"INSERT INTO t VALUES (CAST({stored} AS {column_type}))")
    [(found,)] = con.execute(f"SELECT {TextSql.of(name, column_type).value} FROM t").fetchall()
    assert found == expected
