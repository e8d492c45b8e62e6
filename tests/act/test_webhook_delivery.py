"""Delivering webhooks (``act.webhook_delivery``) to a real HTTP receiver on loopback that
checks every signature, through the real worker, on SQLite and PostgreSQL: events arrive
signed; a receiver down for a while gets every event once it is back, each with its id; a
worker that dies holding a batch loses nothing; an endpoint that keeps failing is switched
off and its owners get an email at the real SMTP server; Slack and Teams messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer
from tests.webhook_receiver import WebhookReceiver, webhook_receiver

from cxpulse.act import events, webhook_delivery, webhook_emails
from cxpulse.act.jobs import JobRegistry
from cxpulse.act.outbox_worker import OutboxWorker
from cxpulse.act.tasks import TaskRegistry
from cxpulse.collect.links import LinkSigner
from cxpulse.store import outbox, webhooks
from cxpulse.store.models import Organisation, OutboxItem, User, WebhookDelivery, WebhookEndpoint

from .conftest import Clock


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def hooks(engine: Engine, server: SmtpTestServer, clock: Clock) -> Iterator[OutboxWorker]:
    """A worker that knows only the webhook task and its email."""
    tasks, jobs = TaskRegistry(), JobRegistry()
    webhook_delivery.register(tasks, jobs)
    made = OutboxWorker(
        engine,
        server.settings(),
        LinkSigner("k"),
        clock=clock,
        tasks=tasks,
        jobs=jobs,
        analyse_comments=False,
    )
    yield made
    made.connection.close()
    webhook_delivery.close_shared_poster()


def _endpoint(
    sessions: sessionmaker[Session],
    org: Organisation,
    receiver: WebhookReceiver,
    **fields: object,
) -> WebhookEndpoint:
    with sessions.begin() as session:
        endpoint = webhooks.create_endpoint(session, org.id, url=receiver.url, **fields)  # type: ignore[arg-type]
    if endpoint.format == "standard":
        receiver.secrets = [endpoint.secret]
    return endpoint


def _publish(sessions: sessionmaker[Session], org: Organisation, count: int) -> list[str]:
    ids = [f"msg_test{n}" for n in range(count)]
    with sessions.begin() as session:
        for n, event_id in enumerate(ids):
            events.publish(
                session, org.id, "response.created", {"response_id": n}, event_id=event_id
            )
    return ids


def _deliveries(sessions: sessionmaker[Session]) -> list[WebhookDelivery]:
    with sessions() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _rounds(worker: OutboxWorker, clock: Clock, count: int, step: timedelta) -> None:
    for _ in range(count):
        worker.run_tasks()
        clock.offset += step


def test_events_arrive_signed_once_per_subscribed_endpoint(
    sessions: sessionmaker[Session], org: Organisation, hooks: OutboxWorker
) -> None:
    with webhook_receiver() as everything, webhook_receiver() as cases_only:
        _endpoint(sessions, org, everything)
        _endpoint(sessions, org, cases_only, events=["case.created"])
        with sessions.begin() as session:
            assert events.publish(session, org.id, "response.created", {"response_id": 7}) == 1
            assert events.publish(session, org.id, "case.created", {"case_id": 3}) == 2
        assert hooks.run_tasks() == 3
        arrived = everything.wait_for(2)
        assert cases_only.wait_for(1)[0].json()["data"] == {"case_id": 3}
    assert everything.rejected == []
    assert {item.json()["type"] for item in arrived} == {"response.created", "case.created"}
    first = next(item for item in arrived if item.json()["type"] == "response.created")
    assert first.json()["data"] == {"response_id": 7}
    assert first.event_id.startswith("msg_")
    assert first.headers["content-type"] == "application/json"
    assert first.headers["webhook-signature"].startswith("v1,")
    for delivery in _deliveries(sessions):
        assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 1, 204)
        assert delivery.delivered_at is not None


def test_a_receiver_down_for_a_while_gets_every_event_with_its_id(
    sessions: sessionmaker[Session],
    org: Organisation,
    hooks: OutboxWorker,
    receiver: WebhookReceiver,
    clock: Clock,
) -> None:
    _endpoint(sessions, org, receiver)
    receiver.stop()
    published = _publish(sessions, org, 6)
    _rounds(hooks, clock, 3, timedelta(hours=1))
    down = _deliveries(sessions)
    assert {d.state for d in down} == {"failed"}
    assert {d.attempts for d in down} == {3}
    assert all(d.last_status is None and d.last_error for d in down)
    receiver.start()
    receiver.answer_next(2, 503)  # still starting up
    _rounds(hooks, clock, 3, timedelta(hours=1))
    receiver.wait_for(6)
    assert sorted(receiver.event_ids()) == sorted(published)
    assert receiver.rejected == []
    assert {d.state for d in _deliveries(sessions)} == {"delivered"}
    with sessions() as session:
        endpoint = session.scalars(select(WebhookEndpoint)).one()
        assert endpoint.consecutive_failures == 0
        assert endpoint.enabled


def test_a_worker_that_dies_holding_a_batch_loses_nothing(
    sessions: sessionmaker[Session],
    org: Organisation,
    hooks: OutboxWorker,
    receiver: WebhookReceiver,
    clock: Clock,
) -> None:
    _endpoint(sessions, org, receiver)
    published = _publish(sessions, org, 5)
    with sessions.begin() as session:  # a worker claims them, then dies
        claimed = outbox.claim(session, [webhook_delivery.KIND], lock_seconds=60, now=clock())
    assert len(claimed) == 5
    assert hooks.run_tasks() == 0  # their lock still holds
    clock.offset += timedelta(seconds=61)
    assert hooks.run_tasks() == 5
    receiver.wait_for(5)
    assert sorted(receiver.event_ids()) == sorted(published)


def test_a_worker_that_dies_after_posting_does_not_post_again(
    sessions: sessionmaker[Session],
    org: Organisation,
    hooks: OutboxWorker,
    receiver: WebhookReceiver,
    clock: Clock,
) -> None:
    _endpoint(sessions, org, receiver)
    _publish(sessions, org, 3)
    with sessions.begin() as session:
        claimed = outbox.claim(session, [webhook_delivery.KIND], lock_seconds=60, now=clock())
    # It posts and records the attempts, then dies before the outbox hears of it.
    webhook_delivery.deliver(hooks.tasks.context, claimed)
    receiver.wait_for(3)
    clock.offset += timedelta(seconds=61)
    assert hooks.run_tasks() == 3
    assert len(receiver.received) == 3
    with sessions() as session:
        states = set(session.scalars(select(OutboxItem.state)))
    assert states == {"sent"}


def _owner(sessions: sessionmaker[Session], org: Organisation, email: str) -> None:
    with sessions.begin() as session:
        session.add(
            User(organisation_id=org.id, email=email, name="Ana", role="owner", password_hash="h")
        )


def test_an_endpoint_failing_for_a_day_is_switched_off_and_its_owners_told(
    sessions: sessionmaker[Session],
    org: Organisation,
    hooks: OutboxWorker,
    receiver: WebhookReceiver,
    clock: Clock,
    server: SmtpTestServer,
) -> None:
    _owner(sessions, org, "ana@acme.example")
    endpoint = _endpoint(sessions, org, receiver)
    receiver.answer_next(1000, 500)
    published = _publish(sessions, org, 25)
    hooks.run_tasks()
    with sessions() as session:
        stored = session.get(WebhookEndpoint, endpoint.id)
        assert stored is not None
        assert (stored.enabled, stored.consecutive_failures) == (True, 25)  # not a day yet
    clock.offset += webhook_delivery.DISABLE_AFTER + timedelta(minutes=1)
    hooks.run_tasks()
    with sessions() as session:
        stored = session.get(WebhookEndpoint, endpoint.id)
        assert stored is not None
        assert not stored.enabled
        assert stored.disabled_reason is not None
        assert "50 failed attempts in a row" in stored.disabled_reason
        assert "HTTP 500" in stored.disabled_reason
    hooks.drain()
    (mail,) = server.wait_for(1)
    assert mail.recipients == ["ana@acme.example"]
    message = mail.parsed()
    assert message["Subject"] == webhook_emails.SUBJECT
    body = message.get_body(("plain",))
    assert body is not None
    assert receiver.url in body.get_content()
    assert f"https://cx.example/app/webhooks/{endpoint.id}" in body.get_content()
    # Switched off: what is due is not posted, but kept for a replay.
    clock.offset += timedelta(hours=7)
    posted = len(receiver.rejected) + len(receiver.received)
    hooks.run_tasks()
    assert len(receiver.rejected) + len(receiver.received) == posted
    given_up = _deliveries(sessions)
    assert {(d.state, d.last_status, d.attempts) for d in given_up} == {("dead", 500, 2)}
    assert {d.last_error for d in given_up} == {"the endpoint is switched off"}
    with sessions() as session:
        stored = session.get(WebhookEndpoint, endpoint.id)
        assert stored is not None
        assert stored.consecutive_failures == 50  # nothing was posted: no new failure
    # Back on and replayed: every event arrives with its id.
    receiver.answer_normally()
    with sessions.begin() as session:
        webhooks.update_endpoint(session, org.id, endpoint.id, enabled=True)
        assert webhooks.replay_failed(session, org.id, endpoint.id, now=clock()) == 25
    hooks.run_tasks()
    receiver.wait_for(25)
    assert sorted(receiver.event_ids()) == sorted(published)


def test_410_gone_switches_the_endpoint_off_at_once(
    sessions: sessionmaker[Session],
    org: Organisation,
    hooks: OutboxWorker,
    receiver: WebhookReceiver,
    server: SmtpTestServer,
) -> None:
    _owner(sessions, org, "ana@acme.example")
    endpoint = _endpoint(sessions, org, receiver)
    receiver.answer_next(1, 410)
    _publish(sessions, org, 1)
    hooks.run_tasks()
    with sessions() as session:
        stored = session.get(WebhookEndpoint, endpoint.id)
        assert stored is not None
        assert not stored.enabled
        assert "410 Gone" in (stored.disabled_reason or "")
        (delivery,) = session.scalars(select(WebhookDelivery))
        assert (delivery.state, delivery.last_status) == ("dead", 410)
    hooks.drain()
    assert len(server.wait_for(1)) == 1


def test_a_secret_rotation_signs_with_both_secrets(
    sessions: sessionmaker[Session],
    org: Organisation,
    hooks: OutboxWorker,
    receiver: WebhookReceiver,
) -> None:
    endpoint = _endpoint(sessions, org, receiver)
    old = endpoint.secret
    with sessions.begin() as session:
        new = webhooks.rotate_secret(session, org.id, endpoint.id).secret
    receiver.secrets = [old]  # the receiver has not switched yet
    _publish(sessions, org, 1)
    hooks.run_tasks()
    (item,) = receiver.wait_for(1)
    assert len(item.headers["webhook-signature"].split(" ")) == 2
    assert new != old


@pytest.mark.parametrize("format", ["slack", "teams"])
def test_notifications_reach_slack_and_teams_as_their_messages(
    sessions: sessionmaker[Session],
    org: Organisation,
    hooks: OutboxWorker,
    receiver: WebhookReceiver,
    format: str,
) -> None:
    endpoint = _endpoint(sessions, org, receiver, format=format)
    with sessions.begin() as session:
        assert events.notify_endpoint(
            session,
            org.id,
            endpoint.id,
            title="A detractor answered",
            text="Score 2 <b>& a comment</b>",
            link="https://cx.example/app/cases/4",
        )
    hooks.run_tasks()
    (item,) = receiver.wait_for(1)
    assert "webhook-signature" not in item.headers
    message = item.json()
    if format == "slack":
        assert message["text"].startswith("A detractor answered")
        assert "&lt;b&gt;&amp; a comment&lt;/b&gt;" in message["text"]
        kinds = [block["type"] for block in message["blocks"]]
        assert kinds == ["header", "section", "actions"]
        assert message["blocks"][2]["elements"][0]["url"] == "https://cx.example/app/cases/4"
    else:
        (attachment,) = message["attachments"]
        card = attachment["content"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert card["type"] == "AdaptiveCard"
        assert card["body"][0]["text"] == "A detractor answered"
        assert card["body"][1]["text"] == "Score 2 <b>& a comment</b>"
        assert card["actions"][0]["url"] == "https://cx.example/app/cases/4"
