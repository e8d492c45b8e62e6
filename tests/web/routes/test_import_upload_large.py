"""A big upload through POST /api/v1/surveys/{id}/imports: a million rows, within the memory
an import is given (DuckDB spills to disk), answered 200 and not 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.config import Settings
from cxpulse.store import rollups
from cxpulse.store.models import Response
from cxpulse.web import create_app

from .test_import_upload import BASE_URL, ROUTE, Org, _org, bearer


@pytest.fixture
def database_kind() -> str:
    """SQLite only: the memory at stake is DuckDB's, the same whichever database follows."""
    return "sqlite"


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    settings = Settings(database_url=engine.url.render_as_string(False), secret_key="test-key")
    app: FastAPI = create_app(settings, engine)
    with TestClient(app, base_url=BASE_URL) as opened:
        yield opened


@pytest.mark.slow
def test_a_million_rows_import_through_the_api(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # Before: DuckDB ran out of its 128 MB sorting these rows, and the API answered 500.
    with sessions.begin() as session:
        org: Org = _org(session, "big")
    path = tmp_path / "same.csv"
    with path.open("wb") as handle:
        handle.write(b"Rating,Date,Channel\n")
        handle.write(b"5,2024-03-01,web\n" * 1_000_000)
    with path.open("rb") as handle:
        answer = client.post(
            ROUTE.format(survey_id=org.survey_id),
            headers=bearer(org.write_key),
            data={"map": "score=Rating,submitted_at=Date,channel=Channel"},
            files={"file": ("same.csv", handle, "text/csv")},
        )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["rows"], answer.json()["imported"]) == (1_000_000, 1_000_000)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 1_000_000
        assert rollups.stored(session) == rollups.recount(session)
