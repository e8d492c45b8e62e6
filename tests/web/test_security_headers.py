"""Every route of the app answers with the security headers of its family.

The routes come from the app itself (``iter_route_contexts(app.routes)``), so a route added
later is walked too; a route whose path has a parameter this module cannot fill fails until a
real object is given for it in ``_objects``. Each route is called by the caller it is meant
for: anonymous (survey pages, widget, login, health), an owner's browser session with its CSRF
header (the signed-in pages, and API routes a key may not use), or a write API key (the API),
with path parameters of real objects of one organisation. Reads come first and must succeed;
writes are sent with empty bodies (mostly refused: the headers of a refusal count as much),
deletes last.

The expected family is worked out here from the route and its answer, not by
``security_headers.family_of``, so a route put in the wrong family fails.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Mount
from tests.store.logo_samples import png

from cxpulse.act import events, rules
from cxpulse.act.account_links import AccountLinks
from cxpulse.collect.links import Purpose
from cxpulse.store import (
    alerts,
    cases,
    inbound,
    organisation_settings,
    referral_codes,
    teams,
    user_invitations,
    webhooks,
)
from cxpulse.store.models import FollowUpCase, Survey, User
from cxpulse.web import security_headers
from cxpulse.web.routes import contact_import_pages, import_pages
from cxpulse.web.security_headers import HSTS, REPORT_CSP, family_of, with_headers
from cxpulse.web.state import AppState
from cxpulse.web.tokens import CSRF_COOKIE

from .helpers import BASE_URL, World, bearer, make_app, session_headers

WIDGET_ORIGIN = "https://shop.example"
READS = ("GET", "HEAD", "OPTIONS")
# Routes whose own policy allows inline style: the monthly report, one self-contained
# document (its style is inline so that the saved file and the PDF look the same).
# The preview of an invitation email is the email's own HTML, shown as a document with the
# report's policy (an email's style is inline, as mail programs need it).
INLINE_STYLE_ALLOWED = {"/app/surveys/{survey_id}/report", "/app/invitations/preview"}
TOKEN_PURPOSES: dict[str, Purpose] = {"/r/": "answer", "/u/": "unsubscribe", "/o/": "open"}
SAME_NAMES: dict[str, dict[str, str]] = {
    "/api/v1/inbound-endpoints/": {"endpoint_id": "inbound_endpoint_id"},
    "/api/v1/webhook-endpoints/": {"endpoint_id": "webhook_endpoint_id"},
    "/app/webhooks/": {"endpoint_id": "webhook_endpoint_id"},
    "/api/v1/inbound/": {"token": "inbound_token"},
    "/api/v1/sms/": {"token": "sms_token"},
    "/app/imports/new/": {"token": "import_token"},
    "/app/contacts/import/": {"token": "contact_import_token"},
    "/invite/": {"token": "invitation_token"},
    "/password/reset/": {"token": "reset_token"},
}
"""Path parameters whose name means another object under another path (by path prefix):
the key in ``_objects`` of the object meant."""
READ_QUERIES: dict[str, str] = {
    "/app/invitations/preview": "survey={survey_id}",
    "/app/invitations/cancel": "invitation={invitation_id}",
    "/app/invitations/sent": "{sent_query}",
}
"""Pages that show something only for what their query names: the query of their reads,
filled from ``_objects``."""
GONE_ONCE_SET_UP = {"/setup"}
"""Reads that are a 404 once the database has a user, as the walk's has (the set-up page;
``test_the_set_up_page_before_anyone_has_an_account`` reads it on an empty database)."""


@pytest.fixture
def quiet_app(engine: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FastAPI:
    # Invitations are made below; no worker should try to email them meanwhile.
    monkeypatch.setenv("CXPULSE_INLINE_WORKER", "false")
    # Uploads made below wait in this test's own folder.
    monkeypatch.setattr(import_pages.UPLOADS, "root", tmp_path / "imports")
    monkeypatch.setattr(contact_import_pages.UPLOADS, "folder", tmp_path / "contacts")
    return make_app(engine)


@pytest.fixture
def walker(quiet_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(quiet_app, base_url=BASE_URL) as opened:
        yield opened


@dataclass(frozen=True)
class Call:
    template: str
    method: str


def _calls(app: FastAPI) -> list[Call]:
    """Every (path, method) the app answers, reads first and deletes last."""
    found: list[Call] = []
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if isinstance(original, Mount):
            found.append(Call(route.path or "", "GET"))
            continue
        for method in sorted(route.methods or ()):
            found.append(Call(route.path or "", method))
    order = {method: n for n, method in enumerate(("GET", "HEAD", "OPTIONS", "POST", "PUT"))}
    # Deletes last, the most specific first: a survey goes after its goals.
    return sorted(
        found, key=lambda call: (order.get(call.method, 9), -len(call.template), call.template)
    )


def _a_static_file(mount: Mount) -> str:
    app = mount.app
    assert isinstance(app, StaticFiles), mount.path
    for directory in app.all_directories:
        for path in sorted(Path(directory).rglob("*")):
            if path.is_file():
                return f"{mount.path}/{path.relative_to(directory).as_posix()}"
    raise AssertionError(f"{mount.path} serves no file")


def _objects(
    client: TestClient, app: FastAPI, world: World, db: sessionmaker[Session]
) -> dict[str, Any]:
    """Real objects of organisation A for every path parameter of the app."""
    a = world.a
    key = bearer(a.write_key)
    with db() as session:
        survey = session.get(Survey, a.survey_id)
        assert survey is not None
        survey.collect_options = {"allowed_origins": [WIDGET_ORIGIN]}
        session.commit()
    invitation = client.post(
        f"/api/v1/surveys/{a.survey_id}/invitations", json={"email": "x@example.com"}, headers=key
    )
    assert invitation.status_code == 201, invitation.text
    goal = client.post(
        f"/api/v1/surveys/{a.survey_id}/goals",
        json={"name": "CSAT to 85", "target": 85, "months": 3, "baseline": 70},
        headers=key,
    )
    assert goal.status_code == 201, goal.text
    schedule = client.put(
        f"/api/v1/surveys/{a.survey_id}/report-schedule",
        json={"emails": ["boss@example.com"]},
        headers=key,
    )
    assert schedule.status_code == 200, schedule.text
    spare_key = client.post(
        "/api/v1/api-keys",
        json={"name": "to revoke", "scope": "read"},
        headers=session_headers(app, a.users["owner"]),
    )
    assert spare_key.status_code == 201, spare_key.text
    theme = client.post(
        "/api/v1/themes",
        json={"name": "Gift wrapping", "phrases": {"en": ["gift wrap"]}},
        headers=key,
    )
    assert theme.status_code == 201, theme.text
    sms_settings = client.get(
        "/api/v1/sms/settings", headers=session_headers(app, a.users["owner"])
    )
    assert sms_settings.status_code == 200, sms_settings.text
    question = client.post(
        f"/api/v1/surveys/{a.survey_id}/questions",
        json={"kind": "rating", "key": "delivery", "labels": {"en": "How was the delivery?"}},
        headers=key,
    )
    assert question.status_code == 201, question.text
    # One browser session for every signed-in read: an upload waits for the session (contacts)
    # or the user (answers) that made it.
    browser = session_headers(app, a.users["owner"])
    uploads = _upload_objects(client, browser, a.survey_id)
    sent_query = _sent_from_the_page(client, browser, a.survey_id)
    with db() as session:
        loop = _loop_objects(session, world)
        people = _people_objects(session, app, world)
        session.commit()
    return (
        loop
        | people
        | uploads
        | {
            "browser": browser,
            "sent_query": sent_query,
            "question_id": question.json()["id"],
            "sms_token": sms_settings.json()["incoming_url"].split("/")[-2],
            "survey_id": a.survey_id,
            "response_id": a.response_id,
            "contact_id": a.contact_id,
            "user_id": a.users["viewer"],
            "key_id": spare_key.json()["id"],
            "invitation_id": invitation.json()["items"][0]["id"],
            "goal_id": goal.json()["id"],
            "theme_id": theme.json()["id"],
            # Only writes take a session id (to end it); an unknown one is a 404, which is enough.
            "session_id": 999_999,
            "organisation_slug": a.slug,
            "org_slug": a.slug,
            "survey_slug": "support-csat",
            "format": "csv",
            "fmt": "csv",
            "name": "trend",  # a dashboard chart's image
        }
    )


def _sent_from_the_page(client: TestClient, browser: dict[str, str], survey_id: int) -> str:
    """One invitation sent from the invitations page: the query of its result page."""
    form = client.get(f"/app/invitations/new?survey={survey_id}", headers=browser)
    assert form.status_code == 200, form.text
    form_key = re.search(r'name="form_key" value="([^"]+)"', form.text)
    assert form_key is not None, form.text
    sent = client.post(
        "/app/invitations/new",
        headers=browser,
        data={
            "csrf_token": browser["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1],
            "form_key": form_key.group(1),
            "survey": str(survey_id),
            "audience": "csv",
            "when": "now",
            "step": "send",
        },
        files={"file": ("people.csv", b"email\nana@example.com\n", "text/csv")},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    location = str(sent.headers["location"])
    assert location.startswith("/app/invitations/sent?"), location
    return location.split("?", 1)[1]


def _upload_objects(client: TestClient, browser: dict[str, str], survey_id: int) -> dict[str, Any]:
    """A waiting upload of answers, a waiting upload of contacts (both by ``browser``), and
    a finished import of answers."""
    csrf = {"csrf_token": browser["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]}
    answers = "Rating,Comment\n5,Quick and kind\n2,Slow\n"

    def upload(path: str, fields: dict[str, str], text: str) -> str:
        sent = client.post(
            path,
            headers=browser,
            data={**csrf, **fields},
            files={"file": ("file.csv", text.encode(), "text/csv")},
            follow_redirects=False,
        )
        assert sent.status_code == 303, sent.text
        return str(sent.headers["location"])

    survey = {"survey_id": str(survey_id)}
    imported = upload("/app/imports/new", survey, answers)
    mapping = {"preset": "", "map_score": "Rating", "map_comment": "Comment"}
    done = client.post(imported, headers=browser, data={**csrf, **mapping})
    assert done.status_code == 200, done.text
    run = re.search(r'href="/app/imports/(\d+)"', done.text)
    assert run is not None, done.text
    waiting = upload("/app/imports/new", survey, answers)
    contacts = upload("/app/contacts/import", {}, "email,name\nann@example.com,Ann\n")
    return {
        "run_id": int(run.group(1)),
        "import_token": waiting.rsplit("/", 1)[1],
        "contact_import_token": contacts.rsplit("/", 1)[1],
    }


def _people_objects(session: Session, app: FastAPI, world: World) -> dict[str, Any]:
    """A's logo; a colleague invited and not yet joined, with the link of the invitation;
    the link of a password reset of the viewer."""
    a = world.a
    change = organisation_settings.SettingsChange(logo=png(120, 40))
    organisation_settings.apply_change(session, a.id, change)
    invited = user_invitations.invite(session, a.id, email="new@org-a.example", role="viewer")
    viewer = session.get(User, a.users["viewer"])
    assert viewer is not None
    state: AppState = app.state.cxpulse
    links = AccountLinks.from_settings(state.settings)
    return {
        "invitation_token": links.issue(
            "invitation", invited.id, user_invitations.link_mark(invited)
        ),
        "reset_token": links.issue("reset", viewer.id, user_invitations.link_mark(viewer)),
    }


def _loop_objects(session: Session, world: World) -> dict[str, Any]:
    """A's closed-loop objects, written through the store: a team with its agent, a case of
    A's first answer in that team with one note, an inbound endpoint, a webhook endpoint with
    one delivery, a rule naming them, an open alert and a referral code of the answer."""
    a = world.a
    team = teams.create_team(session, a.id, "Billing")
    teams.add_member(session, a.id, team.id, a.users["agent"])
    case = cases.insert_case(
        session,
        FollowUpCase(
            organisation_id=a.id,
            survey_id=a.survey_id,
            response_id=a.response_id,
            contact_id=a.contact_id,
            team_id=team.id,
            assignee_user_id=a.users["agent"],
            title="Unhappy customer",
            reply_token=secrets.token_hex(16),
        ),
    )
    assert case is not None
    cases.add_event(session, case, "note", author_user_id=a.users["agent"], body="Called back")
    endpoint = inbound.add_endpoint(
        session,
        a.id,
        survey_id=a.survey_id,
        name="Helpdesk",
        token=secrets.token_hex(16),
        secret=secrets.token_hex(16),
    )
    hook = webhooks.create_endpoint(
        session, a.id, url="http://127.0.0.1:9/hooks", events=["response.created"]
    )
    assert events.publish(session, a.id, "response.created", {"id": a.response_id}) == 1
    delivery = webhooks.list_deliveries(session, a.id, hook.id)[0]
    rule = rules.create_rule(
        session,
        a.id,
        name="Detractors to Billing",
        survey_id=a.survey_id,
        conditions={"band": "detractor"},
        actions={"case": {"team_id": team.id}, "notify": {"endpoint_ids": [hook.id]}},
    )
    recorded = alerts.record_detection(
        session,
        a.id,
        survey_id=a.survey_id,
        kind="score-drop",
        key=f"score-drop:{a.survey_id}",
        title="CSAT fell",
        details={"explanation": "CSAT fell by 9 points"},
        quiet_days=3,
    )
    assert recorded is not None
    code = referral_codes.issue(
        session, a.id, response_id=a.response_id, survey_id=a.survey_id, contact_id=a.contact_id
    )
    return {
        "case_id": case.id,
        "team_id": team.id,
        "inbound_endpoint_id": endpoint.id,
        "inbound_token": endpoint.token,
        "webhook_endpoint_id": hook.id,
        "delivery_id": delivery.id,
        "rule_id": rule.id,
        "alert_id": recorded.alert.id,
        "code": code,
    }


def _path(call: Call, objects: dict[str, Any], state: AppState) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        for prefix, names in SAME_NAMES.items():
            if call.template.startswith(prefix) and name in names:
                return str(objects[names[name]])
        if name == "token":
            purpose = next(
                p for prefix, p in TOKEN_PURPOSES.items() if call.template.startswith(prefix)
            )
            return state.links.issue(purpose, objects["invitation_id"], objects["survey_id"])
        if name not in objects:
            pytest.fail(f"{call.template}: give a real value for {{{name}}} in _objects")
        return str(objects[name])

    path = re.sub(r"\{([^}]+)\}", value, call.template)
    query = READ_QUERIES.get(call.template)
    if query is not None and call.method in READS:
        path += "?" + query.format(**objects)
    return path


def _send(
    client: TestClient,
    app: FastAPI,
    world: World,
    call: Call,
    path: str,
    browser: dict[str, str],
) -> httpx.Response:
    owner = world.a.users["owner"]
    headers: dict[str, str] = {}
    if call.template.startswith(("/w/", "/widget.js")):
        headers["Origin"] = WIDGET_ORIGIN
        if call.method == "OPTIONS":
            headers["Access-Control-Request-Method"] = "POST"
    elif call.template.startswith("/api/") and call.template != "/api/v1/auth/login":
        headers = bearer(world.a.write_key)
    elif call.template.startswith(("/app", "/logout")):
        headers = browser if call.method in READS else session_headers(app, owner)
    body: dict[str, Any] = {}
    if call.method in ("POST", "PUT", "PATCH"):
        body = {"json": {}} if call.template.startswith("/api/") else {"data": {}}
    answer = client.request(call.method, path, headers=headers, follow_redirects=False, **body)
    if call.template.startswith("/api/") and answer.status_code in (401, 403):
        # Routes for people only (users, keys, sessions, audit): an owner's session.
        answer = client.request(
            call.method,
            path,
            headers=session_headers(app, owner),
            follow_redirects=False,
            **body,
        )
    return answer


def _directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def _expected_family(template: str, answer: httpx.Response) -> str:
    if template.startswith("/static"):
        return "static"
    if template == "/widget.js" or template.startswith("/w/"):
        return "widget"
    if "attachment" in answer.headers.get("content-disposition", ""):
        return "download"
    if template == "/docs":
        return "docs"
    if template.startswith(("/s/", "/r/", "/t/", "/u/", "/o/")):
        return "public"
    if template.startswith("/brand/"):
        return "brand"
    if template.startswith("/api/") or template in ("/openapi.json", "/healthz", "/readyz"):
        return "api"
    return "page"


def _check(call: Call, answer: httpx.Response, *, https: bool = True) -> str:
    """The family of the answer, after checking its headers; a failing assert names the call."""
    where = f"{call.method} {call.template} ({answer.status_code})"
    headers = answer.headers
    family = _expected_family(call.template, answer)
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("referrer-policy") in ("same-origin", "no-referrer"), where
    assert (headers.get("strict-transport-security") == HSTS) is https, where
    policy = _directives(headers.get("content-security-policy", ""))
    assert policy.get("frame-ancestors") == ["'none'"], where
    assert policy.get("base-uri") == ["'none'"], where
    scripts = policy.get("script-src", policy.get("default-src"))
    assert scripts is not None, where
    # No inline script, no eval, nothing from another host: only our own files, or nothing.
    assert set(scripts) <= {"'self'", "'none'"}, where
    styles = policy.get("style-src", policy.get("default-src", []))
    if call.template in INLINE_STYLE_ALLOWED:
        assert headers["content-security-policy"] == REPORT_CSP, where
    else:
        assert set(styles) <= {"'self'", "'none'"}, where
    cache = headers.get("cache-control", "")
    if family in ("page", "download", "api", "public"):
        assert "no-store" in cache, where
    if family in ("download", "api"):
        assert policy.get("default-src") == ["'none'"], where
    if family == "download":
        assert "sandbox" in policy, where
    if family == "static":
        assert cache.startswith("public"), where
    if family == "brand":
        # A logo and a colour: public, cached, and shown by webmail from its own origin.
        assert cache.startswith("public, max-age="), where
        assert headers.get("cross-origin-resource-policy") == "cross-origin", where
        assert policy.get("default-src") == ["'none'"], where
    if family == "widget":
        assert cache, where
        assert headers.get("cross-origin-resource-policy") != "same-origin", where
        if call.template.startswith("/w/") and answer.status_code < 400:
            assert headers.get("access-control-allow-origin") == WIDGET_ORIGIN, where
    if answer.headers.get("content-type", "").startswith("text/html"):
        assert policy.get("default-src") == ["'self'"] or policy.get("default-src") == ["'none'"], (
            where
        )
        assert policy.get("object-src", policy.get("default-src")) in (["'none'"], ["'self'"])
    return family


def test_every_route_carries_the_headers_of_its_family(
    walker: TestClient, quiet_app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    state: AppState = quiet_app.state.cxpulse
    objects = _objects(walker, quiet_app, world, db)
    calls = _calls(quiet_app)
    seen: dict[str, set[str]] = {}
    failures: list[str] = []
    for call in calls:
        if call.template.startswith("/static"):
            mount = next(
                route
                for route in quiet_app.routes
                if isinstance(route, Mount) and route.path == call.template
            )
            path = _a_static_file(mount)
        else:
            path = _path(call, objects, state)
        answer = _send(walker, quiet_app, world, call, path, objects["browser"])
        where = f"{call.method} {call.template}"
        try:
            assert answer.status_code < 500, f"{where}: {answer.status_code} {answer.text[:300]}"
            if call.template in GONE_ONCE_SET_UP:
                assert answer.status_code == 404, f"{where}: {answer.status_code}"
            elif call.method in READS and not call.template.startswith("/w/"):
                # Reads get the real thing (a page, a file, a redirect), not a refusal.
                assert answer.status_code < 400, (
                    f"{where}: {answer.status_code} {answer.text[:300]}"
                )
            seen.setdefault(_check(call, answer), set()).add(where)
        except AssertionError as failed:
            # Every route is walked, so that one failure does not hide the next.
            failures.append(" ".join(str(failed).split())[:400])
    assert not failures, "\n".join(failures)
    # Every family was met, and the walk covered routes added by any module.
    assert set(seen) == {
        "page",
        "download",
        "api",
        "public",
        "widget",
        "docs",
        "static",
        "brand",
    }
    assert len(calls) > 60
    assert {"GET /app/surveys/{survey_id}", "GET /readyz"} <= set().union(*seen.values())


def test_over_plain_http_there_is_no_hsts(quiet_app: FastAPI, world: World) -> None:
    # A database with users (``world``): on an empty one the login page sends to /setup.
    with TestClient(quiet_app, base_url="http://testserver") as client:
        for path in ("/login", "/healthz", "/static/app.js", "/widget.js", "/docs"):
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code == 200, path
            _check(Call(path, "GET"), answer, https=False)


def test_the_set_up_page_before_anyone_has_an_account(quiet_app: FastAPI) -> None:
    """On an empty database the front door and the login page send to /setup, a page."""
    with TestClient(quiet_app, base_url=BASE_URL) as client:
        for path in ("/", "/login"):
            sent = client.get(path, follow_redirects=False)
            assert (sent.status_code, sent.headers["location"]) == (303, "/setup"), path
            assert _check(Call(path, "GET"), sent) == "page"
        page = client.get("/setup")
        assert page.status_code == 200
        assert _check(Call("/setup", "GET"), page) == "page"


def test_errors_outside_the_routes_carry_the_headers_too(engine: Any) -> None:
    """A 500 (answered by Starlette's error middleware) and a 413 (the body limit, before any
    route) go out through the headers middleware as well."""
    app = make_app(engine)

    def explode() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/api/v1/boom", explode)
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client:
        failed = client.get("/api/v1/boom")
        assert failed.status_code == 500
        _check(Call("/api/v1/boom", "GET"), failed)
        too_big = client.post(
            "/api/v1/surveys",
            content=b"{" + b" " * 2_000_000 + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert too_big.status_code == 413
        _check(Call("/api/v1/surveys", "POST"), too_big)


def test_a_header_the_route_set_is_kept() -> None:
    own = [(b"content-security-policy", b"default-src 'none'"), (b"Cache-Control", b"public")]
    merged = with_headers(own, security_headers.PAGE, https=False)
    names = [name.lower() for name, _ in merged]
    assert names.count(b"content-security-policy") == 1
    assert names.count(b"cache-control") == 1
    assert (b"content-security-policy", b"default-src 'none'") in merged
    assert b"strict-transport-security" not in names
    assert (b"strict-transport-security", HSTS.encode()) in with_headers(
        [], security_headers.API, https=True
    )


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/app/surveys/3/export/responses.csv", "export"),
        ("/api/v1/surveys/3/responses/export.xlsx", "export"),
        ("/api/v1/surveys/3/responses", "api"),
        ("/app/surveys/3", "page"),
        ("/s/acme/nps", "public"),
        ("/t/acme/nps", "public"),
        ("/w/acme/nps/responses", "widget"),
        ("/widget.js", "widget"),
        ("/static/vendor/vega-embed.js", "static"),
        ("/docs", "docs"),
        ("/readyz", "api"),
        ("/anything/else", "page"),
    ],
)
def test_families_by_path(path: str, family: str) -> None:
    assert family_of(path).name == family
