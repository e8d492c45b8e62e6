"""Publishing events (``act.events``) on SQLite and PostgreSQL: one delivery per subscribed,
enabled endpoint in the caller's transaction, idempotent on the event id, nothing when the
cause is rolled back; notifications to one endpoint; test events."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import events
from cxpulse.store import accounts, webhooks
from cxpulse.store.models import Organisation, OutboxItem, WebhookDelivery


def _deliveries(session: Session) -> list[WebhookDelivery]:
    return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_publish_queues_one_delivery_per_subscribed_endpoint(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session:
        assert events.publish(session, org.id, "case.created", {"case_id": 1}) == 0
        a = webhooks.create_endpoint(session, org.id, url="https://a.example")
        webhooks.create_endpoint(session, org.id, url="https://b.example", events=["alert.fired"])
        off = webhooks.create_endpoint(session, org.id, url="https://c.example")
        webhooks.update_endpoint(session, org.id, off.id, enabled=False)
        assert events.publish(session, org.id, "case.created", {"case_id": 1}) == 1
    with sessions() as session:
        (delivery,) = _deliveries(session)
        assert delivery.endpoint_id == a.id
        assert delivery.event_id.startswith("msg_")
        assert len(delivery.event_id) == 26
        assert delivery.payload["type"] == "case.created"
        assert delivery.payload["data"] == {"case_id": 1}
        assert delivery.payload["timestamp"].endswith("Z")
        (item,) = session.scalars(select(OutboxItem))
        assert (item.kind, item.payload) == ("webhook", {"delivery_id": delivery.id})


def test_the_same_event_id_is_queued_once_and_a_rollback_queues_nothing(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session:
        webhooks.create_endpoint(session, org.id, url="https://a.example")
    with sessions.begin() as session:
        assert events.publish(session, org.id, "alert.fired", {}, event_id="msg_alert_7") == 1
        assert events.publish(session, org.id, "alert.fired", {}, event_id="msg_alert_7") == 0
    with sessions() as session:
        events.publish(session, org.id, "alert.fired", {"x": 1})
        session.rollback()
    with sessions() as session:
        assert [d.event_id for d in _deliveries(session)] == ["msg_alert_7"]
        assert len(session.scalars(select(OutboxItem)).all()) == 1


def test_a_batch_of_events_is_two_statements_per_endpoint_once_each(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    """``publish_many``: every event for its organisation's endpoints, in two statements
    for the whole batch; an event id stored before is not queued again; a bad type or id
    anywhere stores nothing."""
    with sessions.begin() as session:
        other = accounts.create_organisation(session, slug="other", name="Other").id
        a = webhooks.create_endpoint(session, org.id, url="https://a.example").id
        b = webhooks.create_endpoint(session, org.id, url="https://b.example").id
        c = webhooks.create_endpoint(session, other, url="https://c.example").id
        events.publish(session, org.id, "response.created", {"id": 0}, event_id="response-0")
    batch = [
        events.Publication(org.id, "response.created", {"id": n}, f"response-{n}", [a, b])
        for n in range(25)
    ] + [
        events.Publication(other, "response.created", {"id": 99}, "response-99", [c]),
        events.Publication(other, "response.created", {"id": 98}, "response-98", []),
    ]
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with sessions.begin() as session:
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            # Response 0 was published before, to both endpoints: 24 new ones twice, one more.
            assert events.publish_many(session, batch) == 24 * 2 + 1
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("INSERT")]) == 2
    with sessions() as session:
        found = _deliveries(session)
        assert len(found) == 25 * 2 + 1
        assert {
            (d.organisation_id, d.endpoint_id) for d in found if d.event_id == "response-99"
        } == {(other, c)}
        assert found[-1].payload["data"] == {"id": 99}
        items = session.scalars(select(OutboxItem)).all()
        assert sorted(i.payload["delivery_id"] for i in items) == sorted(d.id for d in found)
        assert {i.organisation_id for i in items if i.payload["delivery_id"] == found[-1].id} == {
            other
        }
    for bad in (
        events.Publication(org.id, "case.deleted", {}, "response-100", [a]),
        events.Publication(org.id, "response.created", {}, "response.100", [a]),
    ):
        fresh = events.Publication(org.id, "response.created", {}, "response-50", [a])
        with sessions.begin() as session, pytest.raises(ValueError, match=r"event type|event id"):
            events.publish_many(session, [fresh, bad])
    with sessions() as session:
        assert len(_deliveries(session)) == 25 * 2 + 1


def test_unknown_types_and_bad_ids_are_refused(session: Session, org: Organisation) -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        events.publish(session, org.id, "case.deleted", {})
    with pytest.raises(ValueError, match="event id"):
        events.publish(session, org.id, "case.created", {}, event_id="msg.1")


def test_a_notification_goes_to_the_one_endpoint_named(session: Session, org: Organisation) -> None:
    other = accounts.create_organisation(session, slug="globex", name="Globex")
    slack = webhooks.create_endpoint(
        session,
        org.id,
        url="https://hooks.slack.example/x",
        format="slack",
        events=["case.created"],
    )
    assert events.notify_endpoint(
        session, org.id, slack.id, title="Detractor", text="Score 1", link="https://cx.example/c/1"
    )
    assert not events.notify_endpoint(session, other.id, slack.id, title="t", text="x")
    assert not events.notify_endpoint(session, org.id, 987654, title="t", text="x")
    webhooks.update_endpoint(session, org.id, slack.id, enabled=False)
    assert not events.notify_endpoint(session, org.id, slack.id, title="t", text="x")
    (delivery,) = _deliveries(session)
    assert delivery.event_type == "notification"
    assert delivery.payload["data"] == {
        "title": "Detractor",
        "text": "Score 1",
        "link": "https://cx.example/c/1",
        "details": {},
    }


def test_a_test_event_goes_to_one_endpoint(session: Session, org: Organisation) -> None:
    a = webhooks.create_endpoint(session, org.id, url="https://a.example", events=["case.created"])
    webhooks.create_endpoint(session, org.id, url="https://b.example")
    delivery_id = events.send_test(session, org.id, a.id)
    (delivery,) = _deliveries(session)
    assert (delivery.id, delivery.endpoint_id, delivery.event_type) == (
        delivery_id,
        a.id,
        "webhook.test",
    )
