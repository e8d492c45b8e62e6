"""Exports of a dashboard view: its responses and its metric tables as CSV, XLSX and Parquet.

The ``world`` survey of each organisation holds 10 CSAT answers, one a day from
2025-01-01: scores 1, 2, 3, 4, 5, 1, 2, 3, 4, 5; odd days (n = 1, 3, ...) by email, even by
chat; comments "comment <n>".
"""

from __future__ import annotations

import csv
import io

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import responses

from ..helpers import World, session_headers


def test_exports_of_the_view(client: TestClient, app: FastAPI, world: World) -> None:
    org = world.a
    headers = session_headers(app, org.users["analyst"])
    base = f"/app/surveys/{org.survey_id}/export"
    answer = client.get(f"{base}/responses.csv?channel=email&min_score=4", headers=headers)
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert sorted(int(float(r["score"])) for r in rows) == [4, 5]
    assert {r["channel"] for r in rows} == {"email"}
    xlsx = client.get(f"{base}/responses.xlsx?channel=chat", headers=headers)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert sheet.max_row == 1 + 5
    parquet = client.get(f"{base}/responses.parquet", headers=headers)
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == 10

    tables = client.get(f"{base}/tables.csv?channel=email", headers=headers)
    assert tables.status_code == 200
    table = list(csv.DictReader(io.StringIO(tables.text)))
    headline = table[0]
    assert (headline["table"], headline["metric"], headline["n"]) == ("headline", "CSAT", "5")
    assert float(headline["value"]) == pytest.approx(40.0)
    assert any(r["table"] == "breakdown by channel" and r["group"] == "email" for r in table)
    wb = client.get(f"{base}/tables.xlsx", headers=headers)
    sheet = load_workbook(io.BytesIO(wb.content)).active
    assert sheet is not None
    assert sheet.cell(1, 1).value == "table"
    pt = pq.read_table(io.BytesIO(client.get(f"{base}/tables.parquet", headers=headers).content))
    assert pt.column("n").to_pylist()[0] == 10


def test_table_exports_neutralise_formulas(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    with db() as session:
        responses.add_responses(
            session,
            org.id,
            [responses.NewResponse(survey_id=org.survey_id, score=5.0, channel="=cmd()")],
        )
        session.commit()
    headers = session_headers(app, org.users["analyst"])
    text = client.get(f"/app/surveys/{org.survey_id}/export/tables.csv", headers=headers).text
    assert "'=cmd()" in text
    assert ",=cmd()" not in text
