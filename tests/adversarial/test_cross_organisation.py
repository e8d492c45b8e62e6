"""Every route of the app, tried across organisations.

The routes come from the app itself (``app.routes``), so a route added later is in the
matrix without anyone listing it. Each is either public by design (the table ``PUBLIC``, with
the reason) or refuses an anonymous caller. Every signed-in route whose path names an object
(a survey, a response, a contact, a user, a key, an invitation, a goal) is called by each role
of organisation B and by both of B's API keys with the ids of organisation A's objects: the
answer must be 404 (or 403 when the role may not use the route at all), never a 2xx or a
redirect, never a 5xx, and never a body naming organisation A. Afterwards A's objects are
checked to be unchanged. Routes that list (no id) are read by B too, and must show nothing of
A. A route with a path parameter this file cannot fill, or a body it does not know (a 422),
fails the test until it is added to ``IDS`` or ``BODIES``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from tests.web.helpers import bearer, session_headers

from cxpulse.store.models import ROLES
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


@dataclass
class Objects:
    """Organisation A's objects, by path parameter."""

    ids: dict[str, int | str]

    def url(self, route: Route) -> str:
        missing = [p for p in route.params if p not in self.ids]
        assert not missing, (
            f"{route.method} {route.path}: no object of organisation A for {missing}; "
            "add one to IDS in tests/adversarial/test_cross_organisation.py"
        )
        return re.sub(r"{(\w+)(?::\w+)?}", lambda m: str(self.ids[m.group(1)]), route.path)


@pytest.fixture
def objects(site: Site) -> Objects:
    """A's objects; an invitation and a goal are made through A's own API."""
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
    ids: dict[str, int | str] = {}
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
            "format": "csv",
            "fmt": "csv",
            "name": "trend",  # a dashboard chart's image
            "organisation_slug": a.slug,
            "org_slug": a.slug,
            "survey_slug": "support-csat",
        }
    )


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
}
"""A valid body for each route that takes one, so that only the organisation decides."""


def _callers(site: Site) -> dict[str, dict[str, str]]:
    b = site.world.b
    callers = {f"B's {role}": session_headers(site.app, b.users[role]) for role in ROLES}
    callers["B's read key"] = bearer(b.read_key)
    callers["B's write key"] = bearer(b.write_key)
    return callers


def _send(site: Site, route: Route, url: str, headers: dict[str, str]) -> httpx.Response:
    body = dict(BODIES.get((route.method, route.path), {}))
    if "files" in body:  # a fresh file each time: a stream is read once
        body["files"] = {
            name: (fname, io.BytesIO(stream.getvalue()), kind)
            for name, (fname, stream, kind) in body["files"].items()
        }
    if "data" in body and CSRF_HEADER in headers:  # HTML forms carry the CSRF token
        body["data"] = {**body["data"], "csrf_token": headers[CSRF_HEADER]}
    return site.client.request(route.method, url, headers=headers, follow_redirects=False, **body)


def test_every_route_is_public_by_design_or_refuses_strangers(site: Site) -> None:
    assert not unclassified(site.app), unclassified(site.app)
    ids = Objects(
        {p: 1 for r in routes(site.app) for p in r.params} | dict.fromkeys(FORMATS, "csv")
    )
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
    assert len(listed["items"]) == 10, "B stored or deleted answers of A"
