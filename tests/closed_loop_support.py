"""The closed loop assembled from its real parts, for the end-to-end tests: the app (its
API and pages, no worker of its own), the worker with every kind of the loop registered
(``act.loop``), a real SMTP server and two real webhook receivers on loopback (one checks
Standard Webhooks signatures, one takes Slack messages), and an organisation built like the
web tests' (``tests/web/helpers.py``) with its admin's and agent's browser headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from tests.act.conftest import Clock
from tests.smtp_server import SmtpTestServer, smtp_server
from tests.web.helpers import BASE_URL, Org, bearer, build_org, make_app, session_headers
from tests.web.routes.mail_support import Links
from tests.webhook_receiver import WebhookReceiver, webhook_receiver

from cxpulse.act import webhook_delivery
from cxpulse.act.outbox_worker import OutboxWorker
from cxpulse.collect.links import LinkSigner
from cxpulse.store.db import session_factory

SECRET_KEY = "test-key"
"""The app's key (``make_app``): the worker signs the invitations' links with it too."""


@dataclass
class Loop:
    engine: Engine
    app: FastAPI
    client: TestClient
    db: sessionmaker[Session]
    org: Org
    smtp: SmtpTestServer
    hooks: WebhookReceiver
    """Checks every request's signature: the standard endpoints'."""
    slack: WebhookReceiver
    """Keeps every request unverified: Slack messages are not signed."""
    clock: Clock
    workers: list[OutboxWorker] = field(default_factory=list)

    def worker(self) -> OutboxWorker:
        """A new worker process, as ``cxpulse worker`` starts one: the default registries
        (every kind of the loop), the app's link key, the test's clock. A new one also does
        at once what a running one does once a minute (queue the due sweeps)."""
        made = OutboxWorker(
            self.engine, self.smtp.settings(), LinkSigner(SECRET_KEY), clock=self.clock
        )
        self.workers.append(made)
        return made

    def admin(self) -> dict[str, str]:
        return session_headers(self.app, self.org.users["admin"])

    def as_user(self, role: str) -> dict[str, str]:
        return session_headers(self.app, self.org.users[role])

    def api(self, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
        """The JSON of a request that must succeed."""
        answer = self.client.request(method, path, headers=headers, **kw)
        assert answer.is_success, (method, path, answer.status_code, answer.text)
        return answer.json() if answer.content else None

    def submit(self, survey_id: int, **body: Any) -> int:
        """An answer through the public API with the write key; its id."""
        stored = self.api(
            "POST",
            f"/api/v1/surveys/{survey_id}/responses",
            bearer(self.org.write_key),
            json=body,
        )
        assert isinstance(stored["id"], int)
        return stored["id"]


@contextmanager
def closed_loop(engine: Engine) -> Iterator[Loop]:
    with ExitStack() as stack:
        app = make_app(engine, inline_worker=False)
        client = stack.enter_context(TestClient(app, base_url=BASE_URL))
        db = session_factory(engine)
        with db.begin() as session:
            org = build_org(session, "acme")
        loop = Loop(
            engine=engine,
            app=app,
            client=client,
            db=db,
            org=org,
            smtp=stack.enter_context(smtp_server()),
            hooks=stack.enter_context(webhook_receiver()),
            slack=stack.enter_context(webhook_receiver()),
            clock=Clock(),
        )
        # The organisation's earlier answers are handled before the test sets anything up,
        # as they would have been when they arrived.
        loop.worker().drain()
        try:
            yield loop
        finally:
            for worker in loop.workers:
                worker.connection.close()
            webhook_delivery.close_shared_poster()


def answer_path(html: str) -> str:
    """The path of the email's personal answer link without a score chosen (``/r/<token>``)."""
    parser = Links()
    parser.feed(html)
    paths = {urlsplit(href).path for href in parser.hrefs if "/r/" in href}
    assert len(paths) == 1, paths
    return paths.pop()


def form_token(page: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)
