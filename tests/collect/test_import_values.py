"""Values in import files follow the rules of every other door: answer times in [1970, now +
1 day] and text without control characters, refused as line-numbered invalid rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect.import_sql import answer_time_sql, control_problem_sql
from cxpulse.collect.imports import InvalidRowsError
from cxpulse.engine.duck import literal
from cxpulse.store._values import answer_time_problem, control_problem
from cxpulse.store.models import Organisation

from .conftest import run_import, stored, write_csv

MAP = "id=id,score=score,submitted_at=when,comment=comment,channel=channel,property.agent=agent"
HEADER = "id,score,when,comment,channel,agent"


def _refused(
    sessions: sessionmaker[Session], org: Organisation, path: Path
) -> list[tuple[int, str, str]]:
    with pytest.raises(InvalidRowsError) as raised:
        run_import(sessions, org, path, mapping=MAP)
    assert stored(sessions) == []
    return [(c.line, c.column, c.reason) for c in raised.value.result.invalid_rows]


def test_answer_times_outside_1970_to_tomorrow_are_invalid_rows(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    # Before: any year from 1900 to 2200 went in, and one answer in 2999 moved every default
    # dashboard view to an empty future year.
    soon = (datetime.now(UTC) + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = write_csv(
        tmp_path / "dates.csv",
        [
            HEADER,
            "1,5,2024-03-01 10:00:00,,,",
            "2,4,1969-12-31T23:59:59Z,,,",
            "3,4,2999-01-01,,,",
            "4,3,9999-12-31T23:59:59Z,,,",
            f"5,3,{soon},,,",  # clocks differ: half a day ahead is an answer
            "6,3,1970-01-01T00:00:00Z,,,",
        ],
    )
    assert _refused(sessions, org, path) == [
        (3, "when", "must be on or after 1970-01-01"),
        (4, "when", "must not be more than one day in the future"),
        (5, "when", "must not be more than one day in the future"),
    ]
    result = run_import(sessions, org, path, mapping=MAP, skip_invalid=True)
    assert (result.imported, result.invalid) == (3, 3)


def test_control_characters_in_text_cells_are_invalid_rows(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "texts.csv",
        [
            HEADER,
            '1,5,2024-03-01,"tab\tand\r\nbreaks are fine",web,Ann',
            "2,4,2024-03-01,nul \x00 here,web,Ann",
            "3,4,2024-03-01,ok,we\x07b,Ann",
            "4,4,2024-03-01,ok,web,A\x1bnn",
            "5,4,2024-03-01,é\x9f,web,Ann",
        ],
    )
    assert _refused(sessions, org, path) == [
        (4, "comment", "holds the control character U+0000 at position 5; remove it"),
        (5, "channel", "holds the control character U+0007 at position 3; remove it"),
        (6, "agent", "holds the control character U+001B at position 2; remove it"),
        (7, "comment", "holds the control character U+009F at position 2; remove it"),
    ]
    result = run_import(sessions, org, path, mapping=MAP, skip_invalid=True)
    assert result.imported == 1
    assert stored(sessions)[0].comment == "tab\tand\r\nbreaks are fine"


@pytest.mark.parametrize(
    "value",
    ["plain", "a\x00b", "\x01", "é\x7f", "日本\x9f", "😀\x1b!", "tab\tcr\rlf\n", "\x85", "\xa0"],
)
def test_the_sql_checks_say_what_the_store_says(value: str) -> None:
    con = duckdb.connect()
    try:
        found = con.execute(f"SELECT {control_problem_sql('v')} FROM (SELECT ? AS v)", [value])
        assert found.fetchone() == (control_problem(value),)
        now = datetime(2025, 6, 1, 12, tzinfo=UTC)
        for moment in (
            datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            datetime(1970, 1, 1, tzinfo=UTC),
            now + timedelta(days=1),
            now + timedelta(days=1, microseconds=1),
            datetime(9999, 12, 31, tzinfo=UTC),
        ):
            text = moment.strftime("%Y-%m-%d %H:%M:%S.%f+00")
            sql = f"SELECT {answer_time_sql(f'CAST({literal(text)} AS TIMESTAMPTZ)', now)}"
            assert con.execute(sql).fetchone() == (answer_time_problem(moment, now),)
    finally:
        con.close()
