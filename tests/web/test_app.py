"""The app as a whole: start-up migrations, health and readiness, the OpenAPI document, error
shapes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect

from cxpulse.store.db import create_engine_for, current_revision, head_revision, is_sqlite

from .helpers import BASE_URL, World, bearer, make_app

OPERATION_IDS = {
    "healthz",
    "readyz",
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
    "changePassword",
    "listMySessions",
    "revokeMySession",
    "signOutEverywhere",
    "listUserSessions",
    "revokeUserSessions",
    "revokeUserSession",
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
    "createTheme",
    "deleteTheme",
    "getResponseThemes",
    "getSurveyThemes",
    "getTheme",
    "listDiscoveredThemes",
    "listThemes",
    "mergeTheme",
    "promoteDiscoveredTheme",
    "updateTheme",
    # The closed loop: follow-up cases and teams.
    "listCases",
    "createCase",
    "bulkUpdateCases",
    "receiveCaseEmail",
    "getCase",
    "updateCase",
    "addCaseNote",
    "replyToCase",
    "listTeams",
    "createTeam",
    "renameTeam",
    "deleteTeam",
    "addTeamMember",
    "removeTeamMember",
    "getCaseSettings",
    "updateCaseSettings",
    # Inbound webhooks and SMS.
    "listInboundEndpoints",
    "createInboundEndpoint",
    "getInboundEndpoint",
    "updateInboundEndpoint",
    "deleteInboundEndpoint",
    "listInboundEvents",
    "getSmsSettings",
    "listSmsOptOuts",
    # Privacy and the closed-loop figures.
    "exportContactData",
    "eraseContact",
    "getRetention",
    "putRetention",
    "getSurveyLoopFigures",
    # Rules, referral codes, outgoing webhooks and alerts.
    "listRules",
    "createRule",
    "testDraftRule",
    "getRule",
    "updateRule",
    "deleteRule",
    "testRule",
    "redeemReferralCode",
    "listWebhookEndpoints",
    "createWebhookEndpoint",
    "getWebhookEndpoint",
    "updateWebhookEndpoint",
    "deleteWebhookEndpoint",
    "rotateWebhookSecret",
    "sendWebhookTest",
    "listWebhookDeliveries",
    "replayWebhookDelivery",
    "replayFailedWebhookDeliveries",
    "listAlerts",
    "getAlert",
    "closeAlert",
    # Follow-up questions and their answers.
    "listFollowUpQuestions",
    "createFollowUpQuestion",
    "getFollowUpQuestion",
    "updateFollowUpQuestion",
    "deleteFollowUpQuestion",
    "reorderFollowUpQuestions",
    "getFollowUpScores",
    "getFollowUpDrivers",
    "listResponseAnswers",
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


def read_only_twin(engine: Engine) -> Engine:
    """An engine on the same database that reads but cannot write: the SQLite file opened
    read-only (``mode=ro``), or PostgreSQL sessions with ``default_transaction_read_only``."""
    if is_sqlite(engine):
        return create_engine_for(f"sqlite:///file:{engine.url.database}?mode=ro&uri=true")
    given = engine.url.query.get("options")
    read_only = "-c default_transaction_read_only=on"
    options = f"{given} {read_only}" if isinstance(given, str) else read_only
    return create_engine_for(engine.url.update_query_dict({"options": options}))


def test_readyz_answers_503_while_the_database_refuses_writes(engine: Engine, world: World) -> None:
    """Defect 12: /healthz said ok while every write answered 503. /readyz now says why."""
    with TestClient(make_app(engine), base_url=BASE_URL) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "database": "ok"}
    twin = read_only_twin(engine)
    try:
        with TestClient(make_app(twin), base_url=BASE_URL) as client:
            # Alive: the process answers and reads work (what /healthz has always said)...
            assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
            # ...but not ready: writes fail, and the answer says so.
            write = client.post(
                "/api/v1/surveys",
                json={"slug": "new", "name": "New", "metric": "csat"},
                headers=bearer(world.a.write_key),
            )
            assert write.status_code == 503
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json() == {
                "detail": "the database is read-only: it answers reads but refuses every write"
            }
    finally:
        twin.dispose()
    assert current_revision(engine) == head_revision()  # the probe changed nothing


def test_readyz_answers_503_when_the_database_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        with TestClient(make_app(engine), base_url=BASE_URL) as client:
            assert client.get("/readyz").status_code == 200
            engine.dispose()
            path.unlink()
            path.mkdir()  # a folder where the file was: nothing can open it
            for route in ("/readyz", "/healthz"):
                answer = client.get(route)
                assert answer.status_code == 503, route
            assert client.get("/readyz").json() == {"detail": "the database cannot be reached"}
    finally:
        engine.dispose()


def _routes_in_matching_order(router: object, prefix: str = "") -> list[tuple[str, set[str]]]:
    """(path, methods) of every route, in the order the app tries them; mounts left out."""
    found: list[tuple[str, set[str]]] = []
    for route in getattr(router, "routes", []):
        if hasattr(route, "methods") and hasattr(route, "path"):
            found.append((prefix + route.path, set(route.methods or ())))
        elif hasattr(route, "original_router"):  # an included router (FastAPI keeps it whole)
            context = getattr(route, "include_context", None)
            extra = getattr(context, "prefix", "") or ""
            found.extend(_routes_in_matching_order(route.original_router, prefix + extra))
    return found


def test_no_route_hides_a_later_one(client: TestClient) -> None:
    """Routers are included busiest first (``create_app``), so their order must not decide
    which route answers: no route may match the path of a route tried after it, for a method
    both take (a literal segment such as ``/new`` before a parameter is fine: the parameter
    route comes later and does not match the literal's sample)."""
    import re

    from starlette.routing import compile_path

    app = client.app
    assert isinstance(app, FastAPI)
    routes = _routes_in_matching_order(app.router)
    assert len(routes) > 200  # the walk reached into the included routers
    hidden = []
    for position, (path, methods) in enumerate(routes):
        pattern = compile_path(path)[0]
        for later_path, later_methods in routes[position + 1 :]:
            sample = re.sub(r"\{[^}]+\}", "7", later_path)
            if later_path != path and methods & later_methods and pattern.match(sample):
                hidden.append(f"{path} hides {later_path}")
    assert hidden == []
