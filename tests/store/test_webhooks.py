"""Webhook endpoints and deliveries (``store.webhooks``) on SQLite and PostgreSQL: the URL
rule, the secret, updates and rotation, the delivery log's keyset pages and state filter,
health counters, replays, and organisations kept apart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store import webhooks
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Organisation, OutboxItem, WebhookDelivery
from cxpulse.store.types import utc_now


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/cx",
        "https://10.0.0.5:8443/hook?x=1",
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]:9000/",
    ],
)
def test_urls_taken(url: str) -> None:
    assert webhooks.check_url(f"  {url} ") == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "is required"),
        ("http://hooks.example.com/cx", "must use https://"),
        ("ftp://example.com/", "must start with https://"),
        ("https:///path", "must start with https://"),
        ("hooks.example.com/cx", "must start with https://"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https://example.com/a b", "spaces"),
        ("https://example.com:99999/", "not a valid URL"),
        ("https://example.com/" + "a" * 2000, "at most 2000"),
        (42, "must be text"),
    ],
)
def test_urls_refused(url: object, message: str) -> None:
    with pytest.raises(Invalid, match=message) as caught:
        webhooks.check_url(url)
    assert caught.value.field == "url"


def test_an_endpoint_gets_a_secret_and_checked_fields(session: Session, org: Organisation) -> None:
    endpoint = webhooks.create_endpoint(
        session,
        org.id,
        url="https://hooks.example.com/cx",
        description="  CRM   sync ",
        events=["case.created", "case.created", "alert.fired"],
    )
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.description == "CRM sync"
    assert endpoint.events == {"types": ["case.created", "alert.fired"]}
    assert endpoint.enabled
    other = webhooks.create_endpoint(session, org.id, url="https://hooks.example.com/b")
    assert other.secret != endpoint.secret
    with pytest.raises(Invalid, match="is not one of") as caught:
        webhooks.create_endpoint(session, org.id, url="https://x.example", events=["case.made"])
    assert caught.value.field == "events"
    with pytest.raises(Invalid, match="must be one of"):
        webhooks.create_endpoint(session, org.id, url="https://x.example", format="discord")


def test_subscriptions_updates_and_switching_off(session: Session, org: Organisation) -> None:
    everything = webhooks.create_endpoint(session, org.id, url="https://a.example")
    cases = webhooks.create_endpoint(
        session, org.id, url="https://b.example", events=["case.created"]
    )
    assert webhooks.subscribed(session, org.id, "case.created") == [everything.id, cases.id]
    assert webhooks.subscribed(session, org.id, "alert.fired") == [everything.id]
    webhooks.update_endpoint(session, org.id, everything.id, enabled=False)
    assert everything.disabled_reason == "switched off by a person"
    assert webhooks.subscribed(session, org.id, "case.created") == [cases.id]
    everything.consecutive_failures = 30
    webhooks.update_endpoint(session, org.id, everything.id, enabled=True, url="https://c.example")
    assert (everything.enabled, everything.consecutive_failures) == (True, 0)
    assert everything.disabled_reason is None
    assert everything.url == "https://c.example"
    with pytest.raises(Invalid, match="cannot be changed"):
        webhooks.update_endpoint(session, org.id, everything.id, secret="whsec_x")
    with pytest.raises(Invalid, match="true or false"):
        webhooks.update_endpoint(session, org.id, everything.id, enabled="yes")


def test_rotation_keeps_the_previous_secret_for_a_day(session: Session, org: Organisation) -> None:
    endpoint = webhooks.create_endpoint(session, org.id, url="https://a.example")
    first = endpoint.secret
    now = utc_now()
    webhooks.rotate_secret(session, org.id, endpoint.id, now=now)
    assert endpoint.secret != first
    assert endpoint.previous_secret == first
    assert endpoint.previous_secret_until == now + webhooks.ROTATION_OVERLAP
    (delivery_id,) = webhooks.add_deliveries(
        session, org.id, [endpoint.id], event_id="msg_1", event_type="case.created", payload={}
    )
    jobs = webhooks.load_jobs(session, [delivery_id], now)
    assert jobs[delivery_id].secrets == (endpoint.secret, first)
    later = webhooks.load_jobs(session, [delivery_id], now + timedelta(hours=25))
    assert later[delivery_id].secrets == (endpoint.secret,)


def test_an_event_is_stored_and_queued_once_per_endpoint(
    session: Session, org: Organisation
) -> None:
    endpoint = webhooks.create_endpoint(session, org.id, url="https://a.example")
    for _ in range(2):
        webhooks.add_deliveries(
            session, org.id, [endpoint.id], event_id="msg_a", event_type="case.created", payload={}
        )
    assert len(session.scalars(select(WebhookDelivery)).all()) == 1
    assert session.scalars(select(OutboxItem.kind)).all() == ["webhook"]


def _log(session: Session, org: Organisation, count: int) -> int:
    endpoint = webhooks.create_endpoint(session, org.id, url="https://a.example")
    start = utc_now() - timedelta(hours=1)
    for n in range(count):
        webhooks.add_deliveries(
            session,
            org.id,
            [endpoint.id],
            event_id=f"msg_{n}",
            event_type="case.created",
            payload={"n": n},
            now=start + timedelta(seconds=n // 2),  # pairs share a moment
        )
    return endpoint.id


def test_the_log_pages_by_keyset_newest_first(session: Session, org: Organisation) -> None:
    endpoint_id = _log(session, org, 7)
    seen: list[str] = []
    after = None
    while True:
        page = webhooks.list_deliveries(session, org.id, endpoint_id, after=after, limit=3)
        seen += [delivery.event_id for delivery in page]
        if len(page) < 3:
            break
        after = webhooks.cursor_of(page[-1])
    assert seen == [f"msg_{n}" for n in reversed(range(7))]


def test_the_state_filter_health_and_replays(session: Session, org: Organisation) -> None:
    endpoint_id = _log(session, org, 4)
    rows = webhooks.list_deliveries(session, org.id, endpoint_id)
    rows[0].state, rows[0].last_error = "dead", "HTTP 500"
    rows[1].state = "failed"
    rows[2].state, rows[2].delivered_at = "delivered", utc_now()
    session.flush()
    failing = webhooks.list_deliveries(session, org.id, endpoint_id, states=["failed", "dead"])
    assert [d.id for d in failing] == [rows[0].id, rows[1].id]
    with pytest.raises(Invalid, match="must be one of"):
        webhooks.list_deliveries(session, org.id, endpoint_id, states=["lost"])
    health = webhooks.health(session, org.id)[endpoint_id]
    assert health.counts == {"pending": 1, "delivered": 1, "failed": 1, "dead": 1}
    assert health.last_delivered_at is not None
    assert health.last_error == "HTTP 500"
    queued_before = len(session.scalars(select(OutboxItem)).all())
    assert webhooks.replay_failed(session, org.id, endpoint_id) == 2
    assert webhooks.replay_failed(session, org.id, endpoint_id) == 0
    webhooks.replay(session, org.id, rows[2].id)
    webhooks.replay(session, org.id, rows[2].id)  # twice before an attempt: queued once
    assert len(session.scalars(select(OutboxItem)).all()) == queued_before + 3
    assert {d.state for d in webhooks.list_deliveries(session, org.id, endpoint_id)} == {"pending"}


def test_organisations_are_kept_apart(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    endpoint_id = _log(session, org, 1)
    (delivery,) = webhooks.list_deliveries(session, org.id, endpoint_id)
    for call in (
        lambda: webhooks.get_endpoint(session, other_org.id, endpoint_id),
        lambda: webhooks.update_endpoint(session, other_org.id, endpoint_id, enabled=False),
        lambda: webhooks.delete_endpoint(session, other_org.id, endpoint_id),
        lambda: webhooks.rotate_secret(session, other_org.id, endpoint_id),
        lambda: webhooks.list_deliveries(session, other_org.id, endpoint_id),
        lambda: webhooks.replay(session, other_org.id, delivery.id),
        lambda: webhooks.replay_failed(session, other_org.id, endpoint_id),
    ):
        with pytest.raises(NotFound):
            call()
    assert webhooks.list_endpoints(session, other_org.id) == []
    assert webhooks.subscribed(session, other_org.id, "case.created") == []
    assert webhooks.health(session, other_org.id) == {}


def test_an_organisation_has_at_most_twenty_endpoints(session: Session, org: Organisation) -> None:
    for n in range(webhooks.MAX_ENDPOINTS):
        webhooks.create_endpoint(session, org.id, url=f"https://{n}.example")
    with pytest.raises(Invalid, match="at most 20 endpoints"):
        webhooks.create_endpoint(session, org.id, url="https://one-more.example")
