"""The real app on the real database (both kinds, via ``engine`` from tests/conftest.py).

``world`` holds two organisations, each with one user per role, a write and a read API key,
a survey with responses, and a contact, so that access tests can try everything on both.
Users get a password hash computed once per test session (argon2 is slow on purpose);
requests authenticate with API keys or with session cookies minted by the app's own signer,
and the login tests log in for real.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.db import session_factory

from .helpers import BASE_URL, World, build_org, make_app


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return make_app(engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL) as opened:
        yield opened


@pytest.fixture
def db(engine: Engine) -> sessionmaker[Session]:
    """Sessions for arranging and checking data beside the app."""
    return session_factory(engine)


@pytest.fixture
def world(db: sessionmaker[Session]) -> World:
    with db() as session:
        result = World(build_org(session, "org-a"), build_org(session, "org-b"))
        session.commit()
    return result
