"""The same rule at every door: a segment filter's value matches the stored one in any case
(``store.segment_values.resolve``), at the API's metrics, listing and export and at the
dashboard's exports, as on the dashboard itself."""

from __future__ import annotations

import csv
import io

from fastapi import FastAPI
from fastapi.testclient import TestClient

from ..helpers import World, bearer, session_headers

# The world's answers: channel "email" on odd days, team "billing" unless n % 3 == 0.
Params = list[tuple[str, str | int | float | bool | None]]
LOWER: Params = [("channel", "email"), ("property.team", "billing")]
MIXED: Params = [("channel", "EMAIL"), ("property.team", "Billing")]
EXPECTED = sum(1 for n in range(10) if n % 2 and n % 3)


def test_api_metrics_match_in_any_case(client: TestClient, world: World) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/metrics"
    counts = [
        client.get(url, params=params, headers=bearer(org.read_key)).json()["rows"][0]["n"]
        for params in (LOWER, MIXED)
    ]
    assert counts == [EXPECTED, EXPECTED]


def test_api_listing_and_export_match_in_any_case(client: TestClient, world: World) -> None:
    org = world.a
    base = f"/api/v1/surveys/{org.survey_id}/responses"
    listed = client.get(base, params=MIXED, headers=bearer(org.read_key))
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) == EXPECTED
    exported = client.get(f"{base}/export.csv", params=MIXED, headers=bearer(org.read_key))
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == EXPECTED
    assert {row["channel"] for row in rows} == {"email"}


def test_dashboard_export_matches_in_any_case(
    app: FastAPI, client: TestClient, world: World
) -> None:
    org = world.a
    headers = session_headers(app, org.users["analyst"])
    url = f"/app/surveys/{org.survey_id}/export/responses.csv"
    params: Params = [("from", "2025-01-01"), ("to", "2025-01-31"), *MIXED]
    answer = client.get(url, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    assert len(list(csv.DictReader(io.StringIO(answer.text)))) == EXPECTED


def test_a_value_no_answer_has_matches_nothing(client: TestClient, world: World) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/metrics"
    answer = client.get(url, params=[("channel", "Phone")], headers=bearer(org.read_key))
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"][0]["n"] == 0
