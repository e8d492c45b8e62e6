"""Personal data in comments never leaves through the API or an export: the responses API
(submission echo, batch, listing, one response), the exports (CSV, XLSX, Parquet) and the
dashboard's export of a view. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from ..helpers import World, bearer, session_headers
from .theme_support import analysed_comments

pytestmark = pytest.mark.usefixtures("no_inline_worker")

PERSONAL = (
    "Card 4111 1111 1111 1111 was charged twice; mail anna@example.com or call "
    "+46 70 123 45 67. IBAN SE45 5000 0000 0583 9825 7466, order 12345."
)
SECRETS = ("4111", "anna@example.com", "123 45 67", "SE45", "5839825")


def _clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret
    assert "[email]" in text
    assert "order 12345" in text  # ordinary numbers stay


def test_the_responses_api_shows_comments_redacted(client: TestClient, world: World) -> None:
    org = world.a
    key = bearer(org.write_key)
    url = f"/api/v1/surveys/{org.survey_id}/responses"
    one = client.post(url, json={"score": 1, "comment": PERSONAL}, headers=key)
    assert one.status_code == 201
    _clean(one.json()["comment"])
    repeat = client.post(
        url, json={"score": 1, "comment": PERSONAL, "idempotency_key": "k-1"}, headers=key
    )
    again = client.post(
        url, json={"score": 1, "comment": PERSONAL, "idempotency_key": "k-1"}, headers=key
    )
    assert (repeat.status_code, again.status_code) == (201, 200)
    _clean(again.json()["comment"])
    batch = client.post(
        url + "/batch", json={"items": [{"score": 2, "comment": PERSONAL}]}, headers=key
    )
    assert batch.status_code == 201
    _clean(batch.json()["items"][0]["comment"])
    listed = client.get(url + "?has_comment=true&limit=1000", headers=key).json()["items"]
    personal = [item for item in listed if item["comment"] and "order" in item["comment"]]
    assert len(personal) == 3  # the repeat stored nothing
    for item in personal:
        _clean(item["comment"])
    _clean(client.get(f"/api/v1/responses/{one.json()['id']}", headers=key).json()["comment"])
    # Comments without personal data are shown as they are.
    assert {item["comment"] for item in listed} >= {"comment 0", "comment 9"}


def test_a_stored_redaction_is_what_the_api_shows(
    client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    [response_id] = analysed_comments(db, org.id, org.survey_id, [PERSONAL])
    shown = client.get(f"/api/v1/responses/{response_id}", headers=bearer(org.read_key))
    _clean(shown.json()["comment"])


def test_every_export_format_holds_redacted_comments(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    key = bearer(org.read_key)
    analysed_comments(db, org.id, org.survey_id, [PERSONAL])  # stored redaction
    client.post(
        f"/api/v1/surveys/{org.survey_id}/responses",
        json={"score": 1, "comment": PERSONAL},
        headers=bearer(org.write_key),
    )  # not analysed: redacted on the way out
    base = f"/api/v1/surveys/{org.survey_id}/responses/export"
    rows = list(csv.DictReader(io.StringIO(client.get(base + ".csv", headers=key).text)))
    personal = [row["comment"] for row in rows if "order" in row["comment"]]
    assert len(personal) == 2
    for comment in personal:
        _clean(comment)
    assert {row["comment"] for row in rows} >= {"comment 0"}

    workbook = load_workbook(io.BytesIO(client.get(base + ".xlsx", headers=key).content))
    sheet = workbook["responses"]
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    at = header.index("comment")
    cells = [str(row[at].value) for row in sheet.iter_rows(min_row=2) if row[at].value]
    assert sum("order" in cell for cell in cells) == 2
    for cell in cells:
        assert "anna@example.com" not in cell

    table = pq.read_table(io.BytesIO(client.get(base + ".parquet", headers=key).content))
    comments = [c for c in table.column("comment").to_pylist() if c and "order" in c]
    assert len(comments) == 2
    for comment in comments:
        _clean(comment)

    # The dashboard's export of a view goes through the same rows.
    page = client.get(
        f"/app/surveys/{org.survey_id}/export/responses.csv?from=2020-01-01",
        headers=session_headers(app, org.users["analyst"]),
    )
    assert page.status_code == 200, page.text[:300]
    assert "anna@example.com" not in page.text
    assert page.text.count("[email]") == 2
