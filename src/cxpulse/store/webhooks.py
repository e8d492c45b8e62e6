"""Webhook endpoints and their delivery log, one organisation at a time.

An endpoint's secret is generated here (``secrets``) and stored as it is, not hashed: it must
be at hand to sign every request. It is shown to people once, when it is made or rotated.
The rules of an endpoint's URL (``check_url``) are the same for the API and the pages.

Deliveries are the log: one row per event and endpoint (unique on both, so publishing an
event twice stores it once), with the last attempt's status and error. Each delivery
waiting for an attempt has an outbox item of kind ``webhook`` (``queue``), the work of
``act.webhook_delivery``.

One module of about 650 lines on purpose: the endpoints, their log and what the sender reads
and records share one scoping (an organisation's endpoint and its deliveries), the outbox
key and the failure counters, and are read together by the API, the pages and the sender.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast, get_args
from urllib.parse import urlsplit

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from cxpulse.store import _values as values
from cxpulse.store import outbox, prebuilt, scoped
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.keyset import after_key
from cxpulse.store.models import (
    DELIVERY_STATES,
    WEBHOOK_FORMATS,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from cxpulse.store.types import utc_now

EventType = Literal[
    "response.created",
    "response.updated",
    "case.created",
    "case.updated",
    "alert.fired",
    "theme.spiked",
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
"""What an endpoint may subscribe to (``EventType`` is also the API's schema of them). Two
more types are sent without subscription: a rule's ``notification`` to the endpoint it
names, and ``webhook.test`` on request."""
OUTBOX_KIND = "webhook"
_DELIVERIES = cast(Table, WebhookDelivery.__table__)
_ADD_DELIVERIES = prebuilt.insert_ignoring(
    _DELIVERIES, ["endpoint_id", "event_id"], [_DELIVERIES.c.id, _DELIVERIES.c.organisation_id]
)
MAX_ENDPOINTS = 20
"""Per organisation: each event is stored once per endpoint, on the path of every answer."""
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 200
SECRET_PREFIX = "whsec_"  # noqa: S105 - the standard's prefix, not a secret
SECRET_BYTES = 32
ROTATION_OVERLAP = timedelta(hours=24)
"""How long the previous secret keeps signing after a rotation, so receivers can switch."""
FAILING_STATES = ("failed", "dead")
LOOPBACK_NAMES = ("localhost",)


def new_secret() -> str:
    """``whsec_`` and the base64 of 32 random bytes (the Standard Webhooks form)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: object) -> str:
    """The endpoint URL as stored; Invalid (on ``url``) unless it is an absolute https URL
    without credentials, or plain http to a loopback host (a receiver on the same machine)."""
    if not isinstance(url, str):
        raise Invalid("url", "must be text")
    text = url.strip()
    if not text:
        raise Invalid("url", "is required")
    if len(text) > MAX_URL_LENGTH:
        raise Invalid("url", f"must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise Invalid("url", "must not contain spaces or control characters")
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        raise Invalid("url", "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise Invalid("url", "must start with https:// and name a host")
    if parts.username is not None or parts.password is not None:
        raise Invalid("url", "must not hold a user name or password (they would be logged)")
    if parts.scheme == "http" and not _is_loopback(host):
        raise Invalid("url", "must use https:// (plain http only to localhost)")
    return text


def check_types(types: Iterable[object]) -> list[str]:
    """The subscribed event types, each known, without repeats; empty means all."""
    kept: list[str] = []
    for index, name in enumerate(types):
        if not isinstance(name, str) or name not in EVENT_TYPES:
            known = ", ".join(EVENT_TYPES)
            raise Invalid("events", f"{str(name)[:40]!r} is not one of {known}", index=index)
        if name not in kept:
            kept.append(name)
    return kept


def _description(text: object) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise Invalid("description", "must be text")
    kept = " ".join(text.split())
    problem = values.text_problem(kept)
    if problem is not None:
        raise Invalid("description", problem)
    if len(kept) > MAX_DESCRIPTION_LENGTH:
        raise Invalid("description", f"must be at most {MAX_DESCRIPTION_LENGTH} characters")
    return kept or None


# -- endpoints ---------------------------------------------------------------------------------


def create_endpoint(
    session: Session,
    organisation_id: int,
    *,
    url: str,
    format: str = "standard",
    description: str | None = None,
    events: Iterable[str] = (),
) -> WebhookEndpoint:
    """A new enabled endpoint with a fresh secret (read it from the result: it is shown once)."""
    if format not in WEBHOOK_FORMATS:
        raise Invalid("format", f"must be one of {', '.join(WEBHOOK_FORMATS)}")
    endpoint = WebhookEndpoint(
        organisation_id=organisation_id,
        url=check_url(url),
        format=format,
        description=_description(description),
        events={"types": check_types(events)},
        secret=new_secret(),
        enabled=True,
        consecutive_failures=0,
    )
    if count_endpoints(session, organisation_id) >= MAX_ENDPOINTS:
        raise Invalid("url", f"an organisation has at most {MAX_ENDPOINTS} endpoints")
    session.add(endpoint)
    session.flush()
    return endpoint


def count_endpoints(session: Session, organisation_id: int) -> int:
    query = select(func.count()).where(WebhookEndpoint.organisation_id == organisation_id)
    return int(session.scalar(query) or 0)


def list_endpoints(session: Session, organisation_id: int) -> list[WebhookEndpoint]:
    query = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organisation_id == organisation_id)
        .order_by(WebhookEndpoint.id)
    )
    return list(session.scalars(query))


def get_endpoint(session: Session, organisation_id: int, endpoint_id: int) -> WebhookEndpoint:
    return scoped.get_one(
        session,
        WebhookEndpoint,
        organisation_id,
        WebhookEndpoint.id == endpoint_id,
        entity="webhook endpoint",
        key=endpoint_id,
    )


def update_endpoint(
    session: Session, organisation_id: int, endpoint_id: int, **changes: Any
) -> WebhookEndpoint:
    """Change ``url``, ``description``, ``events`` or ``enabled``; enabling a disabled
    endpoint clears its failures (replay what it missed with ``replay_failed``)."""
    endpoint = get_endpoint(session, organisation_id, endpoint_id)
    unknown = set(changes) - {"url", "description", "events", "enabled"}
    if unknown:
        raise Invalid(sorted(unknown)[0], "cannot be changed")
    if "url" in changes:
        endpoint.url = check_url(changes["url"])
    if "description" in changes:
        endpoint.description = _description(changes["description"])
    if "events" in changes:
        endpoint.events = {"types": check_types(changes["events"] or ())}
    if "enabled" in changes:
        enabled = changes["enabled"]
        if not isinstance(enabled, bool):
            raise Invalid("enabled", "must be true or false")
        if enabled and not endpoint.enabled:
            endpoint.consecutive_failures = 0
            endpoint.disabled_reason = None
        elif not enabled and endpoint.enabled:
            endpoint.disabled_reason = "switched off by a person"
        endpoint.enabled = enabled
    session.flush()
    return endpoint


def delete_endpoint(session: Session, organisation_id: int, endpoint_id: int) -> None:
    """The endpoint and its log (the outbox items left are dropped when their turn comes)."""
    session.delete(get_endpoint(session, organisation_id, endpoint_id))
    session.flush()


def rotate_secret(
    session: Session,
    organisation_id: int,
    endpoint_id: int,
    *,
    now: datetime | None = None,
    overlap: timedelta = ROTATION_OVERLAP,
) -> WebhookEndpoint:
    """A new secret; the old one keeps signing beside it for ``overlap``."""
    endpoint = get_endpoint(session, organisation_id, endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = (now or utc_now()) + overlap
    endpoint.secret = new_secret()
    session.flush()
    return endpoint


def subscribed(session: Session, organisation_id: int, event_type: str) -> list[int]:
    """The ids of the organisation's enabled endpoints that take ``event_type``, in the
    order they were made (without an ORDER BY, PostgreSQL may return them in any order its
    plan reads them)."""
    rows = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events)
        .where(
            WebhookEndpoint.organisation_id == organisation_id,
            WebhookEndpoint.enabled.is_(True),
        )
        .order_by(WebhookEndpoint.id)
    ).all()
    return [
        endpoint_id
        for endpoint_id, events in rows
        if not (events or {}).get("types") or event_type in events["types"]
    ]


# -- deliveries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewEvent:
    """One event to store for some endpoints of one organisation."""

    organisation_id: int
    endpoint_ids: Collection[int]
    event_id: str
    event_type: str
    payload: Mapping[str, Any]


def add_deliveries(
    session: Session,
    organisation_id: int,
    endpoint_ids: Collection[int],
    *,
    event_id: str,
    event_type: str,
    payload: Mapping[str, Any],
    now: datetime | None = None,
) -> list[int]:
    """Store the event for each endpoint that has not got it yet and queue those deliveries;
    the new deliveries' ids."""
    event = NewEvent(organisation_id, endpoint_ids, event_id, event_type, payload)
    return add_events(session, [event], now=now)


def add_events(
    session: Session, new_events: Sequence[NewEvent], *, now: datetime | None = None
) -> list[int]:
    """``add_deliveries`` for many events at once (a batch of answers' ``response.created``):
    two statements for all of them; the new deliveries' ids."""
    moment = now or utc_now()
    rows = [
        {
            "organisation_id": event.organisation_id,
            "endpoint_id": endpoint_id,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "payload": dict(event.payload),
            "state": "pending",
            "attempts": 0,
            "created_at": moment,
        }
        for event in new_events
        for endpoint_id in event.endpoint_ids
    ]
    if not rows:
        return []
    # Built once, on the table, rows as parameters (``store.prebuilt``): this runs for
    # every batch of answers.
    statement = _ADD_DELIVERIES[session.get_bind().dialect.name]
    added = session.connection().execute(statement, rows).all()
    # New deliveries have new keys: one insert for all, no check for a taken key.
    outbox.enqueue_many(
        session,
        [
            {
                "organisation_id": organisation_id,
                "kind": OUTBOX_KIND,
                "dedupe_key": f"{OUTBOX_KIND}:{delivery_id}",
                "payload": {"delivery_id": delivery_id},
                "available_at": moment,
            }
            for delivery_id, organisation_id in added
        ],
    )
    return [int(delivery_id) for delivery_id, _ in added]


def queue(
    session: Session,
    organisation_id: int,
    delivery_ids: Iterable[int],
    *,
    round_key: str,
    now: datetime | None = None,
) -> None:
    """An outbox item for each delivery, once per ``round_key`` (a replay's: the outbox
    keeps one item per key)."""
    moment = now or utc_now()
    for delivery_id in delivery_ids:
        key = f"{OUTBOX_KIND}:{delivery_id}:{round_key}"
        outbox.enqueue(
            session,
            organisation_id,
            OUTBOX_KIND,
            key,
            {"delivery_id": delivery_id},
            available_at=moment,
        )


def get_delivery(session: Session, organisation_id: int, delivery_id: int) -> WebhookDelivery:
    return scoped.get_one(
        session,
        WebhookDelivery,
        organisation_id,
        WebhookDelivery.id == delivery_id,
        entity="webhook delivery",
        key=delivery_id,
    )


def list_deliveries(
    session: Session,
    organisation_id: int,
    endpoint_id: int,
    *,
    states: Collection[str] = (),
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> list[WebhookDelivery]:
    """The endpoint's deliveries, newest first, from after the cursor ``after``."""
    get_endpoint(session, organisation_id, endpoint_id)
    bad = next((state for state in states if state not in DELIVERY_STATES), None)
    if bad is not None:
        raise Invalid("state", f"must be one of {', '.join(DELIVERY_STATES)}")
    query = select(WebhookDelivery).where(
        WebhookDelivery.organisation_id == organisation_id,
        WebhookDelivery.endpoint_id == endpoint_id,
    )
    if states:
        query = query.where(WebhookDelivery.state.in_(list(states)))
    if after is not None:
        query = query.where(
            *after_key(WebhookDelivery.created_at, WebhookDelivery.id, after, descending=True)
        )
    query = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    return list(session.scalars(query.limit(limit)))


@dataclass(frozen=True)
class Health:
    """How an endpoint fares: deliveries by state, and its last success and attempt."""

    counts: dict[str, int]
    last_delivered_at: datetime | None
    last_error: str | None


def health(session: Session, organisation_id: int) -> dict[int, Health]:
    """Every endpoint's deliveries by state (two grouped queries)."""
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.state, func.count())
        .where(WebhookDelivery.organisation_id == organisation_id)
        .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.state)
    ).all()
    for endpoint_id, state, count in rows:
        counts.setdefault(endpoint_id, {})[state] = int(count)
    last: dict[int, datetime | None] = {
        endpoint_id: moment
        for endpoint_id, moment in session.execute(
            select(WebhookDelivery.endpoint_id, func.max(WebhookDelivery.delivered_at))
            .where(WebhookDelivery.organisation_id == organisation_id)
            .group_by(WebhookDelivery.endpoint_id)
        ).all()
    }
    errors = _last_errors(session, organisation_id)
    found: dict[int, Health] = {}
    for endpoint in list_endpoints(session, organisation_id):
        by_state = {state: counts.get(endpoint.id, {}).get(state, 0) for state in DELIVERY_STATES}
        found[endpoint.id] = Health(by_state, last.get(endpoint.id), errors.get(endpoint.id))
    return found


def _last_errors(session: Session, organisation_id: int) -> dict[int, str]:
    newest = (
        select(func.max(WebhookDelivery.id))
        .where(
            WebhookDelivery.organisation_id == organisation_id,
            WebhookDelivery.state.in_(FAILING_STATES),
        )
        .group_by(WebhookDelivery.endpoint_id)
    )
    rows = session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.last_error).where(
            WebhookDelivery.id.in_(newest)
        )
    ).all()
    return {endpoint_id: error for endpoint_id, error in rows if error}


def replay(
    session: Session,
    organisation_id: int,
    delivery_id: int,
    *,
    endpoint_id: int | None = None,
    now: datetime | None = None,
) -> WebhookDelivery:
    """Queue the delivery (of ``endpoint_id`` when given) again, with its event id
    unchanged (a delivered one too: the receiver asked for it)."""
    delivery = get_delivery(session, organisation_id, delivery_id)
    if endpoint_id is not None and delivery.endpoint_id != endpoint_id:
        raise NotFound("webhook delivery", delivery_id)
    _requeue(session, organisation_id, [delivery], now or utc_now())
    return delivery


def replay_failed(
    session: Session, organisation_id: int, endpoint_id: int, *, now: datetime | None = None
) -> int:
    """Queue again every failed or dead delivery of the endpoint; the count queued."""
    get_endpoint(session, organisation_id, endpoint_id)
    found = list(
        session.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.organisation_id == organisation_id,
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.state.in_(FAILING_STATES),
            )
        )
    )
    _requeue(session, organisation_id, found, now or utc_now())
    return len(found)


def _requeue(
    session: Session, organisation_id: int, deliveries: Sequence[WebhookDelivery], now: datetime
) -> None:
    for delivery in deliveries:
        delivery.state = "pending"
    session.flush()
    # Keyed by the attempts so far: pressing "replay" twice before the next attempt queues
    # one item, not two.
    for delivery in deliveries:
        queue(session, organisation_id, [delivery.id], now=now, round_key=f"r{delivery.attempts}")


# -- what the sender needs and records ---------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One delivery with what sending it needs."""

    delivery_id: int
    organisation_id: int
    endpoint_id: int
    event_id: str
    event_type: str
    payload: dict[str, Any]
    state: str
    attempts: int
    url: str
    format: str
    secrets: tuple[str, ...]
    """Newest first; the previous one while the rotation lasts."""
    enabled: bool


def load_jobs(session: Session, delivery_ids: Collection[int], now: datetime) -> dict[int, Job]:
    """The deliveries (with their endpoints) of these ids that still exist."""
    if not delivery_ids:
        return {}
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(list(delivery_ids)))
    ).all()
    jobs: dict[int, Job] = {}
    for delivery, endpoint in rows:
        keys = [endpoint.secret]
        until = endpoint.previous_secret_until
        if endpoint.previous_secret and until is not None and until > now:
            keys.append(endpoint.previous_secret)
        jobs[delivery.id] = Job(
            delivery_id=delivery.id,
            organisation_id=delivery.organisation_id,
            endpoint_id=endpoint.id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            payload=dict(delivery.payload or {}),
            state=delivery.state,
            attempts=delivery.attempts,
            url=endpoint.url,
            format=endpoint.format,
            secrets=tuple(keys),
            enabled=endpoint.enabled,
        )
    return jobs


@dataclass(frozen=True)
class Attempt:
    """What became of one delivery's attempt."""

    job: Job
    state: str
    """``delivered``, ``failed`` (tried again later) or ``dead`` (not again)."""
    status: int | None = None
    error: str | None = None
    posted: bool = True
    """False when nothing was sent (the endpoint is off): not a failure of the receiver."""


def record_attempts(session: Session, attempts: Sequence[Attempt], now: datetime) -> None:
    """Each delivery's new state, and each endpoint's count of failures in a row (reset by a
    success)."""
    if not attempts:
        return
    rows: list[dict[str, Any]] = []
    for attempt in attempts:
        row = {
            "id": attempt.job.delivery_id,
            "state": attempt.state,
            "last_error": attempt.error[:2000] if attempt.error else None,
            "delivered_at": now if attempt.state == "delivered" else None,
        }
        if attempt.posted:  # else the last attempt's status stays
            row.update(attempts=attempt.job.attempts + 1, last_status=attempt.status)
        rows.append(row)
    session.execute(update(WebhookDelivery), rows)
    succeeded: set[int] = set()
    failures: dict[int, int] = {}
    for attempt in attempts:
        if attempt.state == "delivered":
            succeeded.add(attempt.job.endpoint_id)
        elif attempt.posted:
            failures[attempt.job.endpoint_id] = failures.get(attempt.job.endpoint_id, 0) + 1
    if succeeded:
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(sorted(succeeded)))
            .values(consecutive_failures=0)
            .execution_options(synchronize_session=False)
        )
    for endpoint_id, count in sorted(failures.items()):
        if endpoint_id in succeeded:
            continue
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(consecutive_failures=WebhookEndpoint.consecutive_failures + count)
            .execution_options(synchronize_session=False)
        )


def failing_since(session: Session, endpoint_id: int) -> datetime | None:
    """When the endpoint's current run of failures began: the oldest failing delivery made
    after its last success; None when nothing is failing."""
    last_ok = session.scalar(
        select(func.max(WebhookDelivery.delivered_at)).where(
            WebhookDelivery.endpoint_id == endpoint_id
        )
    )
    query = select(func.min(WebhookDelivery.created_at)).where(
        WebhookDelivery.endpoint_id == endpoint_id,
        WebhookDelivery.state.in_(FAILING_STATES),
    )
    if last_ok is not None:
        query = query.where(WebhookDelivery.created_at > last_ok)
    found: datetime | None = session.scalar(query)
    return found


def consecutive_failures(session: Session, endpoint_ids: Collection[int]) -> dict[int, int]:
    rows = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.consecutive_failures).where(
            WebhookEndpoint.id.in_(list(endpoint_ids)), WebhookEndpoint.enabled.is_(True)
        )
    ).all()
    return {endpoint_id: int(count) for endpoint_id, count in rows}


def disable(session: Session, endpoint_id: int, reason: str) -> bool:
    """Switch an enabled endpoint off; False when it was off already (another worker)."""
    result = session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason[:2000])
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def owner_addresses(session: Session, organisation_id: int) -> list[tuple[str | None, str]]:
    """(name, email) of the organisation's active owners, or of its admins when it has none."""
    for roles in (("owner",), ("admin",)):
        rows = session.execute(
            select(User.name, User.email)
            .where(
                User.organisation_id == organisation_id,
                User.role.in_(roles),
                User.is_active.is_(True),
            )
            .order_by(User.id)
        ).all()
        if rows:
            return [(name, email) for name, email in rows]
    return []


def cursor_of(delivery: WebhookDelivery) -> tuple[datetime, int]:
    return delivery.created_at, delivery.id


def count_by_state(session: Session, organisation_id: int, endpoint_id: int) -> dict[str, int]:
    rows = session.execute(
        select(WebhookDelivery.state, func.count())
        .where(
            WebhookDelivery.organisation_id == organisation_id,
            WebhookDelivery.endpoint_id == endpoint_id,
        )
        .group_by(WebhookDelivery.state)
    ).all()
    return {state: int(count) for state, count in rows}
