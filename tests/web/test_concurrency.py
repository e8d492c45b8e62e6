"""Many clients at once: every 2xx is stored, repeats are not, and rollups stay exact."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx2
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import rollups
from cxpulse.store.models import Response

from .helpers import World, bearer

CLIENTS = 16
EACH = 8


async def _post_concurrently(
    app: FastAPI, url: str, bodies: list[dict[str, object]], key: str
) -> list[int]:
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="https://testserver") as client:

            async def send(body: dict[str, object]) -> int:
                answer = await client.post(url, json=body, headers=bearer(key))
                return answer.status_code

            return list(await asyncio.gather(*(send(body) for body in bodies)))


def test_concurrent_submissions_are_all_stored(
    app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses"
    bodies: list[dict[str, object]] = [
        {"score": 1 + n % 5, "channel": ("web", "email")[n % 2]} for n in range(CLIENTS * EACH)
    ]
    codes = asyncio.run(_post_concurrently(app, url, bodies, org.write_key))
    assert Counter(codes) == {201: CLIENTS * EACH}
    with db() as session:
        stored = session.scalar(select(func.count()).where(Response.survey_id == org.survey_id))
        assert stored == 10 + CLIENTS * EACH
        assert rollups.stored(session, org.id) == rollups.recount(session, org.id)


def test_concurrent_repeats_store_one_response(
    app: FastAPI, world: World, db: sessionmaker[Session]
) -> None:
    org = world.a
    url = f"/api/v1/surveys/{org.survey_id}/responses"
    bodies: list[dict[str, object]] = [{"score": 5, "idempotency_key": "same"}] * CLIENTS
    codes = asyncio.run(_post_concurrently(app, url, bodies, org.write_key))
    assert Counter(codes) == {201: 1, 200: CLIENTS - 1}
    with db() as session:
        stored = session.scalar(
            select(func.count()).where(
                Response.survey_id == org.survey_id, Response.idempotency_key == "same"
            )
        )
        assert stored == 1
        assert rollups.stored(session, org.id) == rollups.recount(session, org.id)
