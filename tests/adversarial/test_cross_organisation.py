"""Every route of the app, tried across organisations.

The routes come from the app itself (``app.routes``), so a route added later is in the
matrix without anyone listing it. Each is either public by design (the table ``PUBLIC``, with
the reason) or refuses an anonymous caller. Every signed-in route whose path names an object
(a survey, a response, a contact, a user, a key, an invitation, a goal, a case, a rule,
a webhook endpoint or delivery, an alert, a referral code, a follow-up question, an import,
an upload waiting for its mapping) is called by each role
of organisation B and by both of B's API keys with the ids of organisation A's objects: the
answer must be 404 (or 403 when the role may not use the route at all), never a 2xx or a
redirect, never a 5xx, and never a body naming organisation A. Afterwards A's objects are
checked to be unchanged. Routes that list (no id) are read by B too, and must show nothing of
A. A route with a path parameter this file cannot fill, or a body it does not know (a 422),
fails the test until A's object is added to the ``objects`` fixture or the body to ``BODIES``.
Routes that name A's objects in their body or query instead (bulk changes, assignments, a
rule's actions, a delivery replayed through another endpoint, A's question under B's survey,
the invitation and import forms) are tried by
``test_bodies_naming_objects_of_organisation_a_are_refused``; pages whose query only picks a
starting choice, by ``test_queries_naming_objects_of_organisation_a_offer_nothing_of_them``.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.web.helpers import Org, bearer, session_headers

from cxpulse.act import events, rules
from cxpulse.collect import follow_up_changes
from cxpulse.store import alerts, cases, inbound, referral_codes, teams, webhooks
from cxpulse.store.models import ROLES, FollowUpCase, ImportRun, ReferralCode, WebhookEndpoint
from cxpulse.web.routes import contact_import_pages, import_pages
from cxpulse.web.tokens import CSRF_HEADER

from .site import Site, sound

PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): "the API's description, which /docs shows",
    ("HEAD", "/openapi.json"): "the API's description, which /docs shows",
    ("GET", "/docs"): "the API's documentation page",
    ("*", "/static/swagger-ui"): "the documentation page's scripts and styles",
    ("*", "/static"): "the pages' scripts, styles and fonts",
    ("GET", "/healthz"): "liveness, for load balancers (no data)",
    ("GET", "/readyz"): "readiness, for load balancers (no data; issue 10, point 6)",
    ("POST", "/api/v1/auth/login"): "signing in",
    ("POST", "/api/v1/auth/logout"): "signing out: without a session it does nothing",
    ("GET", "/"): "the home page: sends a visitor to /login or /app",
    ("GET", "/login"): "the sign-in page",
    ("POST", "/login"): "the sign-in form",
    ("POST", "/logout"): "signing out: without a session it does nothing",
    ("GET", "/s/{organisation_slug}/{survey_slug}"): "the public page of an active survey",
    ("POST", "/s/{organisation_slug}/{survey_slug}"): "answers to it, with a signed form token",
    ("GET", "/r/{token}"): "a personal survey link: the signed token is the credential",
    ("POST", "/r/{token}"): "answers by a personal link: the signed token is the credential",
    ("GET", "/u/{token}"): "an unsubscribe link from an email: the signed token",
    ("POST", "/u/{token}"): "unsubscribing by that link: the signed token",
    ("GET", "/o/{token}.gif"): "the open-tracking pixel of an email: the signed token",
    ("GET", "/widget.js"): "the widget's script, embedded by any site",
    ("HEAD", "/widget.js"): "the widget's script, embedded by any site",
    ("GET", "/w/{org_slug}/{survey_slug}"): "the widget's prompt: public survey text",
    ("OPTIONS", "/w/{org_slug}/{survey_slug}/responses"): "the widget's CORS preflight",
    ("POST", "/w/{org_slug}/{survey_slug}/responses"): "widget answers, from allowed origins",
    ("POST", "/api/v1/inbound/{token}"): "another system's event: the endpoint's secret "
    "or signature is the credential, the token names the endpoint",
    ("POST", "/api/v1/sms/{token}/incoming"): "an SMS reply: the SMS provider's signature "
    "is the credential, the signed token names the organisation",
    ("POST", "/api/v1/cases/inbound-email"): "a customer's emailed answer to a case: the "
    "case's reply address and the case email it answers are the credential",
    ("POST", "/s/follow-up"): "follow-up answers from a thank-you page: a signed token names "
    "the response just given",
    ("GET", "/t/{organisation_slug}/{survey_slug}"): "a helpdesk email's unsigned door to an "
    "active survey: its public page, and GET never writes",
    ("POST", "/t/{organisation_slug}/{survey_slug}"): "answers by that door, with the page's "
    "signed form token, limited per address and marked unverified",
    ("GET", "/brand/{organisation_slug}/logo"): "an organisation's logo, for its survey pages "
    "and emails",
    ("HEAD", "/brand/{organisation_slug}/logo"): "an organisation's logo, for its survey pages "
    "and emails",
    ("GET", "/brand/{organisation_slug}/brand.css"): "an organisation's accent colour, for its "
    "survey pages",
    ("HEAD", "/brand/{organisation_slug}/brand.css"): "an organisation's accent colour, for "
    "its survey pages",
    ("GET", "/setup"): "the first run's set-up: only while the database has no user (a 404 after)",
    ("POST", "/setup"): "the first run's set-up form: only while the database has no user",
    ("GET", "/password/forgot"): "asking for a password link",
    ("POST", "/password/forgot"): "asking for a password link: the same answer whether or not "
    "the address has an account",
    ("GET", "/password/reset/{token}"): "a password link from an email: the signed token",
    ("POST", "/password/reset/{token}"): "choosing a password by that link: the signed token",
    ("GET", "/invite/{token}"): "a colleague's invitation from an email: the signed token",
    ("POST", "/invite/{token}"): "accepting it by choosing a password: the signed token",
}
"""Routes anyone may call, and why. Every other route must refuse an anonymous caller."""

FORMATS = {"format", "fmt"}
"""Path parameters that name a file format, not an object."""

A_MARK = "org-a"
"""In organisation A's slug and in every address of its users: never in B's answers."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)(?::\w+)?}", self.path)

    @property
    def names_objects(self) -> bool:
        return any(p not in FORMATS for p in self.params)


def routes(app: FastAPI) -> Iterator[Route]:
    for context in iter_route_contexts(app.routes):
        path = context.path
        assert path is not None
        for method in sorted(context.methods or {"*"}):
            yield Route(method, path)


def unclassified(app: FastAPI) -> list[Route]:
    return [r for r in routes(app) if r.method == "*" and (r.method, r.path) not in PUBLIC]


SAME_NAMES: dict[str, dict[str, str]] = {
    "/api/v1/inbound-endpoints/": {"endpoint_id": "inbound_endpoint_id"},
    "/api/v1/webhook-endpoints/": {"endpoint_id": "webhook_endpoint_id"},
    "/app/webhooks/": {"endpoint_id": "webhook_endpoint_id"},
    "/app/imports/new/": {"token": "import_token"},
    "/app/contacts/import/": {"token": "contact_import_token"},
}
"""Path parameters whose name means another object under another path (by path prefix):
the key in ``Objects.ids`` of the object meant."""
WELL_FORMED: dict[str, int | str] = {
    "import_token": "A" * 32,
    "contact_import_token": "A" * 43,
}
"""Values of the right shape for a stranger's calls, whose ids need not exist (a token of
the wrong length is a 422 before anyone is asked who calls)."""


@dataclass
class Objects:
    """Organisation A's objects, by path parameter."""

    ids: dict[str, int | str]

    def key(self, route: Route, param: str) -> str:
        for prefix, names in SAME_NAMES.items():
            if route.path.startswith(prefix) and param in names:
                return names[param]
        return param

    def url(self, route: Route) -> str:
        missing = [p for p in route.params if self.key(route, p) not in self.ids]
        assert not missing, (
            f"{route.method} {route.path}: no object of organisation A for {missing}; "
            "add one to the objects fixture in tests/adversarial/test_cross_organisation.py"
        )
        return re.sub(
            r"{(\w+)(?::\w+)?}",
            lambda m: str(self.ids[self.key(route, m.group(1))]),
            route.path,
        )


@dataclass(frozen=True)
class LoopObjects:
    """An organisation's objects of the closed loop: a team with its agent, a case of the
    organisation's first answer (in that team, assigned to the agent, with one note), an
    inbound endpoint, a webhook endpoint with one delivery, a rule whose actions name the
    team, the agent and the webhook endpoint, an open alert and an unredeemed referral code
    of the first answer."""

    team_id: int
    case_id: int
    endpoint_id: int
    webhook_endpoint_id: int
    delivery_id: int
    rule_id: int
    alert_id: int
    code: str
    secret: str
    """The webhook endpoint's signing secret."""


NOTE = "Called the customer back"
"""The one note on each organisation's case."""


def _loop_objects(session: Session, org: Org) -> LoopObjects:
    """Written through the store, as the act stage would."""
    team = teams.create_team(session, org.id, "Billing")
    teams.add_member(session, org.id, team.id, org.users["agent"])
    row = cases.insert_case(
        session,
        FollowUpCase(
            organisation_id=org.id,
            survey_id=org.survey_id,
            response_id=org.response_id,
            contact_id=org.contact_id,
            team_id=team.id,
            assignee_user_id=org.users["agent"],
            title="Unhappy customer",
            state="new",
            priority="normal",
            due_at=datetime.now(UTC) + timedelta(days=2),
            reply_token=secrets.token_hex(16),
        ),
    )
    assert row is not None
    cases.add_event(session, row, "note", author_user_id=org.users["agent"], body=NOTE)
    endpoint = inbound.add_endpoint(
        session,
        org.id,
        survey_id=org.survey_id,
        name="Helpdesk",
        preset="generic",
        token=secrets.token_hex(16),
        secret=secrets.token_hex(16),
        mapping={"email": "customer.email"},
    )
    hook = webhooks.create_endpoint(
        session, org.id, url=HOOK_URL, description="Ops channel", events=["response.created"]
    )
    assert events.publish(session, org.id, "response.created", {"id": org.response_id}) == 1
    delivery = webhooks.list_deliveries(session, org.id, hook.id)[0]
    rule = rules.create_rule(
        session, org.id, name=RULE_NAME, **_rule_documents(org, team.id, hook.id)
    )
    recorded = alerts.record_detection(
        session,
        org.id,
        survey_id=org.survey_id,
        kind="score-drop",
        key=f"score-drop:{org.survey_id}",
        title="CSAT fell",
        details={"explanation": "CSAT fell by 9 points"},
        quiet_days=3,
    )
    assert recorded is not None
    code = referral_codes.issue(
        session,
        org.id,
        response_id=org.response_id,
        survey_id=org.survey_id,
        contact_id=org.contact_id,
    )
    return LoopObjects(
        team.id,
        row.id,
        endpoint.id,
        hook.id,
        delivery.id,
        rule.id,
        recorded.alert.id,
        code,
        hook.secret,
    )


HOOK_URL = "http://127.0.0.1:9/hooks"
"""Each organisation's webhook endpoint: a loopback address nobody listens on."""
RULE_NAME = "Detractors to Billing"


def _rule_documents(org: Org, team_id: int, endpoint_id: int) -> dict[str, Any]:
    """What each organisation's rule holds: its survey, and actions naming its own team,
    agent and webhook endpoint."""
    agent = org.users["agent"]
    return {
        "survey_id": org.survey_id,
        "conditions": {"band": "detractor"},
        "actions": {
            "case": {"priority": "high", "team_id": team_id, "assignee_user_id": agent},
            "email": {"user_ids": [agent]},
            "notify": {"endpoint_ids": [endpoint_id]},
        },
    }


def _orgs(site: Site) -> dict[str, Org]:
    return {"a": site.world.a, "b": site.world.b}


@pytest.fixture
def loops(site: Site) -> dict[str, LoopObjects]:
    """The closed-loop objects of A and of B."""
    with site.db() as session:
        made = {name: _loop_objects(session, org) for name, org in _orgs(site).items()}
        session.commit()
    return made


@pytest.fixture
def objects(
    site: Site, loops: dict[str, LoopObjects], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Objects:
    """A's objects; an invitation, a goal, a theme and a follow-up question (answered by A's
    first response) are made through A's own API, an import and two waiting uploads through
    A's pages."""
    monkeypatch.setattr(import_pages.UPLOADS, "root", tmp_path / "imports")
    monkeypatch.setattr(contact_import_pages.UPLOADS, "folder", tmp_path / "contacts")
    a = site.world.a
    invited = site.client.post(
        f"/api/v1/surveys/{a.survey_id}/invitations",
        json={"contact_id": a.contact_id, "delay": "2d"},
        headers=site.owner,
    )
    assert invited.status_code == 201, invited.text
    goal = site.client.post(
        f"/api/v1/surveys/{a.survey_id}/goals",
        json={"name": "A's goal", "target": 90, "months": 3, "baseline": 80},
        headers=site.owner,
    )
    assert goal.status_code == 201, goal.text
    theme = site.client.post(
        "/api/v1/themes",
        json={"name": "A's theme", "phrases": {"en": ["gift wrap"]}},
        headers=site.owner,
    )
    assert theme.status_code == 201, theme.text
    question = site.client.post(
        f"/api/v1/surveys/{a.survey_id}/questions", json=QUESTION, headers=site.owner
    )
    assert question.status_code == 201, question.text
    with site.db() as session:
        follow_up_changes.record_answers(session, a.id, a.response_id, {"delivery": "5"})
        session.commit()
    ids: dict[str, int | str] = _a_uploads(site)
    if any("session_id" in r.params for r in routes(site.app)):
        ids["session_id"] = _a_session(site)
    return Objects(
        ids
        | {
            "survey_id": a.survey_id,
            "response_id": a.response_id,
            "contact_id": a.contact_id,
            "user_id": a.users["viewer"],
            "key_id": a.key_id,
            "invitation_id": invited.json()["items"][0]["id"],
            "goal_id": goal.json()["id"],
            "theme_id": theme.json()["id"],
            "question_id": question.json()["id"],
            "case_id": loops["a"].case_id,
            "team_id": loops["a"].team_id,
            "inbound_endpoint_id": loops["a"].endpoint_id,
            "webhook_endpoint_id": loops["a"].webhook_endpoint_id,
            "delivery_id": loops["a"].delivery_id,
            "rule_id": loops["a"].rule_id,
            "alert_id": loops["a"].alert_id,
            "code": loops["a"].code,
            "webhook_secret": loops["a"].secret,  # not a path parameter: for the checks
            "format": "csv",
            "fmt": "csv",
            "name": "trend",  # a dashboard chart's image
            "organisation_slug": a.slug,
            "org_slug": a.slug,
            "survey_slug": "support-csat",
        }
    )


QUESTION: dict[str, Any] = {
    "kind": "rating",
    "key": "delivery",
    "labels": {"en": "How was the delivery?"},
}
"""A's one follow-up question."""


IMPORTED = 2
"""The answers of A's import, besides the world's 10."""


def _a_uploads(site: Site) -> dict[str, int | str]:
    """Through the pages, as A's owner: an import of two answers (``run_id``), and an
    upload of answers and one of contacts, each waiting for its mapping."""
    a, browser = site.world.a, site.owner
    csrf = {"csrf_token": browser[CSRF_HEADER]}
    answers = b"Rating,Comment\n5,Quick\n2,Slow\n"

    def upload(path: str, fields: dict[str, str], data: bytes) -> str:
        sent = site.client.post(
            path,
            headers=browser,
            data={**csrf, **fields},
            files={"file": ("file.csv", data, "text/csv")},
            follow_redirects=False,
        )
        assert sent.status_code == 303, sent.text
        return str(sent.headers["location"])

    survey = {"survey_id": str(a.survey_id)}
    mapping = {"preset": "", "map_score": "Rating", "map_comment": "Comment"}
    done = site.client.post(
        upload("/app/imports/new", survey, answers), headers=browser, data={**csrf, **mapping}
    )
    assert done.status_code == 200, done.text
    run = re.search(r'href="/app/imports/(\d+)"', done.text)
    assert run is not None, done.text
    waiting = upload("/app/imports/new", survey, answers)
    contacts = upload("/app/contacts/import", {}, b"email,name\nann@example.com,Ann\n")
    return {
        "run_id": int(run.group(1)),
        "import_token": waiting.rsplit("/", 1)[1],
        "contact_import_token": contacts.rsplit("/", 1)[1],
    }


def _a_session(site: Site) -> int:
    """A browser session of A's viewer, as A's viewer lists it."""
    viewer = session_headers(site.app, site.world.a.users["viewer"])
    listed = site.client.get("/api/v1/sessions", headers=viewer)
    assert listed.status_code == 200, listed.text
    session_id: int = listed.json()["items"][0]["id"]
    return session_id


def _upload() -> dict[str, Any]:
    csv = b"email\nsomeone@example.com\n"
    return {"files": {"file": ("people.csv", io.BytesIO(csv), "text/csv")}}


BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/surveys/{survey_id}/responses"): {"json": {"score": 4}},
    ("POST", "/api/v1/surveys/{survey_id}/responses/batch"): {"json": {"items": [{"score": 4}]}},
    ("PATCH", "/api/v1/surveys/{survey_id}"): {"json": {"name": "Taken over"}},
    ("PATCH", "/api/v1/contacts/{contact_id}"): {"json": {"name": "Taken over"}},
    ("PATCH", "/api/v1/users/{user_id}"): {"json": {"role": "owner"}},
    ("POST", "/api/v1/surveys/{survey_id}/invitations"): {"json": {"email": "someone@example.com"}},
    ("POST", "/api/v1/surveys/{survey_id}/invitations/upload"): _upload(),
    ("POST", "/api/v1/surveys/{survey_id}/goals"): {
        "json": {"name": "Taken over", "target": 90, "months": 3, "baseline": 80}
    },
    ("PATCH", "/api/v1/surveys/{survey_id}/goals/{goal_id}"): {"json": {"name": "Taken over"}},
    ("PUT", "/api/v1/surveys/{survey_id}/report-schedule"): {
        "json": {"emails": ["someone@example.com"]}
    },
    ("POST", "/api/v1/surveys/{survey_id}/imports"): {
        "data": {"map": "score=Rating"},
        "files": {"file": ("a.csv", io.BytesIO(b"Rating\n4\n"), "text/csv")},
    },
    ("POST", "/app/surveys/{survey_id}/goals"): {
        "data": {"name": "Taken over", "target": "90", "months": "3", "baseline": "80"}
    },
    ("POST", "/app/surveys/{survey_id}/goals/{goal_id}/delete"): {"data": {}},
    ("PATCH", "/api/v1/themes/{theme_id}"): {"json": {"name": "Taken over"}},
    ("POST", "/api/v1/themes/{theme_id}/merge"): {"json": {"into": 1}},
    ("POST", "/api/v1/surveys/{survey_id}/themes/discovered/promote"): {
        "json": {"language": "en", "label": "taken over", "phrases": ["taken over"]}
    },
    ("POST", "/app/themes/{theme_id}"): {"data": {"name": "Taken over", "phrases_en": "x"}},
    ("POST", "/app/themes/{theme_id}/merge"): {"data": {"into": "1"}},
    ("POST", "/app/themes/{theme_id}/delete"): {"data": {"confirm": "yes"}},
    ("POST", "/app/surveys/{survey_id}/themes/discovered/promote"): {
        "data": {"language": "en", "label": "taken over", "key": "k", "phrases": "taken over"}
    },
    ("PATCH", "/api/v1/cases/{case_id}"): {"json": {"priority": "urgent", "team_id": None}},
    ("POST", "/api/v1/cases/{case_id}/notes"): {"json": {"body": "Taken over"}},
    ("POST", "/api/v1/cases/{case_id}/replies"): {"json": {"body": "Taken over"}},
    ("POST", "/app/cases/{case_id}/state"): {
        "data": {"state": "resolved", "resolution_reason": "Taken over"}
    },
    ("POST", "/app/cases/{case_id}/assignment"): {"data": {"assignee": "none", "team": "none"}},
    ("POST", "/app/cases/{case_id}/priority"): {"data": {"priority": "urgent"}},
    ("POST", "/app/cases/{case_id}/notes"): {"data": {"body": "Taken over"}},
    ("POST", "/app/cases/{case_id}/reply"): {"data": {"body": "Taken over"}},
    ("PATCH", "/api/v1/teams/{team_id}"): {"json": {"name": "Taken over"}},
    ("PATCH", "/api/v1/inbound-endpoints/{endpoint_id}"): {
        "json": {"name": "Taken over", "enabled": False}
    },
    ("PATCH", "/api/v1/rules/{rule_id}"): {"json": {"name": "Taken over", "enabled": False}},
    ("POST", "/app/rules/{rule_id}"): {"data": {"name": "Taken over", "tags": "taken-over"}},
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): {
        "json": {"url": "https://taken.example/hook", "enabled": False}
    },
    ("POST", "/app/webhooks/{endpoint_id}"): {"data": {"url": "https://taken.example/hook"}},
    ("POST", "/app/webhooks/{endpoint_id}/delete"): {"data": {"confirm": "yes"}},
    ("POST", "/api/v1/referral-codes/{code}/redeem"): {"json": {"reference": "order-1"}},
    ("POST", "/api/v1/surveys/{survey_id}/questions"): {"json": QUESTION | {"key": "taken"}},
    ("PUT", "/api/v1/surveys/{survey_id}/questions/order"): {"json": {"ids": [1]}},
    ("PATCH", "/api/v1/surveys/{survey_id}/questions/{question_id}"): {"json": {"key": "taken"}},
    # A's contact's address (c1@example.com) is the confirmation erasing asks for.
    ("POST", "/api/v1/contacts/{contact_id}/erase"): {
        "json": {"mode": "delete", "confirm": "c1@example.com"}
    },
}
"""A valid body for each route that takes one, so that only the organisation decides (a
signed-in page's form without fields gets an empty one with its CSRF token)."""


def _callers(site: Site) -> dict[str, dict[str, str]]:
    b = site.world.b
    callers = {f"B's {role}": session_headers(site.app, b.users[role]) for role in ROLES}
    callers["B's read key"] = bearer(b.read_key)
    callers["B's write key"] = bearer(b.write_key)
    return callers


def _send(site: Site, route: Route, url: str, headers: dict[str, str]) -> httpx.Response:
    # A form without a body still carries the CSRF token, so that the organisation decides,
    # not the missing token.
    form: dict[str, Any] = (
        {"data": {}} if route.method == "POST" and route.path.startswith("/app/") else {}
    )
    return _request(site, route.method, url, headers, BODIES.get((route.method, route.path), form))


def _request(
    site: Site, method: str, url: str, headers: dict[str, str], given: dict[str, Any]
) -> httpx.Response:
    body = dict(given)
    if "files" in body:  # a fresh file each time: a stream is read once
        body["files"] = {
            name: (fname, io.BytesIO(stream.getvalue()), kind)
            for name, (fname, stream, kind) in body["files"].items()
        }
    if "data" in body and CSRF_HEADER in headers:  # HTML forms carry the CSRF token
        body["data"] = {**body["data"], "csrf_token": headers[CSRF_HEADER]}
    return site.client.request(method, url, headers=headers, follow_redirects=False, **body)


def test_every_route_is_public_by_design_or_refuses_strangers(site: Site) -> None:
    assert not unclassified(site.app), unclassified(site.app)
    any_ids = {p: 1 for r in routes(site.app) for p in r.params}
    any_ids |= {key: 1 for names in SAME_NAMES.values() for key in names.values()}
    ids = Objects(any_ids | dict.fromkeys(FORMATS, "csv") | WELL_FORMED)
    failures = []
    for route in routes(site.app):
        if (route.method, route.path) in PUBLIC or route.method == "*":
            continue
        answer = sound(_send(site, route, ids.url(route), {}), f"{route}")
        location = answer.headers.get("location", "")
        refused = answer.status_code in (401, 403) or (
            answer.status_code == 303 and location.startswith("/login")
        )
        if not refused:
            failures.append(f"{route.method} {route.path}: {answer.status_code} to a stranger")
    assert not failures, "answer anonymous callers (protect them, or list them in PUBLIC):\n" + (
        "\n".join(failures)
    )


@pytest.mark.slow
def test_organisation_b_reaches_nothing_of_organisation_a(site: Site, objects: Objects) -> None:
    callers = _callers(site)
    failures: list[str] = []
    for route in routes(site.app):
        if (route.method, route.path) in PUBLIC or route.method == "*":
            continue
        if not route.names_objects and route.method != "GET":
            continue  # creates in B's own organisation
        url = objects.url(route)
        for who, headers in callers.items():
            answer = sound(_send(site, route, url, headers), f"{who}: {route.method} {url}")
            status = answer.status_code
            wrong = A_MARK in answer.text
            if route.names_objects:
                if status == 422:
                    failures.append(f"{route.method} {route.path}: 422, add a body to BODIES")
                    break
                # Keys are refused outright (401) by routes made for browsers: HTML forms.
                refusals = (401, 403, 404) if "key" in who else (403, 404)
                wrong = wrong or status not in refusals
            if wrong:
                text = " ".join(answer.text.split())[:150]
                failures.append(f"{who}: {route.method} {url}: {status} {text}")
    assert not failures, "\n".join(failures)
    _unchanged(site, objects)


def _unchanged(site: Site, objects: Objects) -> None:
    """A's objects are as they were: nothing of B's attempts went through."""
    a, owner = site.world.a, site.owner
    survey = site.get(f"/api/v1/surveys/{a.survey_id}").json()
    assert survey["name"] == "Support CSAT", survey
    assert site.get(f"/api/v1/responses/{a.response_id}").status_code == 200
    assert site.get(f"/api/v1/contacts/{a.contact_id}").json()["name"] != "Taken over"
    assert site.get(f"/api/v1/users/{a.users['viewer']}").json()["role"] == "viewer"
    assert site.client.get("/api/v1/surveys", headers=bearer(a.write_key)).status_code == 200
    invitation = site.get(f"/api/v1/invitations/{objects.ids['invitation_id']}").json()
    assert invitation["status"] != "cancelled", invitation
    goals = site.get(f"/api/v1/surveys/{a.survey_id}/goals").json()["items"]
    assert [g["name"] for g in goals] == ["A's goal"], goals
    assert site.get(f"/api/v1/surveys/{a.survey_id}/report-schedule").status_code == 404
    theme = site.get(f"/api/v1/themes/{objects.ids['theme_id']}").json()
    assert (theme["name"], theme["active"]) == ("A's theme", True), theme
    keys = [t["key"] for t in site.get("/api/v1/themes").json()["items"]]
    assert "taken-over" not in keys, keys
    listed = site.client.get(f"/api/v1/surveys/{a.survey_id}/responses", headers=owner).json()
    assert len(listed["items"]) == 10 + IMPORTED, "B stored or deleted answers of A"
    answer = site.get(f"/api/v1/responses/{a.response_id}").json()
    assert (answer["comment"], answer["contact_id"]) == ("comment 0", a.contact_id), answer
    _builder_unchanged(site, objects)
    contact = site.get(f"/api/v1/contacts/{a.contact_id}").json()
    assert contact["email"] == "c1@example.com", contact
    _case_unchanged(site, a, int(objects.ids["case_id"]), int(objects.ids["team_id"]))
    _teams_unchanged(site, a)
    endpoint = site.get(f"/api/v1/inbound-endpoints/{objects.ids['inbound_endpoint_id']}").json()
    assert (endpoint["name"], endpoint["enabled"]) == ("Helpdesk", True), endpoint
    assert site.get("/api/v1/organisation/retention").json()["months"] is None
    _rules_unchanged(site, a, int(objects.ids["team_id"]), int(objects.ids["webhook_endpoint_id"]))
    ids = objects.ids
    _webhooks_unchanged(
        site,
        a,
        int(ids["webhook_endpoint_id"]),
        int(ids["delivery_id"]),
        str(ids["webhook_secret"]),
    )
    alert = site.get(f"/api/v1/alerts/{objects.ids['alert_id']}").json()
    assert (alert["state"], alert["title"]) == ("open", "CSAT fell"), alert
    with site.db() as session:
        code = session.scalars(
            select(ReferralCode).where(ReferralCode.organisation_id == a.id)
        ).one()
        assert code.code == objects.ids["code"]
        assert (code.redeemed_at, code.redeemed_reference) == (None, None), "B redeemed A's code"


def _builder_unchanged(site: Site, objects: Objects) -> None:
    """A's survey (one, active, not duplicated), its follow-up question and the answer to
    it, its import (not undone), its waiting uploads and its viewer are as they were made."""
    a = site.world.a
    listed = site.get("/api/v1/surveys").json()["items"]
    assert [(s["id"], s["name"], s["status"]) for s in listed] == [
        (a.survey_id, "Support CSAT", "active")
    ], listed
    questions = site.get(f"/api/v1/surveys/{a.survey_id}/questions").json()["items"]
    assert [(q["id"], q["key"], q["labels"]) for q in questions] == [
        (objects.ids["question_id"], QUESTION["key"], QUESTION["labels"])
    ], questions
    answers = site.get(f"/api/v1/responses/{a.response_id}/answers").json()["items"]
    assert [(x["key"], x["score"]) for x in answers] == [("delivery", 5.0)], answers
    with site.db() as session:
        run = session.get(ImportRun, int(objects.ids["run_id"]))
        assert run is not None
        assert (run.undone_at, run.rows_stored) == (None, IMPORTED), "B undid A's import"
    for step in ("/app/imports/new/", "/app/contacts/import/"):
        token = objects.ids[SAME_NAMES[step]["token"]]
        waiting = site.client.get(f"{step}{token}", headers=site.owner)
        assert waiting.status_code == 200, f"A's upload {step} is gone: {waiting.status_code}"
    viewer = site.get(f"/api/v1/users/{a.users['viewer']}").json()
    assert (viewer["role"], viewer["is_active"]) == ("viewer", True), viewer


def _rules_unchanged(site: Site, org: Org, team_id: int, endpoint_id: int) -> None:
    """The organisation has its one rule, as ``_loop_objects`` made it."""
    owner = session_headers(site.app, org.users["owner"])
    listed = site.client.get("/api/v1/rules", headers=owner)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    found = [(r["name"], r["enabled"], r["survey_id"]) for r in items]
    assert found == [(RULE_NAME, True, org.survey_id)], found
    actions = items[0]["actions"]
    agent = org.users["agent"]
    named = (
        actions["case"]["team_id"],
        actions["case"]["assignee_user_id"],
        actions["email"]["user_ids"],
        actions["notify"]["endpoint_ids"],
    )
    assert named == (team_id, agent, [agent], [endpoint_id]), actions


def _webhooks_unchanged(
    site: Site, org: Org, endpoint_id: int, delivery_id: int, secret: str
) -> None:
    """The organisation's one webhook endpoint keeps its address, state and secret, and its
    log holds only the delivery ``_loop_objects`` queued."""
    owner = session_headers(site.app, org.users["owner"])
    listed = site.client.get("/api/v1/webhook-endpoints", headers=owner)
    assert listed.status_code == 200, listed.text
    found = [(e["id"], e["url"], e["enabled"]) for e in listed.json()["items"]]
    assert found == [(endpoint_id, HOOK_URL, True)], found
    log = site.client.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=owner)
    assert log.status_code == 200, log.text
    assert [d["id"] for d in log.json()["items"]] == [delivery_id], log.json()
    with site.db() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        assert endpoint.secret == secret, "the secret was rotated"
        assert endpoint.previous_secret is None, "the secret was rotated"


def _teams_unchanged(site: Site, org: Org) -> None:
    owner = session_headers(site.app, org.users["owner"])
    listed = site.client.get("/api/v1/teams", headers=owner).json()["items"]
    assert [(t["name"], t["member_ids"]) for t in listed] == [("Billing", [org.users["agent"]])], (
        listed
    )


def _case_unchanged(site: Site, org: Org, case_id: int, team_id: int) -> None:
    """The organisation's case is as ``_loop_objects`` made it, read by its own owner."""
    owner = session_headers(site.app, org.users["owner"])
    answer = site.client.get(f"/api/v1/cases/{case_id}", headers=owner)
    assert answer.status_code == 200, answer.text
    case = answer.json()
    fields = ("state", "priority", "team_id", "assignee_user_id", "response_id")
    assert {f: case[f] for f in fields} == {
        "state": "new",
        "priority": "normal",
        "team_id": team_id,
        "assignee_user_id": org.users["agent"],
        "response_id": org.response_id,
    }, case
    assert [(e["kind"], e["body"]) for e in case["events"]] == [("note", NOTE)], case["events"]


def _attempts(
    a: Org, theirs: LoopObjects, mine: LoopObjects, fresh_answer: int
) -> list[tuple[str, str, dict[str, Any]]]:
    """B's requests on B's own routes and objects whose bodies name A's objects."""
    agent = a.users["agent"]
    take = {"priority": "urgent"}
    return [
        ("POST", "/api/v1/cases", {"json": {"response_id": a.response_id}}),
        (
            "POST",
            "/api/v1/cases",
            {"json": {"response_id": fresh_answer, "team_id": theirs.team_id}},
        ),
        (
            "POST",
            "/api/v1/cases",
            {"json": {"response_id": fresh_answer, "assignee_user_id": agent}},
        ),
        ("PATCH", f"/api/v1/cases/{mine.case_id}", {"json": {"team_id": theirs.team_id}}),
        ("PATCH", f"/api/v1/cases/{mine.case_id}", {"json": {"assignee_user_id": agent}}),
        ("POST", "/api/v1/cases/bulk", {"json": {"case_ids": [theirs.case_id], **take}}),
        (
            "POST",
            "/api/v1/cases/bulk",
            {"json": {"case_ids": [mine.case_id], "assignee_user_id": agent}},
        ),
        ("PUT", f"/api/v1/teams/{mine.team_id}/members/{agent}", {}),
        (
            "POST",
            "/api/v1/inbound-endpoints",
            {"json": {"survey_id": a.survey_id, "name": "Taken over"}},
        ),
        (
            "PATCH",
            f"/api/v1/inbound-endpoints/{mine.endpoint_id}",
            {"json": {"survey_id": a.survey_id}},
        ),
        ("POST", "/app/cases/bulk", {"data": {"case_id": str(theirs.case_id), **take}}),
        (
            "POST",
            "/app/cases/bulk",
            {"data": {"case_id": str(mine.case_id), "assignee": str(agent)}},
        ),
        (
            "POST",
            f"/app/cases/{mine.case_id}/assignment",
            {"data": {"assignee": str(agent), "team": "none"}},
        ),
        (
            "POST",
            f"/app/cases/{mine.case_id}/assignment",
            {"data": {"assignee": "none", "team": str(theirs.team_id)}},
        ),
        *_rule_attempts(a, theirs, mine),
        # A's delivery replayed through B's own endpoint.
        (
            "POST",
            f"/api/v1/webhook-endpoints/{mine.webhook_endpoint_id}/deliveries/"
            f"{theirs.delivery_id}/replay",
            {},
        ),
        (
            "POST",
            f"/app/webhooks/{mine.webhook_endpoint_id}/deliveries/{theirs.delivery_id}/replay",
            {"data": {}},
        ),
    ]


def _rule_attempts(
    a: Org, theirs: LoopObjects, mine: LoopObjects
) -> list[tuple[str, str, dict[str, Any]]]:
    """B's rules (new, or B's own changed) whose survey or actions name A's objects."""
    agent = a.users["agent"]
    named: list[dict[str, Any]] = [
        {"case": {"team_id": theirs.team_id}},
        {"case": {"assignee_user_id": agent}},
        {"email": {"user_ids": [agent]}},
        {"notify": {"endpoint_ids": [theirs.webhook_endpoint_id]}},
    ]
    made = [
        ("POST", "/api/v1/rules", {"json": {"name": "Taken over", "actions": actions}})
        for actions in named
    ]
    changed = [
        ("PATCH", f"/api/v1/rules/{mine.rule_id}", {"json": {"actions": actions}})
        for actions in named
    ]
    form = {"name": "Taken over", "tags": "taken-over"}
    forms = [
        {"case": "on", "case_team_id": str(theirs.team_id)},
        {"case": "on", "case_assignee_user_id": str(agent)},
        {"notice_users": str(agent)},
        {"endpoints": str(theirs.webhook_endpoint_id)},
        {"survey_id": str(a.survey_id)},
    ]
    pages = [
        ("POST", url, {"data": form | fields})
        for url in ("/app/rules/new", f"/app/rules/{mine.rule_id}")
        for fields in forms
    ]
    tag = {"tag": ["taken-over"]}
    return [
        *made,
        *changed,
        *pages,
        (
            "POST",
            "/api/v1/rules",
            {"json": {"name": "x", "survey_id": a.survey_id, "actions": tag}},
        ),
        ("PATCH", f"/api/v1/rules/{mine.rule_id}", {"json": {"survey_id": a.survey_id}}),
        ("POST", "/api/v1/rules/test", {"json": {"survey_id": a.survey_id}}),
        (
            "POST",
            "/app/rules/new",
            {"data": form | {"survey_id": str(a.survey_id), "intent": "test"}},
        ),
    ]


def _page_attempts(
    a: Org, b: Org, ids: dict[str, int | str], form_key: str
) -> list[tuple[str, str, dict[str, Any]]]:
    """B's requests whose query or form names A's survey, invitation or follow-up question,
    on routes without A's id in the path (B's own survey's questions, the invitation and
    import forms)."""
    question = ids["question_id"]
    survey, invitation = str(a.survey_id), str(ids["invitation_id"])
    mine = f"/app/surveys/{b.survey_id}/questions/{question}"
    api = f"/api/v1/surveys/{b.survey_id}/questions"
    people = {"file": ("people.csv", io.BytesIO(b"email\nsomeone@example.com\n"), "text/csv")}
    rows = {"file": ("a.csv", io.BytesIO(b"Rating\n4\n"), "text/csv")}
    send = {"form_key": form_key, "survey": survey, "audience": "csv", "when": "now"}
    return [
        ("GET", f"/app/invitations/preview?survey={survey}", {}),
        ("GET", f"/app/invitations/cancel?invitation={invitation}", {}),
        ("GET", f"/app/invitations/cancel?survey={survey}", {}),
        ("GET", f"/app/invitations/sent?survey={survey}&key={form_key}", {}),
        ("POST", "/app/invitations/cancel", {"data": {"invitation": invitation}}),
        ("POST", "/app/invitations/cancel", {"data": {"survey": survey}}),
        ("POST", "/app/invitations/new", {"data": send | {"step": "review"}, "files": people}),
        ("POST", "/app/invitations/new", {"data": send | {"step": "send"}, "files": people}),
        ("POST", "/app/imports/new", {"data": {"survey_id": survey}, "files": rows}),
        ("GET", mine, {}),
        ("POST", mine, {"data": {"kind": "rating", "key": "taken", "label_en": "Taken over"}}),
        ("POST", f"{mine}/move", {"data": {"direction": "up"}}),
        ("POST", f"{mine}/delete", {"data": {}}),
        ("GET", f"{api}/{question}", {}),
        ("PATCH", f"{api}/{question}", {"json": {"key": "taken"}}),
        ("DELETE", f"{api}/{question}", {}),
        ("PUT", f"{api}/order", {"json": {"ids": [question]}}),
    ]


QUERY_PAGES = (
    "/app/invitations?survey={survey}",
    "/app/invitations/new?survey={survey}",
    "/app/invitations/new?contact={contact}",
    "/app/imports/new?survey={survey}",
    "/app/surveys/new?from={survey}",
)
"""Pages whose query may name a survey or a contact to start from: one of another
organisation is no choice at all (the page shows B's own, with nothing of A chosen)."""


def test_queries_naming_objects_of_organisation_a_offer_nothing_of_them(
    site: Site, objects: Objects
) -> None:
    a, b = site.world.a, site.world.b
    failures: list[str] = []
    for template in QUERY_PAGES:
        url = template.format(survey=a.survey_id, contact=a.contact_id)
        for role in ROLES:
            headers = session_headers(site.app, b.users[role])
            answer = sound(site.client.get(url, headers=headers), f"B's {role}: GET {url}")
            # Neither A's name nor A's survey among the choices.
            offered = f'value="{a.survey_id}"' in answer.text
            if answer.status_code not in (200, 403, 404) or offered or A_MARK in answer.text:
                text = " ".join(answer.text.split())[:150]
                failures.append(f"B's {role}: GET {url}: {answer.status_code} {text}")
    assert not failures, "\n".join(failures)
    _unchanged(site, objects)


BULK = {"/api/v1/cases/bulk", "/app/cases/bulk"}
"""Bulk changes skip ids that are not the organisation's (listed as missing) instead of
refusing the whole call: their answer may succeed, if it changes nothing of A."""


def test_bodies_naming_objects_of_organisation_a_are_refused(
    site: Site, objects: Objects, loops: dict[str, LoopObjects]
) -> None:
    a, b = site.world.a, site.world.b
    b_key = bearer(b.write_key)
    b_answers = site.client.get(f"/api/v1/surveys/{b.survey_id}/responses", headers=b_key)
    fresh_answer = next(r["id"] for r in b_answers.json()["items"] if r["id"] != b.response_id)
    callers = {
        "B's owner": session_headers(site.app, b.users["owner"]),
        "B's write key": b_key,
    }
    form = site.client.get("/app/invitations/new", headers=callers["B's owner"])
    form_key = re.search(r'name="form_key" value="([^"]+)"', form.text)
    assert form_key is not None, form.text
    attempts = [
        *_attempts(a, loops["a"], loops["b"], fresh_answer),
        *_page_attempts(a, b, objects.ids, form_key.group(1)),
    ]
    failures: list[str] = []
    for method, url, body in attempts:
        for who, headers in callers.items():
            if "key" in who and url.startswith("/app/"):
                continue  # the pages refuse keys outright
            answer = sound(_request(site, method, url, headers, body), f"{who}: {method} {url}")
            status, text = answer.status_code, " ".join(answer.text.split())[:150]
            if url in BULK:
                changed = status == 200 and answer.json()["updated"] != []
                wrong = changed or status not in (200, 303, 403, 404, 422)
            else:
                wrong = status not in (403, 404, 422)
            if wrong or A_MARK in answer.text:
                failures.append(f"{who}: {method} {url} {body}: {status} {text}")
    assert not failures, "\n".join(failures)
    _unchanged(site, objects)
    _case_unchanged(site, b, loops["b"].case_id, loops["b"].team_id)
    _teams_unchanged(site, b)
    mine = loops["b"]
    _rules_unchanged(site, b, mine.team_id, mine.webhook_endpoint_id)
    _webhooks_unchanged(site, b, mine.webhook_endpoint_id, mine.delivery_id, mine.secret)
    for org in (a, b):
        owner = session_headers(site.app, org.users["owner"])
        listed = site.client.get("/api/v1/cases", headers=owner)
        assert len(listed.json()["items"]) == 1, listed.text  # no case made by B's attempts
        endpoints = site.client.get("/api/v1/inbound-endpoints", headers=owner).json()["items"]
        assert [(e["name"], e["survey_id"]) for e in endpoints] == [("Helpdesk", org.survey_id)], (
            endpoints
        )
