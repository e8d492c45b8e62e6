"""Import rules: checks in SQL, all or nothing, reports, idempotency, rollups, file kinds."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect.imports import ImportInputError, InvalidRowsError
from cxpulse.store.models import MAX_COMMENT_LENGTH, AuditLog, Contact, DailyRollup, Organisation

from .conftest import assert_rollups_match, count, run_import, stored, write_csv

HEADER = "id,score,when,channel,comment"
GOOD = [
    HEADER,
    "1,5,2024-03-01 10:00:00,email,Great",
    "2,4,2024-03-01 11:00:00,chat,",
    "3,1,2024-03-02 09:30:00,email,Slow",
]
MAP = "id=id,score=score,submitted_at=when,channel=channel,comment=comment"


def test_a_file_is_imported_with_rollups_and_audit(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    result = run_import(sessions, org, write_csv(tmp_path / "a.csv", GOOD), mapping=MAP)
    assert (result.rows, result.imported, result.already_present, result.invalid) == (3, 3, 0, 0)
    assert result.stored
    assert result.key == "column 'id'"
    rows = stored(sessions)
    assert [(r.idempotency_key, r.score, r.channel, r.comment) for r in rows] == [
        ("import:1", 5.0, "email", "Great"),
        ("import:2", 4.0, "chat", None),
        ("import:3", 1.0, "email", "Slow"),
    ]
    assert rows[0].touchpoint == "after support ticket"  # the survey's
    assert rows[0].properties == {}
    kept = assert_rollups_match(sessions)
    assert sum(kept.values()) == 3
    with sessions() as session:
        entry = session.scalars(select(AuditLog)).one()
    assert (entry.action, entry.entity, entry.actor) == ("import", "survey", "system")
    assert entry.details["imported"] == 3


def test_missing_column_lists_the_columns_there_are(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "a.csv", GOOD)
    with pytest.raises(ImportInputError) as raised:
        run_import(sessions, org, path, mapping="score=Rating")
    assert "score column 'Rating' not found in a.csv" in str(raised.value)
    assert "'id', 'score', 'when', 'channel', 'comment'" in str(raised.value)
    with pytest.raises(ImportInputError, match="no score column"):
        run_import(sessions, org, path, mapping="comment=comment")


def test_column_names_match_ignoring_case(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    result = run_import(
        sessions, org, write_csv(tmp_path / "a.csv", GOOD), mapping="score=SCORE,date=When"
    )
    assert result.columns == {"score": "score", "submitted_at": "when"}


BAD = [
    HEADER,
    "1,5,2024-03-01 10:00:00,email,ok",
    '2,4,2024-03-01 11:00:00,chat,"two',
    'lines"',
    "3,6,2024-03-02 09:30:00,email,",
    "4,abc,2024-03-02 09:30:00,email,",
    "5,3.5,2024-03-02,email,=HYPERLINK(1)",
    "6,2,yesterday,web,",
    "7,2,,web,",
    "8,,not a date either,web,",
]


def test_invalid_rows_stop_everything_with_lines_and_reasons(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "bad.csv", BAD)
    with pytest.raises(InvalidRowsError) as raised:
        run_import(sessions, org, path, mapping=MAP)
    result = raised.value.result
    assert not result.stored
    assert (result.rows, result.invalid, result.blank, result.imported) == (8, 5, 1, 0)
    cells = [(c.line, c.column, c.value) for c in result.invalid_rows]
    # The quoted comment spans lines 3-4, so the rows after it are one line further down.
    assert cells == [
        (5, "score", "6"),
        (6, "score", "abc"),
        (7, "score", "3.5"),
        (8, "when", "yesterday"),
        (9, "when", None),
    ]
    reasons = [c.reason for c in result.invalid_rows]
    assert reasons[0].startswith("is not on the 1-5 scale of survey 'support-csat'")
    assert reasons[1] == "is not a number"
    assert reasons[2].startswith("is not a whole number")
    assert reasons[3].startswith("is not a date")
    assert "5 invalid rows in bad.csv" in str(raised.value)
    assert "line 5, column 'score': '6' is not on the 1-5 scale" in str(raised.value)
    # All or nothing: no response, rollup, contact or audit entry.
    assert stored(sessions) == []
    for model in (DailyRollup, AuditLog, Contact):
        assert count(sessions, model) == 0


def test_skip_invalid_imports_the_rest_and_reports_every_problem(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "bad.csv", BAD)
    report = tmp_path / "bad_rows.csv"
    result = run_import(sessions, org, path, mapping=MAP, skip_invalid=True, report=report)
    assert (result.imported, result.invalid, result.blank, result.report_rows) == (2, 5, 1, 5)
    assert [r.idempotency_key for r in stored(sessions)] == ["import:1", "import:2"]
    assert stored(sessions)[1].comment == "two\nlines"
    with report.open(encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["line", "column", "value", "reason"]
    assert [line[:3] for line in lines[1:]] == [
        ["5", "score", "6"],
        ["6", "score", "abc"],
        ["7", "score", "3.5"],
        ["8", "when", "yesterday"],
        ["9", "when", ""],
    ]
    assert_rollups_match(sessions)


def test_report_cells_are_neutralised(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "f.csv", ["score,=cmd", "=1+2,x", "-3,y", "@SUM(1),z"])
    report = tmp_path / "report.csv"
    with pytest.raises(InvalidRowsError):
        run_import(sessions, org, path, mapping="score=score,comment==cmd", report=report)
    with report.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    assert [row[2] for row in rows] == ["'=1+2", "'-3", "'@SUM(1)"]


def test_a_second_import_of_the_same_file_adds_nothing(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "a.csv", GOOD)
    run_import(sessions, org, path, mapping=MAP)
    again = run_import(sessions, org, path, mapping=MAP)
    assert (again.imported, again.already_present) == (0, 3)
    more = write_csv(tmp_path / "b.csv", [*GOOD, "4,2,2024-03-03 08:00:00,web,New"])
    third = run_import(sessions, org, more, mapping=MAP)
    assert (third.imported, third.already_present) == (1, 3)
    assert len(stored(sessions)) == 4
    kept = assert_rollups_match(sessions)
    assert sum(kept.values()) == 4


def test_without_an_id_column_identical_rows_are_kept_apart_by_a_content_hash(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    lines = ["score,comment", "5,same", "5,same", "4,other", "5,same"]
    path = write_csv(tmp_path / "a.csv", lines)
    first = run_import(sessions, org, path, mapping="score=score,comment=comment")
    assert (first.imported, first.key) == (3 + 1, "content hash")
    keys = [r.idempotency_key for r in stored(sessions)]
    assert all(key and key.startswith("import:sha256:") for key in keys)
    assert len(set(keys)) == 4
    assert sum(1 for key in keys if key and key.endswith(":3")) == 1
    again = run_import(sessions, org, path, mapping="score=score,comment=comment")
    assert (again.imported, again.already_present) == (0, 4)
    # One more identical row is a new response; the content hash does not see formatting.
    more = write_csv(tmp_path / "b.csv", [*lines, "5.0, same "])
    third = run_import(sessions, org, more, mapping="score=score,comment=comment")
    assert (third.imported, third.already_present) == (1, 4)
    assert_rollups_match(sessions)


def test_a_repeated_response_id_counts_once(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "a.csv",
        [HEADER, "1,5,2024-03-01 10:00:00,email,", "1,2,2024-03-04 10:00:00,web,", *GOOD[2:]],
    )
    result = run_import(sessions, org, path, mapping=MAP)
    assert (result.imported, result.duplicates, result.already_present) == (3, 1, 0)
    assert stored(sessions)[0].score == 5.0  # the first row with the id wins


def test_contacts_properties_and_language(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "a.csv",
        [
            "score,customer,lang,agent,plan,where",
            "5,C-1,SV,Lena,gold,after purchase",
            "4,C-2,en-GB,Bob,,",
            "3,C-1,sv,Lena,silver,",
        ],
    )
    mapping = (
        "score=score,contact=customer,language=lang,property.agent=agent,"
        "property.plan=plan,touchpoint=where"
    )
    result = run_import(sessions, org, path, mapping=mapping)
    assert (result.imported, result.contacts_created) == (3, 2)
    rows = stored(sessions)
    assert [r.language for r in rows] == ["sv", "en-gb", "sv"]
    assert rows[0].properties == {"agent": "Lena", "plan": "gold"}
    assert rows[1].properties == {"agent": "Bob"}
    assert [r.touchpoint for r in rows] == ["after purchase", "after support ticket"] * 1 + [
        "after support ticket"
    ]
    with sessions() as session:
        contacts = {c.external_id: c.id for c in session.scalars(select(Contact))}
    assert [r.contact_id for r in rows] == [contacts["C-1"], contacts["C-2"], contacts["C-1"]]
    again = run_import(sessions, org, path, mapping=mapping)
    assert (again.imported, again.contacts_created) == (0, 0)


def test_text_limits_and_blank_scores(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    long = "x" * (MAX_COMMENT_LENGTH + 1)
    path = write_csv(
        tmp_path / "a.csv",
        ["score,comment,channel", f"5,{long},web", f"4,ok,{'c' * 51}", ",whatever,web", " ,,"],
    )
    with pytest.raises(InvalidRowsError) as raised:
        run_import(sessions, org, path, mapping="score=score,comment=comment,channel=channel")
    result = raised.value.result
    assert (result.invalid, result.blank) == (2, 2)
    first, second = result.invalid_rows
    assert first.reason == f"is {MAX_COMMENT_LENGTH + 1} characters long; at most 10000 are allowed"
    assert first.value is not None
    assert len(first.value) == 201
    assert second.column == "channel"


def test_date_formats_offsets_and_time_zones(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    day_first = write_csv(
        tmp_path / "eu.csv", ["id,score,when", "1,5,31/03/2024 23:30", "2,4,01/04/2024 08:00"]
    )
    run_import(sessions, org, day_first, mapping="id=id,score=score,date=when")
    assert [r.submitted_at for r in stored(sessions)] == [
        datetime(2024, 3, 31, 23, 30, tzinfo=UTC),
        datetime(2024, 4, 1, 8, 0, tzinfo=UTC),
    ]
    local = write_csv(
        tmp_path / "local.csv",
        ["id,score,when", "3,5,2024-06-01 12:00:00", "4,5,2024-06-01 12:00:00+00:00"],
    )
    run_import(
        sessions, org, local, mapping="id=id,score=score,date=when", timezone="Europe/Stockholm"
    )
    by_key = {r.idempotency_key: r.submitted_at for r in stored(sessions)}
    assert by_key["import:3"] == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    assert by_key["import:4"] == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert_rollups_match(sessions)

    ambiguous = write_csv(tmp_path / "amb.csv", ["score,when", "5,03/04/2024", "4,05/06/2024"])
    with pytest.raises(ImportInputError, match="day/month or month/day"):
        run_import(sessions, org, ambiguous, mapping="score=score,date=when")
    given = run_import(
        sessions, org, ambiguous, mapping="score=score,date=when", date_format="%m/%d/%Y"
    )
    assert given.imported == 2
    with pytest.raises(ImportInputError, match="unknown time zone"):
        run_import(sessions, org, ambiguous, mapping="score=score,date=when", timezone="Mars/Base")


def test_other_file_kinds(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    parquet = tmp_path / "a.parquet"
    duckdb.execute(
        "COPY (SELECT 'p' || i AS id, (i % 5) + 1 AS score, "
        "TIMESTAMP '2024-01-01 00:00:00' + to_hours(i) AS at FROM range(10) t(i)) "
        f"TO '{parquet}' (FORMAT parquet)"
    )
    assert run_import(sessions, org, parquet, mapping="id=id,score=score,date=at").imported == 10

    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(
        "\n".join(json.dumps({"id": f"j{i}", "score": 4, "note": "ok"}) for i in range(3)) + "\n",
        encoding="utf-8",
    )
    assert run_import(sessions, org, jsonl, mapping="id=id,score=score,comment=note").imported == 3

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["id", "score", "when"])
    sheet.append(["x1", 5, datetime(2024, 5, 1, 9, 0)])
    sheet.append(["x2", 3, "02/05/2024 10:00"])
    xlsx = tmp_path / "a.xlsx"
    workbook.save(xlsx)
    result = run_import(
        sessions, org, xlsx, mapping="id=id,score=score,date=when", date_format="%d/%m/%Y %H:%M"
    )
    assert result.imported == 2
    by_key = {r.idempotency_key: r.submitted_at for r in stored(sessions)}
    assert by_key["import:x1"] == datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    assert by_key["import:x2"] == datetime(2024, 5, 2, 10, 0, tzinfo=UTC)

    tsv = tmp_path / "a.tsv"
    tsv.write_bytes("id\tscore\tcomment\nw1\t2\tCaf\xe9 \x80\n".encode("latin-1"))
    assert run_import(sessions, org, tsv, mapping="id=id,score=score,comment=comment").imported == 1
    assert stored(sessions)[-1].comment == "Café €"
    assert_rollups_match(sessions)


def test_a_file_without_rows_is_refused(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    with pytest.raises(ImportInputError, match="only a header"):
        run_import(sessions, org, write_csv(tmp_path / "a.csv", [HEADER]), mapping=MAP)
    with pytest.raises(ImportInputError, match="not found"):
        run_import(sessions, org, tmp_path / "missing.csv", mapping=MAP)
