"""Response and comment rates of a survey's invitations, counted from answers given through
the invitations' links."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act.worker import OutboxWorker
from cxpulse.store import responses

from ..helpers import World, bearer
from .mail_support import invitations_url

pytestmark = pytest.mark.usefixtures("no_inline_worker")


def test_response_rates_count_answers_through_invitations(
    client: TestClient,
    world: World,
    worker: OutboxWorker,
    db: sessionmaker[Session],
) -> None:
    key = bearer(world.a.write_key)
    items = [{"email": f"r{n}@example.com"} for n in range(4)]
    made = client.post(
        invitations_url(world.a.survey_id), json={"items": items}, headers=key
    ).json()["items"]
    worker.drain()
    with db() as session:
        for n, invitation in enumerate(made[:2]):
            responses.add_responses(
                session,
                world.a.id,
                [
                    responses.NewResponse(
                        survey_id=world.a.survey_id,
                        score=5,
                        comment="great" if n == 0 else None,
                        invitation_id=invitation["id"],
                        source="email",
                    )
                ],
            )
        session.commit()
    answer = client.get(
        f"/api/v1/surveys/{world.a.survey_id}/response-rates?period=month", headers=key
    )
    assert answer.status_code == 200, answer.text
    [row] = answer.json()["rows"]
    assert (row["invited"], row["sent"], row["answered"], row["commented"]) == (4, 4, 2, 1)
    assert row["response_rate"]["value"] == 0.5
    assert row["response_rate"]["low"] < 0.5 < row["response_rate"]["high"]
    assert row["comment_rate"]["value"] == 0.5
    assert row["period"] == datetime.now(UTC).strftime("%Y-%m")
    bad = client.get(f"/api/v1/surveys/{world.a.survey_id}/response-rates?period=hour", headers=key)
    assert bad.status_code == 422
