"""The app under attack, as the adversarial tests reach it: the client, organisation A's
credentials, a fresh survey per example, and the checks every answer must pass."""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from tests.web.helpers import World, bearer, session_headers

from cxpulse.store import responses, surveys

SHOP = "https://shop.example"
"""The one site allowed to show the widget of every fresh survey."""
MARK = "Zq9"
"""In the middle of every generated value: the text searched for, whatever surrounds it."""
BASELINE_COMMENT = "baseline answer Zq0"
TRACEBACK_SIGNS = (
    "Traceback (most recent call last)",
    "sqlalchemy.exc",
    "psycopg.errors",
    "OperationalError",
    "RecursionError",
)

Loc = Sequence[str | int]

_slugs = itertools.count(1)


@dataclass(frozen=True)
class Target:
    """A fresh, active survey of organisation A with one answer from an hour ago."""

    id: int
    slug: str
    baseline_id: int
    baseline_at: datetime


def sound(response: httpx.Response, what: str) -> httpx.Response:
    """``response`` unless it is a server error or shows a traceback."""
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:500]}"
    text = response.text
    for sign in TRACEBACK_SIGNS:
        assert sign not in text, f"{what}: the answer shows {sign!r}: {text[:500]}"
    return response


def field_refusal(response: httpx.Response, what: str, *prefixes: Loc) -> None:
    """A 422 whose detail names the field: some entry's loc starts with one of ``prefixes``,
    and every entry carries a message."""
    assert response.status_code == 422, f"{what}: {response.status_code} {response.text[:500]}"
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    assert detail, f"{what}: a 422 without any field"
    assert all(isinstance(e.get("msg"), str) and e["msg"] for e in detail), detail
    locs = [list(entry["loc"]) for entry in detail]
    assert any(loc[: len(p)] == list(p) for loc in locs for p in prefixes), (
        f"{what}: no entry names {[list(p) for p in prefixes]}: {detail}"
    )


class Site:
    """The app with organisation A's owner signed in, and a write key of A."""

    def __init__(
        self, app: FastAPI, client: TestClient, db: sessionmaker[Session], world: World
    ) -> None:
        self.app, self.client, self.db, self.world = app, client, db, world

    @functools.cached_property
    def owner(self) -> dict[str, str]:
        return session_headers(self.app, self.world.a.users["owner"])

    @property
    def key(self) -> dict[str, str]:
        return bearer(self.world.a.write_key)

    @property
    def org_slug(self) -> str:
        return self.world.a.slug

    @contextlib.contextmanager
    def survey(self, metric: str = "csat") -> Iterator[Target]:
        """A survey of its own for one example, so that its pages show that example only;
        deleted afterwards with its answers, so that what one example stored cannot break
        the organisation's pages for the next (as a 9999 date does)."""
        target = self._create(metric)
        try:
            yield target
        finally:
            with self.db() as session:
                surveys.delete_survey(session, self.world.a.id, target.id)
                session.commit()

    def _create(self, metric: str) -> Target:
        slug = f"adversarial-{next(_slugs)}"
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        with self.db() as session:
            survey = surveys.create_survey(
                session,
                self.world.a.id,
                slug=slug,
                name=f"Survey {slug}",
                metric=metric,
                status="active",
                collect_options={"allowed_origins": [SHOP]},
            )
            ((baseline, _),) = responses.add_responses(
                session,
                self.world.a.id,
                [
                    responses.NewResponse(
                        survey_id=survey.id,
                        score=3.0,
                        submitted_at=at,
                        comment=BASELINE_COMMENT,
                        channel="email",
                    )
                ],
            )
            session.commit()
            return Target(survey.id, slug, baseline.id, at)

    def get(self, path: str, params: Any = None, **headers: str) -> httpx.Response:
        """GET as A's owner, checked by ``sound``."""
        answer = self.client.get(path, params=params, headers={**self.owner, **headers})
        return sound(answer, f"GET {path} {params or ''}")

    def stored(self, target: Target) -> list[dict[str, Any]]:
        """The survey's responses as the API gives them, without the baseline answer."""
        answer = self.get(f"/api/v1/surveys/{target.id}/responses", {"limit": 1000})
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return [item for item in items if item["id"] != target.baseline_id]
