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

    # The headline's periods end today by default, long after January 2025: the year to
    # the last answer holds them, with nothing before it to compare with.
    past = "to=2025-01-10&compare=year"
    tables = client.get(f"{base}/tables.csv?channel=email&{past}", headers=headers)
    assert tables.status_code == 200
    table = list(csv.DictReader(io.StringIO(tables.text)))
    headline = table[0]
    assert (headline["table"], headline["metric"], headline["n"]) == ("headline", "CSAT", "5")
    assert headline["group"] == "2024-01-12 to 2025-01-10"
    assert float(headline["value"]) == pytest.approx(40.0)
    assert headline["verdict"] == "too few answers to compare (0 before, 5 now)"
    assert (headline["change"], headline["p_value"]) == ("", "")
    previous = table[1]
    assert (previous["table"], previous["group"], previous["n"]) == (
        "previous period",
        "2023-01-12 to 2024-01-11",
        "0",
    )
    assert any(r["table"] == "breakdown by channel" and r["group"] == "email" for r in table)
    # By default the headline's 30 days are empty; the trend still holds the view's answers.
    default = list(
        csv.DictReader(io.StringIO(client.get(f"{base}/tables.csv", headers=headers).text))
    )
    assert (default[0]["n"], default[0]["verdict"]) == ("0", "no answers in either period")
    assert sum(int(r["n"]) for r in default if r["table"] == "trend by month") == 10
    wb = client.get(f"{base}/tables.xlsx", headers=headers)
    sheet = load_workbook(io.BytesIO(wb.content)).active
    assert sheet is not None
    assert sheet.cell(1, 1).value == "table"
    parquet = client.get(f"{base}/tables.parquet?{past}", headers=headers)
    pt = pq.read_table(io.BytesIO(parquet.content))
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
