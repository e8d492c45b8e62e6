"""Exports of responses: CSV (neutralised), XLSX and Parquet, with the listing's filters."""

from __future__ import annotations

import csv
import io

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from cxpulse.web import exporters

from ..helpers import World, bearer

DANGEROUS = ['=HYPERLINK("http://evil")', "+1+2", "-3", "@SUM(A1)", "\tindent", "plain"]


def _export(client: TestClient, world: World, fmt: str, **params: str) -> bytes:
    org = world.a
    answer = client.get(
        f"/api/v1/surveys/{org.survey_id}/responses/export.{fmt}",
        params=params,
        headers=bearer(org.read_key),
    )
    assert answer.status_code == 200, answer.text
    assert f"support-csat-responses.{fmt}" in answer.headers["content-disposition"]
    return answer.content


def _add_dangerous(client: TestClient, world: World) -> None:
    org = world.a
    items = [
        {"score": 5, "comment": text, "channel": "web", "properties": {"note": text}}
        for text in DANGEROUS
    ]
    answer = client.post(
        f"/api/v1/surveys/{org.survey_id}/responses/batch",
        json={"items": items},
        headers=bearer(org.write_key),
    )
    assert answer.status_code == 201


def test_csv_export_neutralises_every_text_cell(client: TestClient, world: World) -> None:
    _add_dangerous(client, world)
    text = _export(client, world, "csv").decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 10 + len(DANGEROUS)
    assert list(rows[0]) == [*exporters.BASE_COLUMNS, "property.note", "property.team"]
    web = [row for row in rows if row["channel"] == "web"]
    # Stripped by the store, so "\tindent" arrives as "indent".
    expected = ['\'=HYPERLINK("http://evil")', "'+1+2", "'-3", "'@SUM(A1)", "indent", "plain"]
    assert [row["comment"] for row in web] == expected
    # Property values are kept as sent, so the tab stays and is neutralised too.
    assert [row["property.note"] for row in web] == [*expected[:4], "'\tindent", "plain"]
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value
    assert rows[0]["score"] == "1"
    with_bom = _export(client, world, "csv", bom="true")
    assert with_bom.startswith(b"\xef\xbb\xbf")


def test_exports_take_the_listing_filters(client: TestClient, world: World) -> None:
    text = _export(client, world, "csv", channel="email", **{"property.team": "billing"})
    rows = list(csv.DictReader(io.StringIO(text.decode("utf-8"))))
    assert rows
    assert {(row["channel"], row["property.team"]) for row in rows} == {("email", "billing")}
    of_pro_contacts = _export(client, world, "parquet", **{"contact.plan": "pro"})
    assert pq.read_table(io.BytesIO(of_pro_contacts)).num_rows == 3
    none = _export(client, world, "csv", channel="fax")
    assert none.decode("utf-8").strip() == ",".join(exporters.BASE_COLUMNS)


def test_xlsx_export_opens_in_openpyxl(client: TestClient, world: World) -> None:
    _add_dangerous(client, world)
    workbook = load_workbook(io.BytesIO(_export(client, world, "xlsx")), read_only=True)
    sheet = workbook["responses"]
    rows = list(sheet.iter_rows(values_only=True))
    workbook.close()
    assert list(rows[0]) == [*exporters.BASE_COLUMNS, "property.note", "property.team"]
    assert len(rows) == 1 + 10 + len(DANGEROUS)
    comments = [row[5] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil")' in comments
    assert not any(isinstance(c, str) and c.startswith("=") for c in comments)
    assert rows[1][4] == 1


def test_parquet_export_reads_back_with_pyarrow(client: TestClient, world: World) -> None:
    table = pq.read_table(io.BytesIO(_export(client, world, "parquet")))
    assert table.num_rows == 10
    assert table.column_names == [*exporters.BASE_COLUMNS, "property.team"]
    assert str(table.schema.field("submitted_at").type) == "timestamp[us, tz=UTC]"
    scores = table.column("score").to_pylist()
    assert scores == [float(1 + n % 5) for n in range(10)]
    empty = pq.read_table(io.BytesIO(_export(client, world, "parquet", channel="fax")))
    assert empty.num_rows == 0


def test_exports_stream_page_by_page(client: TestClient, world: World, monkeypatch: object) -> None:
    """Several pages and row groups, forced small, give the same rows as one."""

    patch = pytest.MonkeyPatch()
    try:
        patch.setattr(exporters, "PAGE_SIZE", 3)
        patch.setattr(exporters, "ROW_GROUP_SIZE", 4)
        csv_rows = list(csv.DictReader(io.StringIO(_export(client, world, "csv").decode())))
        parquet = pq.ParquetFile(io.BytesIO(_export(client, world, "parquet")))
    finally:
        patch.undo()
    assert [int(row["id"]) for row in csv_rows] == sorted(int(row["id"]) for row in csv_rows)
    assert len(csv_rows) == 10
    assert parquet.metadata.num_rows == 10
    assert parquet.metadata.num_row_groups >= 2


def test_unknown_format_or_survey(client: TestClient, world: World) -> None:
    org = world.a
    headers = bearer(org.read_key)
    bad = client.get(f"/api/v1/surveys/{org.survey_id}/responses/export.pdf", headers=headers)
    assert bad.status_code == 422
    missing = client.get("/api/v1/surveys/424242/responses/export.csv", headers=headers)
    assert missing.status_code == 404
