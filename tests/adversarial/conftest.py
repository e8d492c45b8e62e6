"""The real app on the real database (both kinds), with two organisations (``World``).

The fixtures mirror tests/web/conftest.py and take every helper from the one module
``tests.web.helpers``: users' password hashes and the session cookies minted for them must
come from the same copy of that module (a second copy computes another hash, and the cookies
it signs are refused). The public rate limits are lifted, since one test sends hundreds of
answers from the same address; the limits themselves are tested in tests/web.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from tests.web.helpers import BASE_URL, World, build_org, make_app

from cxpulse.store.db import session_factory

from .site import Site

UNLIMITED = {"public_burst": 1_000_000, "public_per_minute": 1_000_000.0}


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return make_app(engine, **UNLIMITED)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL) as opened:
        yield opened


@pytest.fixture
def db(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def world(db: sessionmaker[Session]) -> World:
    with db() as session:
        result = World(build_org(session, "org-a"), build_org(session, "org-b"))
        session.commit()
    return result


@pytest.fixture
def site(app: FastAPI, client: TestClient, db: sessionmaker[Session], world: World) -> Site:
    return Site(app, client, db, world)
