"""The open-tracking pixel: an email carries it only when its survey tracks opens, and
fetching it records the first open."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.act.worker import OutboxWorker
from cxpulse.store.models import Invitation

from ..helpers import World, bearer
from .mail_support import Links, email_parts, invitations_url, survey_row

pytestmark = pytest.mark.usefixtures("no_inline_worker")


def test_open_pixel_only_when_tracking_is_on(
    client: TestClient,
    world: World,
    worker: OutboxWorker,
    server: SmtpTestServer,
    db: sessionmaker[Session],
) -> None:
    with db() as session:
        survey_row(session, world.a.survey_id).collect_options = {"track_opens": True}
        session.commit()
    key = bearer(world.a.write_key)
    made = client.post(
        invitations_url(world.a.survey_id), json={"email": "o@example.com"}, headers=key
    )
    worker.drain()
    parser = Links()
    parser.feed(email_parts(server.wait_for(1)[0].parsed())[1])
    [pixel] = parser.images
    answer = client.get(urlsplit(pixel).path)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/gif"
    with db() as session:
        invitation = session.get(Invitation, made.json()["items"][0]["id"])
        assert invitation is not None
        assert invitation.opened_at is not None
