"""Helpers of the web tests: an app on a test engine, two organisations, credentials."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cxpulse.config import Settings
from cxpulse.store import accounts, contacts, responses, security, surveys
from cxpulse.store.models import ROLES, User
from cxpulse.web import create_app
from cxpulse.web.routes import auth
from cxpulse.web.state import AppState
from cxpulse.web.tokens import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE

PASSWORD = "correct horse battery"
BASE_URL = "https://testserver"
"""https, so that the client sends the Secure session cookie back."""


@functools.cache
def password_hash() -> str:
    return security.hash_password(PASSWORD)


def make_app(engine: Engine, **options: Any) -> FastAPI:
    """The app on ``engine``; the login limit is high unless a test sets it, and comments
    are not analysed in the background (the tests that need analyses write or run them, so
    that nothing races them)."""
    chosen: dict[str, Any] = {
        "login_burst": 1000,
        "login_per_minute": 1000.0,
        "background_work": "off",
        **options,
    }
    url = engine.url.render_as_string(False)
    return create_app(Settings(database_url=url, secret_key="test-key", **chosen), engine)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def session_headers(
    app: FastAPI, user_id: int, *, csrf: bool = True, user_agent: str | None = None
) -> dict[str, str]:
    """Headers of a browser logged in as ``user_id``: both cookies and (optionally) the CSRF
    header, for a server-side session started exactly as POST /auth/login starts one."""
    state: AppState = app.state.cxpulse
    with state.sessions() as session:
        user = session.get(User, user_id)
        assert user is not None
        data, _ = auth.start_session(state, session, user, user_agent=user_agent, source="test")
        session.commit()
    headers = {
        "Cookie": f"{SESSION_COOKIE}={state.signer.dumps(data)}; {CSRF_COOKIE}={data.csrf_token}"
    }
    if csrf:
        headers[CSRF_HEADER] = data.csrf_token
    return headers


@dataclass
class Org:
    id: int
    slug: str
    users: dict[str, int] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    write_key: str = ""
    read_key: str = ""
    survey_id: int = 0
    contact_id: int = 0
    response_id: int = 0
    key_id: int = 0


@dataclass
class World:
    a: Org
    b: Org


def add_users(session: Session, org: Org) -> None:
    for role in ROLES:
        email = f"{role}@{org.slug}.example"
        user = User(
            organisation_id=org.id,
            email=email,
            role=role,
            name=f"{role.title()} of {org.slug}",
            password_hash=password_hash(),
        )
        session.add(user)
        session.flush()
        org.users[role] = user.id
        org.emails[role] = email


def build_org(session: Session, slug: str) -> Org:
    organisation = accounts.create_organisation(session, slug=slug, name=slug.title())
    org = Org(organisation.id, slug)
    add_users(session, org)
    write, org.write_key = accounts.create_api_key(
        session, org.id, name="write", scope="write", created_by=org.users["owner"]
    )
    org.key_id = write.id
    _, org.read_key = accounts.create_api_key(session, org.id, name="read", scope="read")
    survey = surveys.create_survey(
        session, org.id, slug="support-csat", name="Support CSAT", metric="csat", status="active"
    )
    org.survey_id = survey.id
    contact = contacts.create_contact(
        session, org.id, external_id="c-1", email="c1@example.com", attributes={"plan": "pro"}
    )
    org.contact_id = contact.id
    start = datetime(2025, 1, 1, 9, tzinfo=UTC)
    stored = responses.add_responses(
        session,
        org.id,
        [
            responses.NewResponse(
                survey_id=survey.id,
                score=float(1 + n % 5),
                submitted_at=start + timedelta(days=n),
                channel="email" if n % 2 else "chat",
                comment=f"comment {n}",
                properties={"team": "billing" if n % 3 else "tech"},
                contact_id=contact.id if n % 4 == 0 else None,
            )
            for n in range(10)
        ],
    )
    org.response_id = stored[0][0].id
    return org
