"""``web/exporters.py`` on its own: the columns of a plan, neutralised CSV and XLSX cells,
Parquet types, pages read across several keyset pages, and one organisation's rows only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import responses
from cxpulse.store.exports import property_names
from cxpulse.store.models import Response
from cxpulse.store.responses import NewResponse, ResponseFilters
from cxpulse.web import exporters

from .helpers import World

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def _plan(db: sessionmaker[Session], organisation_id: int, **filters: Any) -> exporters.ExportPlan:
    chosen = ResponseFilters(**filters)
    with db() as session:
        names = property_names(session, organisation_id, chosen)
    return exporters.ExportPlan(organisation_id, chosen, names)


def _add(db: sessionmaker[Session], world: World, items: list[NewResponse]) -> None:
    with db() as session:
        responses.add_responses(session, world.a.id, items)
        session.commit()


def test_the_plan_names_base_then_property_columns(db: sessionmaker[Session], world: World) -> None:
    plan = exporters.ExportPlan(world.a.id, ResponseFilters(), ["team", "x"])
    assert plan.columns == [*exporters.BASE_COLUMNS, "property.team", "property.x"]


def test_csv_neutralises_headers_and_cells_and_adds_a_bom_on_request(
    db: sessionmaker[Session], world: World
) -> None:
    _add(
        db,
        world,
        [
            NewResponse(
                survey_id=world.a.survey_id,
                score=4,
                submitted_at=T0,
                comment="=1+1",
                properties={"=evil": "@SUM(A1)"},
            )
        ],
    )
    plan = _plan(db, world.a.id, start=T0, end=T0 + timedelta(seconds=1))
    data = b"".join(exporters.csv_chunks(db, plan, bom=True))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][-1] == "property.=evil"  # the prefix keeps a header harmless
    [row] = rows[1:]
    record = dict(zip(rows[0], row, strict=True))
    assert record["comment"] == "'=1+1"
    assert record["property.=evil"] == "'@SUM(A1)"
    assert record["score"] == "4"  # whole scores are written without ".0"
    assert record["submitted_at"] == T0.isoformat()
    assert record["contact_id"] == ""
    assert not b"".join(exporters.csv_chunks(db, plan)).startswith(b"\xef\xbb\xbf")


def test_pages_cross_every_page_in_order_and_stay_in_the_organisation(
    db: sessionmaker[Session], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Five rows at one moment and five after it: pages of three split the tie.
    moments = [T0] * 5 + [T0 + timedelta(minutes=m) for m in range(1, 6)]
    _add(
        db,
        world,
        [NewResponse(survey_id=world.a.survey_id, score=3, submitted_at=m) for m in moments],
    )
    monkeypatch.setattr(exporters, "PAGE_SIZE", 3)
    plan = _plan(db, world.a.id, survey_id=world.a.survey_id)
    pages = list(exporters.pages(db, plan))
    # The world's ten answers and these ten: 20 rows, in pages of three.
    assert [len(page) for page in pages] == [3] * 6 + [2]
    ids = [row.id for page in pages for row in page]
    assert len(ids) == len(set(ids))
    keys = [(row.submitted_at, row.id) for page in pages for row in page]
    assert keys == sorted(keys)
    # CSV: one chunk for the header, then one per page.
    assert len(list(exporters.csv_chunks(db, plan))) == 1 + len(pages)
    # Organisation B's plan on A's survey finds nothing.
    other = _plan(db, world.b.id, survey_id=world.a.survey_id)
    assert list(exporters.pages(db, other)) == []
    header_only = b"".join(exporters.csv_chunks(db, other)).decode()
    assert header_only.strip() == ",".join(other.columns)


def test_xlsx_and_parquet_keep_types_and_neutralise_text(
    db: sessionmaker[Session], world: World
) -> None:
    _add(
        db,
        world,
        [
            NewResponse(
                survey_id=world.a.survey_id,
                score=2,
                submitted_at=T0,
                comment="+cmd",
                properties={"team": "-x"},
            )
        ],
    )
    # A control character as an older version could store it (the store refuses it now):
    # the spreadsheet must still drop it, since openpyxl cannot write it.
    with db() as session:
        session.execute(update(Response).values(comment="+cmd\x07"))
        session.commit()
    plan = _plan(db, world.a.id, start=T0, end=T0 + timedelta(seconds=1))
    sheet = load_workbook(io.BytesIO(b"".join(exporters.xlsx_chunks(db, plan)))).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    values = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert values["comment"] == "'+cmd"  # neutralised, the control character dropped
    assert values["property.team"] == "'-x"
    assert values["submitted_at"] == T0.replace(tzinfo=None)
    table = pq.read_table(io.BytesIO(b"".join(exporters.parquet_chunks(db, plan))))
    assert table.schema == exporters.parquet_schema(plan)
    assert table.schema.field("submitted_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("score").to_pylist() == [2.0]  # a float in Parquet, whole or not
    assert table.column("comment").to_pylist() == ["+cmd\x07"]  # Parquet is data, not a sheet
    assert table.column("property.team").to_pylist() == ["-x"]


def test_csv_cells_write_booleans_as_json_does() -> None:
    assert exporters._csv_cell(True) == "true"
    assert exporters._csv_cell(False) == "false"
    assert exporters._csv_cell(None) == ""


def test_an_export_of_one_survey_has_a_column_per_follow_up_question(
    db: sessionmaker[Session], world: World
) -> None:
    from cxpulse.collect import follow_up_changes
    from cxpulse.store.exports import follow_up_columns

    a = world.a
    with db() as session:
        for raw in (
            {"kind": "rating", "key": "delivery", "labels": {"en": "D?"}},
            {"kind": "text", "key": "improve", "labels": {"en": "Why?"}},
        ):
            follow_up_changes.create_question(session, a.id, a.survey_id, raw)
        follow_up_changes.record_answers(
            session,
            a.id,
            a.response_id,
            {"delivery": "4", "improve": "=mail me at ann@example.com"},
        )
        session.commit()
        chosen = ResponseFilters(survey_id=a.survey_id)
        plan = exporters.ExportPlan(
            a.id,
            chosen,
            property_names(session, a.id, chosen),
            follow_up_columns(session, a.id, chosen),
        )
        assert follow_up_columns(session, a.id, ResponseFilters()) == []
    assert plan.columns[-2:] == ["q_delivery", "q_improve"]
    rows = list(csv.DictReader(io.StringIO(b"".join(exporters.csv_chunks(db, plan)).decode())))
    first = next(r for r in rows if r["id"] == str(a.response_id))
    assert first["q_delivery"] == "4"
    assert "ann@example.com" not in first["q_improve"]  # redacted as comments are
    assert first["q_improve"].startswith("'=")  # and neutralised
    assert sum(1 for r in rows if r["q_delivery"]) == 1
    table = pq.read_table(io.BytesIO(b"".join(exporters.parquet_chunks(db, plan))))
    assert table.schema.field("q_delivery").type == pa.float64()
    assert sorted(v for v in table.column("q_delivery").to_pylist() if v is not None) == [4.0]
