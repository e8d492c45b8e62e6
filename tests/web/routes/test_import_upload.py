"""POST /api/v1/surveys/{id}/imports on the real app and database (both kinds)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect import import_options
from cxpulse.config import Settings
from cxpulse.store import accounts, rollups, security, surveys
from cxpulse.store.models import AuditLog, Response, User
from cxpulse.web import create_app
from cxpulse.web.routes import import_upload
from cxpulse.web.state import AppState

from ..helpers import session_headers

BASE_URL = "https://testserver"
ROUTE = "/api/v1/surveys/{survey_id}/imports"
CSV = (
    b"Response ID,Rating,Date,Comment\n"
    b"r1,5,2024-03-01 10:00:00,Great\n"
    b"r2,2,2024-03-01 11:00:00,Slow\n"
    b"r3,4,2024-03-02 09:00:00,\n"
)
MAP = "score=Rating,submitted_at=Date,comment=Comment,id=Response ID"


@dataclass
class Org:
    id: int
    survey_id: int
    write_key: str
    read_key: str
    users: dict[str, User]


def _org(session: Session, slug: str) -> Org:
    organisation = accounts.create_organisation(session, slug=slug, name=slug.title())
    survey = surveys.create_survey(session, organisation.id, slug="csat", name="C", metric="csat")
    _, write_key = accounts.create_api_key(session, organisation.id, name="w", scope="write")
    _, read_key = accounts.create_api_key(session, organisation.id, name="r", scope="read")
    users = {}
    for role in ("analyst", "agent"):
        user = User(
            organisation_id=organisation.id,
            email=f"{role}@{slug}.example",
            role=role,
            password_hash=_password_hash(),
        )
        session.add(user)
        session.flush()
        users[role] = user
    return Org(organisation.id, survey.id, write_key, read_key, users)


_HASH: list[str] = []


def _password_hash() -> str:
    if not _HASH:
        _HASH.append(security.hash_password("correct horse battery"))
    return _HASH[0]


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    settings = Settings(
        database_url=engine.url.render_as_string(False), secret_key="test-key", login_burst=1000
    )
    made = create_app(settings, engine)
    routes = {getattr(route, "path", None) for route in made.routes}
    if ROUTE not in routes:  # until the app includes it itself
        made.include_router(import_upload.router)
    return made


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL) as opened:
        yield opened


@pytest.fixture
def orgs(sessions: sessionmaker[Session]) -> tuple[Org, Org]:
    with sessions.begin() as session:
        return _org(session, "org-a"), _org(session, "org-b")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def logged_in(app: FastAPI, user: User) -> dict[str, str]:
    return session_headers(app, user.id)


def upload(
    client: TestClient,
    org: Org,
    headers: dict[str, str],
    *,
    content: bytes = CSV,
    name: str = "answers.csv",
    form: dict[str, str | None] | None = None,
) -> Any:
    data = {"map": MAP, **(form or {})}
    return client.post(
        ROUTE.format(survey_id=org.survey_id),
        headers=headers,
        data={k: v for k, v in data.items() if v is not None},
        files={"file": (name, io.BytesIO(content), "text/csv")},
    )


def test_upload_imports_and_a_repeat_adds_nothing(
    client: TestClient, orgs: tuple[Org, Org], sessions: sessionmaker[Session]
) -> None:
    a, _ = orgs
    answer = upload(client, a, bearer(a.write_key))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["imported"], body["already_present"], body["invalid"]) == (3, 0, 0)
    assert body["key"] == "column 'Response ID'"
    assert body["file"] == "answers.csv"
    again = upload(client, a, bearer(a.write_key)).json()
    assert (again["imported"], again["already_present"]) == (0, 3)
    with sessions() as session:
        keys = session.scalars(select(Response.idempotency_key).order_by(Response.id)).all()
        assert keys == ["import:r1", "import:r2", "import:r3"]
        assert rollups.stored(session) == rollups.recount(session)
        actors = set(session.scalars(select(AuditLog.actor)))
    assert actors == {f"api_key:{_key_id(sessions, a.write_key)}"}


def _key_id(sessions: sessionmaker[Session], plaintext: str) -> int:
    with sessions() as session:
        key = accounts.lookup_api_key(session, plaintext, touch=False)
        assert key is not None
        return key.id


def test_invalid_rows_answer_422_with_lines_and_store_nothing(
    client: TestClient, orgs: tuple[Org, Org], sessions: sessionmaker[Session]
) -> None:
    a, _ = orgs
    bad = CSV + b"r4,9,2024-03-03 10:00:00,\nr5,3,never,\n"
    answer = upload(client, a, bearer(a.write_key), content=bad)
    assert answer.status_code == 422
    body = answer.json()
    assert [entry["loc"] for entry in body["detail"]] == [
        ["body", "file", 5, "Rating"],
        ["body", "file", 6, "Date"],
    ]
    assert "'9' is not on the 1-5 scale" in body["detail"][0]["msg"]
    assert (body["result"]["invalid"], body["result"]["imported"]) == (2, 0)
    with sessions() as session:
        assert session.scalars(select(Response)).all() == []

    skipped = upload(client, a, bearer(a.write_key), content=bad, form={"skip_invalid": "true"})
    assert skipped.status_code == 200
    assert (skipped.json()["imported"], skipped.json()["invalid"]) == (3, 2)
    assert [cell["line"] for cell in skipped.json()["invalid_rows"]] == [5, 6]


def test_roles_keys_and_organisations(
    app: FastAPI, client: TestClient, orgs: tuple[Org, Org]
) -> None:
    a, b = orgs
    assert upload(client, a, bearer(a.read_key)).status_code == 403
    assert upload(client, a, logged_in(app, a.users["agent"])).status_code == 403
    assert upload(client, a, logged_in(app, a.users["analyst"])).status_code == 200
    assert upload(client, a, bearer(b.write_key)).status_code == 404
    assert upload(client, a, {}).status_code == 401


@pytest.mark.parametrize(
    ("fields", "name", "loc", "words"),
    [
        ({"map": "rating=Rating"}, "answers.csv", ["body", "map"], "unknown field"),
        ({"map": '{"score": 5}'}, "answers.csv", ["body", "map"], "JSON map"),
        ({"map": "score=Score"}, "answers.csv", ["body", "file"], "'Response ID', 'Rating'"),
        ({}, "answers.exe", ["body", "file"], "unsupported file type"),
        ({"map": "", "preset": None}, "answers.csv", ["body", "map"], "give a map"),
        ({"preset": "medallia"}, "answers.csv", ["body", "preset"], ""),
        ({"timezone": "Mars/Base"}, "answers.csv", ["body", "file"], "unknown time zone"),
    ],
)
def test_bad_input_is_a_field_level_422(
    client: TestClient,
    orgs: tuple[Org, Org],
    fields: dict[str, str | None],
    name: str,
    loc: list[str],
    words: str,
) -> None:
    a, _ = orgs
    answer = upload(client, a, bearer(a.write_key), name=name, form=fields)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail[0]["loc"] == loc
    assert words in detail[0]["msg"]


def test_json_map_and_size_limit(
    app: FastAPI, client: TestClient, orgs: tuple[Org, Org], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = orgs
    answer = upload(
        client,
        a,
        bearer(a.write_key),
        form={"map": '{"score": "Rating", "property.note": "Comment"}'},
    )
    assert answer.status_code == 200
    assert answer.json()["imported"] == 3
    state: AppState = app.state.cxpulse
    smaller = state.settings.model_copy(update={"import_max_mb": 0.0001})  # CXPULSE_IMPORT_MAX_MB
    monkeypatch.setattr(state, "settings", smaller)
    assert upload(client, a, bearer(a.write_key)).status_code == 413
    missing = client.post(
        ROUTE.format(survey_id=a.survey_id), headers=bearer(a.write_key), data={"map": MAP}
    )
    assert missing.status_code == 422


UTF8_CSV = CSV + "r4,4,2024-03-02 10:00:00,Привет café\n".encode()


def test_a_stray_byte_is_a_422_naming_its_line_unless_the_encoding_is_named(
    client: TestClient, orgs: tuple[Org, Org], sessions: sessionmaker[Session]
) -> None:
    a, _ = orgs
    stray = UTF8_CSV + b"r5,3,2024-03-02 11:00:00,\xff\n"
    answer = upload(client, a, bearer(a.write_key), content=stray)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == [
        {
            "loc": ["body", "file"],
            "msg": "could not read answers.csv: line 6: byte 0xFF is not valid UTF-8; save the "
            "file as UTF-8 or name its encoding (--encoding / encoding=...)",
            "type": "value_error",
        }
    ]
    with sessions() as session:
        assert session.scalars(select(Response)).all() == []
    unknown = upload(client, a, bearer(a.write_key), content=stray, form={"encoding": "klingon"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "encoding"]
    named = upload(client, a, bearer(a.write_key), content=stray, form={"encoding": "cp1252"})
    assert named.status_code == 200, named.text
    assert named.json()["imported"] == 5


def test_answer_times_and_control_characters_are_invalid_rows(
    client: TestClient, orgs: tuple[Org, Org]
) -> None:
    a, _ = orgs
    bad = CSV + b"r4,4,2999-01-01 10:00:00,\nr5,4,2024-03-03 10:00:00,nul \x00\n"
    answer = upload(client, a, bearer(a.write_key), content=bad)
    assert answer.status_code == 422, answer.text
    assert [(e["loc"], e["msg"]) for e in answer.json()["detail"]] == [
        (
            ["body", "file", 5, "Date"],
            "line 5, column 'Date': '2999-01-01 10:00:00' must not be more than one day in "
            "the future",
        ),
        (
            ["body", "file", 6, "Comment"],
            "line 6, column 'Comment': 'nul \\x00' holds the control character U+0000 at "
            "position 5; remove it",
        ),
    ]


def test_a_file_over_the_memory_of_an_import_is_a_413_not_a_500(
    client: TestClient,
    orgs: tuple[Org, Org],
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, _ = orgs
    monkeypatch.setattr(import_options, "IMPORT_MEMORY_MB", 2)
    rows = b"".join(b"r%d,%d,2024-03-01 10:00:00,c%d\n" % (i, 1 + i % 5, i) for i in range(50_000))
    answer = upload(client, a, bearer(a.write_key), content=CSV + rows)
    assert answer.status_code == 413, answer.text
    detail = answer.json()["detail"]
    assert detail[0]["loc"] == ["body", "file"]
    assert detail[0]["msg"].startswith(
        "could not import answers.csv: reading and checking it needs more than the 2 MB"
    )
    assert "Split it into smaller files" in detail[0]["msg"]
    with sessions() as session:
        assert session.scalars(select(Response)).all() == []
