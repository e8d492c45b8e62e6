"""The app as a whole: start-up migrations, health, the OpenAPI document, error shapes."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect

from cxpulse.store.db import create_engine_for, current_revision, head_revision

from .helpers import BASE_URL, World, bearer, make_app

OPERATION_IDS = {
    "healthz",
    "listSurveys",
    "createSurvey",
    "getSurvey",
    "updateSurvey",
    "deleteSurvey",
    "createResponse",
    "createResponsesBatch",
    "listResponses",
    "getResponse",
    "deleteResponse",
    "getSurveyMetrics",
    "importResponses",
    "exportResponses",
    "listContacts",
    "createContact",
    "getContact",
    "updateContact",
    "deleteContact",
    "login",
    "logout",
    "getMe",
    "listApiKeys",
    "createApiKey",
    "revokeApiKey",
    "listUsers",
    "createUser",
    "getUser",
    "updateUser",
    "getOrganisation",
    "updateOrganisation",
    "listAuditEntries",
    "importContacts",
    "listInvitations",
    "createInvitations",
    "uploadInvitations",
    "getInvitation",
    "cancelInvitation",
    "createUnsubscribe",
    "getResponseRates",
    "listGoals",
    "createGoal",
    "getGoal",
    "updateGoal",
    "deleteGoal",
    "getReportSchedule",
    "putReportSchedule",
    "deleteReportSchedule",
}


def test_start_up_migrates_an_empty_database(database_url: str) -> None:
    engine = create_engine_for(database_url)
    try:
        assert current_revision(engine) is None
        with TestClient(make_app(engine), base_url=BASE_URL) as client:
            assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
        assert current_revision(engine) == head_revision()
        assert "responses" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_operation_ids_are_stable(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    found = [
        operation["operationId"]
        for path in document["paths"].values()
        for operation in path.values()
    ]
    assert len(found) == len(set(found))
    assert set(found) == OPERATION_IDS
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"]["scheme"] == "bearer"
    assert schemes["session"]["in"] == "cookie"
    assert client.get("/docs").status_code == 200


def test_unknown_paths_and_methods_answer_plainly(client: TestClient, world: World) -> None:
    headers = bearer(world.a.read_key)
    missing = client.get("/api/v1/nothing", headers=headers)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
    wrong = client.put("/api/v1/surveys", headers=headers)
    assert wrong.status_code == 405


def test_unexpected_errors_never_leak(engine: Engine) -> None:
    app: FastAPI = make_app(engine)

    def explode() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/boom", explode)
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client:
        answer = client.get("/boom")
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal server error"}
    assert "secret" not in answer.text
