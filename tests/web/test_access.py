"""Who may do what: organisation isolation, the role matrix (of the API and of the signed-in
pages), key scopes."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response as HttpResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, contacts, responses, surveys
from cxpulse.store.models import ROLES, Contact, Response, Survey, WebSession
from cxpulse.web.permissions import ROLE_PERMISSIONS, Permission
from cxpulse.web.routes import contact_import_pages, import_pages
from cxpulse.web.tokens import CSRF_HEADER

from .helpers import Org, World, bearer, session_headers

_serial = itertools.count()


@dataclass(frozen=True)
class Call:
    """One API call on ``org``'s objects; ``fresh`` ones make their own target first."""

    name: str
    minimum: str
    """The lowest role allowed: viewer < agent < analyst < admin < owner."""
    success: int
    send: Callable[[TestClient, Org, dict[str, str], sessionmaker[Session]], HttpResponse]
    key_scope: str | None
    """The lowest API key scope allowed (read < write), or None when no key may."""


def _fresh_survey(db: sessionmaker[Session], org: Org) -> int:
    with db() as session:
        survey = surveys.create_survey(
            session, org.id, slug=f"s-{next(_serial)}", name="Fresh", metric="nps"
        )
        session.commit()
        return survey.id


def _fresh_response(db: sessionmaker[Session], org: Org) -> int:
    with db() as session:
        response, _ = responses.add_response(session, org.id, org.survey_id, 3)
        session.commit()
        return response.id


def _fresh_contact(db: sessionmaker[Session], org: Org) -> int:
    with db() as session:
        contact = contacts.create_contact(session, org.id, name="Fresh")
        session.commit()
        return contact.id


def _fresh_key(db: sessionmaker[Session], org: Org) -> int:
    with db() as session:
        key, _ = accounts.create_api_key(session, org.id, name="fresh", scope="read")
        session.commit()
        return key.id


def _fresh_user(db: sessionmaker[Session], org: Org) -> int:
    with db() as session:
        user = accounts.create_user(
            session,
            org.id,
            email=f"u{next(_serial)}@{org.slug}.example",
            password="x" * 8,
            role="viewer",
        )
        session.commit()
        return user.id


S = "/api/v1/surveys"
ORG = "/api/v1/organisation"


def _import(client: TestClient, survey_id: int, headers: dict[str, str]) -> HttpResponse:
    """A one-row upload; a fresh response id each time, so a repeat still imports."""
    row = f"id,score\nrow-{next(_serial)},4\n".encode()
    return client.post(
        f"{S}/{survey_id}/imports",
        headers=headers,
        data={"map": "response_id=id,score=score"},
        files={"file": ("answers.csv", row, "text/csv")},
    )


CALLS: list[Call] = [
    Call("listSurveys", "viewer", 200, lambda c, o, h, db: c.get(S, headers=h), "read"),
    Call(
        "getSurvey",
        "viewer",
        200,
        lambda c, o, h, db: c.get(f"{S}/{o.survey_id}", headers=h),
        "read",
    ),
    Call(
        "getSurveyMetrics",
        "viewer",
        200,
        lambda c, o, h, db: c.get(f"{S}/{o.survey_id}/metrics", headers=h),
        "read",
    ),
    Call("getOrganisation", "viewer", 200, lambda c, o, h, db: c.get(ORG, headers=h), "read"),
    Call(
        "updateOrganisation",
        "admin",
        200,
        lambda c, o, h, db: c.patch(ORG, json={"throttle_days": 30}, headers=h),
        None,
    ),
    Call("getMe", "viewer", 200, lambda c, o, h, db: c.get("/api/v1/auth/me", headers=h), "read"),
    Call(
        "listResponses",
        "agent",
        200,
        lambda c, o, h, db: c.get(f"{S}/{o.survey_id}/responses", headers=h),
        "read",
    ),
    Call(
        "getResponse",
        "agent",
        200,
        lambda c, o, h, db: c.get(f"/api/v1/responses/{o.response_id}", headers=h),
        "read",
    ),
    Call(
        "createResponse",
        "agent",
        201,
        lambda c, o, h, db: c.post(f"{S}/{o.survey_id}/responses", json={"score": 4}, headers=h),
        "write",
    ),
    Call(
        "importResponses",
        "analyst",
        200,
        lambda c, o, h, db: _import(c, o.survey_id, h),
        "write",
    ),
    Call(
        "createResponsesBatch",
        "agent",
        201,
        lambda c, o, h, db: c.post(
            f"{S}/{o.survey_id}/responses/batch", json={"items": [{"score": 4}]}, headers=h
        ),
        "write",
    ),
    Call(
        "listContacts",
        "agent",
        200,
        lambda c, o, h, db: c.get("/api/v1/contacts", headers=h),
        "read",
    ),
    Call(
        "getContact",
        "agent",
        200,
        lambda c, o, h, db: c.get(f"/api/v1/contacts/{o.contact_id}", headers=h),
        "read",
    ),
    Call(
        "createSurvey",
        "analyst",
        201,
        lambda c, o, h, db: c.post(
            S, json={"slug": f"new-{next(_serial)}", "name": "New", "metric": "ces"}, headers=h
        ),
        "write",
    ),
    Call(
        "updateSurvey",
        "analyst",
        200,
        lambda c, o, h, db: c.patch(f"{S}/{o.survey_id}", json={"name": "Renamed"}, headers=h),
        "write",
    ),
    Call(
        "deleteResponse",
        "analyst",
        204,
        lambda c, o, h, db: c.delete(f"/api/v1/responses/{_fresh_response(db, o)}", headers=h),
        "write",
    ),
    Call(
        "createContact",
        "analyst",
        201,
        lambda c, o, h, db: c.post("/api/v1/contacts", json={"name": "N"}, headers=h),
        "write",
    ),
    Call(
        "updateContact",
        "analyst",
        200,
        lambda c, o, h, db: c.patch(
            f"/api/v1/contacts/{o.contact_id}", json={"name": "M"}, headers=h
        ),
        "write",
    ),
    Call(
        "deleteContact",
        "analyst",
        204,
        lambda c, o, h, db: c.delete(f"/api/v1/contacts/{_fresh_contact(db, o)}", headers=h),
        "write",
    ),
    Call(
        "exportResponses",
        "analyst",
        200,
        lambda c, o, h, db: c.get(f"{S}/{o.survey_id}/responses/export.csv", headers=h),
        "read",
    ),
    Call(
        "deleteSurvey",
        "admin",
        204,
        lambda c, o, h, db: c.delete(f"{S}/{_fresh_survey(db, o)}", headers=h),
        None,
    ),
    Call(
        "listApiKeys", "admin", 200, lambda c, o, h, db: c.get("/api/v1/api-keys", headers=h), None
    ),
    Call(
        "createApiKey",
        "admin",
        201,
        lambda c, o, h, db: c.post(
            "/api/v1/api-keys", json={"name": "k", "scope": "read"}, headers=h
        ),
        None,
    ),
    Call(
        "revokeApiKey",
        "admin",
        200,
        lambda c, o, h, db: c.post(f"/api/v1/api-keys/{_fresh_key(db, o)}/revoke", headers=h),
        None,
    ),
    Call("listUsers", "admin", 200, lambda c, o, h, db: c.get("/api/v1/users", headers=h), None),
    Call(
        "getUser",
        "admin",
        200,
        lambda c, o, h, db: c.get(f"/api/v1/users/{o.users['viewer']}", headers=h),
        None,
    ),
    Call(
        "createUser",
        "admin",
        201,
        lambda c, o, h, db: c.post(
            "/api/v1/users",
            json={
                "email": f"n{next(_serial)}@x.example",
                "password": "long enough",
                "role": "agent",
            },
            headers=h,
        ),
        None,
    ),
    Call(
        "updateUser",
        "admin",
        200,
        lambda c, o, h, db: c.patch(
            f"/api/v1/users/{_fresh_user(db, o)}", json={"role": "analyst"}, headers=h
        ),
        None,
    ),
    Call(
        "listAuditEntries",
        "admin",
        200,
        lambda c, o, h, db: c.get("/api/v1/audit", headers=h),
        None,
    ),
    Call(
        "createOwner",
        "owner",
        201,
        lambda c, o, h, db: c.post(
            "/api/v1/users",
            json={
                "email": f"o{next(_serial)}@x.example",
                "password": "long enough",
                "role": "owner",
            },
            headers=h,
        ),
        None,
    ),
    Call(
        "demoteOwner",
        "owner",
        200,
        lambda c, o, h, db: c.patch(
            f"/api/v1/users/{_second_owner(db, o)}", json={"role": "admin"}, headers=h
        ),
        None,
    ),
    # Sessions: every user has their own; API keys have none.
    Call(
        "listMySessions",
        "viewer",
        200,
        lambda c, o, h, db: c.get("/api/v1/sessions", headers=h),
        None,
    ),
    Call(
        "listUserSessions",
        "admin",
        200,
        lambda c, o, h, db: c.get(f"/api/v1/users/{o.users['viewer']}/sessions", headers=h),
        None,
    ),
    Call(
        "revokeUserSessions",
        "admin",
        200,
        lambda c, o, h, db: c.post(
            f"/api/v1/users/{_fresh_user(db, o)}/sessions/revoke-all", headers=h
        ),
        None,
    ),
    Call(
        "revokeOwnerSessions",
        "owner",
        200,
        lambda c, o, h, db: c.post(
            f"/api/v1/users/{_second_owner(db, o)}/sessions/revoke-all", headers=h
        ),
        None,
    ),
]


def _second_owner(db: sessionmaker[Session], org: Org) -> int:
    with db() as session:
        user = accounts.create_user(
            session,
            org.id,
            email=f"o{next(_serial)}@{org.slug}.example",
            password="x" * 8,
            role="owner",
        )
        session.commit()
        return user.id


RANK = {role: n for n, role in enumerate(reversed(ROLES))}  # viewer 0 ... owner 4


def test_the_role_ladder_matches_the_permission_matrix() -> None:
    ordered = sorted(ROLES, key=RANK.__getitem__)
    for lower, higher in itertools.pairwise(ordered):
        assert ROLE_PERMISSIONS[lower] < ROLE_PERMISSIONS[higher]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_can_do_exactly_what_it_should(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session], role: str
) -> None:
    org = world.a
    headers = session_headers(app, org.users[role])
    for call in CALLS:
        answer = call.send(client, org, headers, db)
        expected = call.success if RANK[role] >= RANK[call.minimum] else 403
        assert answer.status_code == expected, (role, call.name, answer.text)


@pytest.mark.parametrize("scope", ["read", "write"])
def test_each_key_scope_can_do_exactly_what_it_should(
    client: TestClient, world: World, db: sessionmaker[Session], scope: str
) -> None:
    org = world.a
    headers = bearer(org.read_key if scope == "read" else org.write_key)
    for call in CALLS:
        answer = call.send(client, org, headers, db)
        allowed = call.key_scope is not None and (call.key_scope == "read" or scope == "write")
        expected = call.success if allowed else 403
        assert answer.status_code == expected, (scope, call.name, answer.text)


def _snapshot(db: sessionmaker[Session], org: Org) -> dict[str, Any]:
    with db() as session:
        survey = session.get(Survey, org.survey_id)
        contact = session.get(Contact, org.contact_id)
        assert survey is not None
        assert contact is not None
        return {
            "survey": (survey.name, survey.slug, survey.status),
            "contact": (contact.name, contact.email, dict(contact.attributes)),
            "responses": session.scalar(
                select(func.count()).where(Response.organisation_id == org.id)
            ),
            "keys": [(k.id, k.revoked_at) for k in accounts.list_api_keys(session, org.id)],
            "users": [(u.id, u.role, u.is_active) for u in accounts.list_users(session, org.id)],
            "sessions": [
                (row.id, row.revoked_at)
                for row in session.scalars(
                    select(WebSession).where(WebSession.organisation_id == org.id)
                )
            ],
        }


def _reaching_into(
    target: Org,
) -> list[tuple[str, Callable[[TestClient, dict[str, str], int], HttpResponse]]]:
    """Calls on ``target``'s objects, each also tried with an id that exists nowhere."""
    return [
        ("getSurvey", lambda c, h, i: c.get(f"{S}/{i or target.survey_id}", headers=h)),
        (
            "updateSurvey",
            lambda c, h, i: c.patch(f"{S}/{i or target.survey_id}", json={"name": "x"}, headers=h),
        ),
        ("deleteSurvey", lambda c, h, i: c.delete(f"{S}/{i or target.survey_id}", headers=h)),
        ("metrics", lambda c, h, i: c.get(f"{S}/{i or target.survey_id}/metrics", headers=h)),
        (
            "listResponses",
            lambda c, h, i: c.get(f"{S}/{i or target.survey_id}/responses", headers=h),
        ),
        (
            "createResponse",
            lambda c, h, i: c.post(
                f"{S}/{i or target.survey_id}/responses", json={"score": 5}, headers=h
            ),
        ),
        (
            "createResponsesBatch",
            lambda c, h, i: c.post(
                f"{S}/{i or target.survey_id}/responses/batch",
                json={"items": [{"score": 5}]},
                headers=h,
            ),
        ),
        ("importResponses", lambda c, h, i: _import(c, i or target.survey_id, h)),
        (
            "export",
            lambda c, h, i: c.get(f"{S}/{i or target.survey_id}/responses/export.csv", headers=h),
        ),
        (
            "getResponse",
            lambda c, h, i: c.get(f"/api/v1/responses/{i or target.response_id}", headers=h),
        ),
        (
            "deleteResponse",
            lambda c, h, i: c.delete(f"/api/v1/responses/{i or target.response_id}", headers=h),
        ),
        (
            "getContact",
            lambda c, h, i: c.get(f"/api/v1/contacts/{i or target.contact_id}", headers=h),
        ),
        (
            "updateContact",
            lambda c, h, i: c.patch(
                f"/api/v1/contacts/{i or target.contact_id}", json={"name": "x"}, headers=h
            ),
        ),
        (
            "deleteContact",
            lambda c, h, i: c.delete(f"/api/v1/contacts/{i or target.contact_id}", headers=h),
        ),
        (
            "revokeApiKey",
            lambda c, h, i: c.post(f"/api/v1/api-keys/{i or target.key_id}/revoke", headers=h),
        ),
        (
            "getUser",
            lambda c, h, i: c.get(f"/api/v1/users/{i or target.users['viewer']}", headers=h),
        ),
        (
            "updateUser",
            lambda c, h, i: c.patch(
                f"/api/v1/users/{i or target.users['viewer']}", json={"role": "admin"}, headers=h
            ),
        ),
        (
            "listUserSessions",
            lambda c, h, i: c.get(
                f"/api/v1/users/{i or target.users['viewer']}/sessions", headers=h
            ),
        ),
        (
            "revokeUserSessions",
            lambda c, h, i: c.post(
                f"/api/v1/users/{i or target.users['viewer']}/sessions/revoke-all", headers=h
            ),
        ),
        (
            "revokeUserSession",
            lambda c, h, i: c.post(
                f"/api/v1/users/{i or target.users['viewer']}/sessions/1/revoke", headers=h
            ),
        ),
    ]


def test_organisation_a_can_neither_read_nor_change_organisation_b(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a, b = world.a, world.b
    b_session = session_headers(app, b.users["viewer"])
    before = _snapshot(db, b)
    assert before["sessions"]
    callers = {
        **{f"user:{role}": session_headers(app, a.users[role]) for role in ROLES},
        "key:write": bearer(a.write_key),
        "key:read": bearer(a.read_key),
    }
    nowhere = 987_654_321
    for caller, headers in callers.items():
        for name, send in _reaching_into(b):
            answer = send(client, headers, 0)
            missing = send(client, headers, nowhere)
            # Forbidden for the caller's role (403), or not found (404) exactly as an id that
            # exists nowhere: nothing tells that B's object exists.
            assert answer.status_code in (403, 404), (caller, name, answer.text)
            assert (answer.status_code, answer.json()) == (missing.status_code, missing.json()), (
                caller,
                name,
            )
    # The owner and the write key hold every permission they could use, so for them every
    # call got past the role check and was answered 404.
    for headers in (callers["user:owner"], callers["key:write"]):
        for name, send in _reaching_into(b):
            if headers is callers["key:write"] and name in (
                "deleteSurvey",
                "revokeApiKey",
                "getUser",
                "updateUser",
                "listUserSessions",
                "revokeUserSessions",
                "revokeUserSession",
            ):
                continue
            assert send(client, headers, 0).status_code == 404, name
    assert _snapshot(db, b) == before
    assert client.get("/api/v1/auth/me", headers=b_session).status_code == 200


def test_listings_show_only_the_callers_organisation(
    app: FastAPI, client: TestClient, world: World
) -> None:
    a, b = world.a, world.b
    owner = session_headers(app, a.users["owner"])
    surveys_seen = client.get(S, headers=owner).json()["items"]
    assert [s["id"] for s in surveys_seen] == [a.survey_id]
    contacts_seen = client.get("/api/v1/contacts", headers=owner).json()["items"]
    assert [c["id"] for c in contacts_seen] == [a.contact_id]
    users_seen = {u["id"] for u in client.get("/api/v1/users", headers=owner).json()["items"]}
    assert users_seen == set(a.users.values())
    keys_seen = client.get("/api/v1/api-keys", headers=owner).json()["items"]
    assert b.key_id not in {k["id"] for k in keys_seen}
    # Filtering responses by B's contact finds nothing in A's survey.
    listed = client.get(
        f"{S}/{a.survey_id}/responses", params={"contact_id": b.contact_id}, headers=owner
    )
    assert listed.json()["items"] == []
    # A response for A's survey cannot be tied to B's contact.
    tied = client.post(
        f"{S}/{a.survey_id}/responses", json={"score": 3, "contact_id": b.contact_id}, headers=owner
    )
    assert tied.status_code == 422
    assert tied.json()["detail"][0]["loc"] == ["body", "contact_id"]


# --------------------------------------------------------------------------- the pages

P = Permission
IMPORTS = frozenset({P.RESPONSES_SUBMIT, P.CONTACTS_WRITE})
"""What the import pages need (``import_upload.IMPORT_PERMISSIONS``)."""


@dataclass(frozen=True)
class PageRead:
    """A signed-in page: 200 for a role holding ``needs``, 403 for any other."""

    path: str
    """With ``{survey}``, ``{contact}``, ``{question}``, ``{invitation}``, ``{run}``,
    ``{key}``: organisation A's objects (``page_objects``)."""
    needs: frozenset[Permission] = frozenset()


@dataclass(frozen=True)
class PageForm:
    """One form of a family of pages: refused (403) for a role without ``needs``, answered
    ``success`` for a role with them (so the refusal is the permission's, not the form's)."""

    family: str
    path: str
    needs: frozenset[Permission]
    success: int
    fields: dict[str, str] = field(default_factory=dict)
    upload: bytes | None = None
    """A CSV sent as the form's ``file``."""


PAGE_READS = [
    PageRead("/app/surveys", frozenset({P.SURVEYS_READ})),
    PageRead("/app/surveys/new", frozenset({P.SURVEYS_WRITE})),
    PageRead("/app/surveys/{survey}/edit", frozenset({P.SURVEYS_READ})),
    PageRead("/app/surveys/{survey}/questions", frozenset({P.SURVEYS_READ})),
    PageRead("/app/surveys/{survey}/questions/{question}", frozenset({P.SURVEYS_READ})),
    PageRead("/app/surveys/{survey}/share", frozenset({P.SURVEYS_READ})),
    PageRead("/app/surveys/{survey}/qr.svg", frozenset({P.SURVEYS_READ})),
    PageRead("/app/contacts", frozenset({P.CONTACTS_READ})),
    PageRead("/app/contacts/new", frozenset({P.CONTACTS_WRITE})),
    PageRead("/app/contacts/{contact}", frozenset({P.CONTACTS_READ})),
    PageRead("/app/contacts/{contact}/edit", frozenset({P.CONTACTS_WRITE})),
    PageRead("/app/contacts/import", frozenset({P.CONTACTS_WRITE})),
    PageRead("/app/invitations", frozenset({P.CONTACTS_READ})),
    PageRead("/app/invitations/new", frozenset({P.CONTACTS_WRITE})),
    PageRead("/app/invitations/preview?survey={survey}", frozenset({P.CONTACTS_READ})),
    PageRead("/app/invitations/cancel?invitation={invitation}", frozenset({P.CONTACTS_WRITE})),
    PageRead("/app/imports", IMPORTS),
    PageRead("/app/imports/new", IMPORTS),
    PageRead("/app/imports/{run}", IMPORTS),
    PageRead("/app/imports/{run}/undo", IMPORTS | {P.RESPONSES_DELETE}),
    PageRead("/app/settings"),  # everyone reads the settings; changing them is below
    PageRead("/app/account"),
    PageRead("/app/team", frozenset({P.USERS_MANAGE})),
    PageRead("/app/keys", frozenset({P.KEYS_MANAGE})),
    PageRead("/app/keys/{key}/revoke", frozenset({P.KEYS_MANAGE})),
    PageRead("/app/audit", frozenset({P.AUDIT_READ})),
]

ANSWERS_CSV = b"Rating,Comment\n5,Quick\n2,Slow\n"
PAGE_FORMS = [
    PageForm(
        "survey builder", "/app/surveys/{survey}/duplicate", frozenset({P.SURVEYS_WRITE}), 303
    ),
    PageForm(
        "follow-up questions",
        "/app/surveys/{survey}/questions",
        frozenset({P.SURVEYS_WRITE}),
        303,
        {"kind": "rating", "key": "speed", "label_en": "How quick were we?"},
    ),
    PageForm(
        "contacts",
        "/app/contacts/new",
        frozenset({P.CONTACTS_WRITE}),
        303,
        {"email": "new.contact@example.com", "name": "New Contact"},
    ),
    PageForm(
        "contact import",
        "/app/contacts/import",
        frozenset({P.CONTACTS_WRITE}),
        303,
        upload=b"email,name\nann@example.com,Ann\n",
    ),
    PageForm(
        "invitations",
        "/app/invitations/cancel",
        frozenset({P.CONTACTS_WRITE}),
        303,
        {"survey": "{survey}"},
    ),
    PageForm(
        "imports",
        "/app/imports/new",
        IMPORTS,
        303,
        {"survey_id": "{survey}"},
        upload=ANSWERS_CSV,
    ),
    PageForm("import undo", "/app/imports/{run}/undo", IMPORTS | {P.RESPONSES_DELETE}, 303),
    PageForm(
        "settings",
        "/app/settings",
        frozenset({P.USERS_MANAGE}),
        303,
        {"name": "Org A", "default_language": "en", "throttle_days": "30"},
    ),
    PageForm(
        "team",
        "/app/team/{viewer}/role",
        frozenset({P.USERS_MANAGE}),
        303,
        {"role": "viewer"},
    ),
    PageForm("keys", "/app/keys", frozenset({P.KEYS_MANAGE}), 201, {"name": "CI", "scope": "read"}),
]
"""One form per family of pages (the account page's form needs no more than signing in)."""


@pytest.fixture
def page_objects(
    app: FastAPI,
    client: TestClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> dict[str, int]:
    """Organisation A's objects for the pages: a follow-up question and a scheduled
    invitation made through the API, an import made through the pages by the owner."""
    monkeypatch.setattr(import_pages.UPLOADS, "root", tmp_path / "imports")
    monkeypatch.setattr(contact_import_pages.UPLOADS, "folder", tmp_path / "contacts")
    a = world.a
    key = bearer(a.write_key)
    question = client.post(
        f"{S}/{a.survey_id}/questions",
        json={"kind": "rating", "key": "delivery", "labels": {"en": "How was the delivery?"}},
        headers=key,
    )
    assert question.status_code == 201, question.text
    invited = client.post(
        f"{S}/{a.survey_id}/invitations",
        json={"contact_id": a.contact_id, "delay": "2d"},
        headers=key,
    )
    assert invited.status_code == 201, invited.text
    owner = session_headers(app, a.users["owner"])
    csrf = {"csrf_token": owner[CSRF_HEADER]}
    uploaded = client.post(
        "/app/imports/new",
        headers=owner,
        data={**csrf, "survey_id": str(a.survey_id)},
        files={"file": ("answers.csv", ANSWERS_CSV, "text/csv")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text
    mapping = {"preset": "", "map_score": "Rating", "map_comment": "Comment"}
    done = client.post(uploaded.headers["location"], headers=owner, data={**csrf, **mapping})
    assert done.status_code == 200, done.text
    run = re.search(r'href="/app/imports/(\d+)"', done.text)
    assert run is not None, done.text
    return {
        "survey": a.survey_id,
        "contact": a.contact_id,
        "question": question.json()["id"],
        "invitation": invited.json()["items"][0]["id"],
        "run": int(run.group(1)),
        "key": a.key_id,
        "viewer": a.users["viewer"],
    }


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_exactly_the_pages_it_should(
    app: FastAPI, client: TestClient, world: World, page_objects: dict[str, int], role: str
) -> None:
    held = ROLE_PERMISSIONS[role]
    headers = session_headers(app, world.a.users[role])
    wrong: list[str] = []
    for page in PAGE_READS:
        url = page.path.format(**page_objects)
        answer = client.get(url, headers=headers, follow_redirects=False)
        expected = 200 if page.needs <= held else 403
        if answer.status_code != expected:
            wrong.append(f"GET {url}: {answer.status_code}, not {expected}")
    for form in PAGE_FORMS:
        url = form.path.format(**page_objects)
        fields = {name: value.format(**page_objects) for name, value in form.fields.items()}
        files = {"file": ("file.csv", form.upload, "text/csv")} if form.upload else None
        answer = client.post(
            url,
            headers=headers,
            data={**fields, "csrf_token": headers[CSRF_HEADER]},
            files=files,
            follow_redirects=False,
        )
        expected = form.success if form.needs <= held else 403
        if answer.status_code != expected:
            text = " ".join(answer.text.split())[:150]
            wrong.append(f"{form.family}: POST {url}: {answer.status_code}, not {expected} {text}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
