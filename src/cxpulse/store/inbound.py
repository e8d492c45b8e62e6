"""Inbound endpoints and the events received on them: the rows, within one organisation
(except ``endpoint_by_token``, which the public route uses to find the organisation).

The decisions (checks, mapping, invitations) live in ``cxpulse.collect.inbound_events``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxpulse.store import scoped
from cxpulse.store.models import Contact, InboundEndpoint, InboundEvent
from cxpulse.store.types import utc_now

OUTCOME_LENGTH = 200
"""The length of ``InboundEvent.outcome``: longer outcomes are cut to it."""


def add_endpoint(session: Session, organisation_id: int, **fields: Any) -> InboundEndpoint:
    endpoint = InboundEndpoint(organisation_id=organisation_id, **fields)
    session.add(endpoint)
    session.flush()
    return endpoint


def list_endpoints(session: Session, organisation_id: int) -> list[InboundEndpoint]:
    return list(
        session.scalars(
            select(InboundEndpoint)
            .where(InboundEndpoint.organisation_id == organisation_id)
            .order_by(InboundEndpoint.id)
        )
    )


def get_endpoint(session: Session, organisation_id: int, endpoint_id: int) -> InboundEndpoint:
    return scoped.get_one(
        session,
        InboundEndpoint,
        organisation_id,
        InboundEndpoint.id == endpoint_id,
        entity="inbound endpoint",
        key=endpoint_id,
    )


def endpoint_by_token(session: Session, token: str) -> InboundEndpoint | None:
    """The endpoint whose URL holds ``token``, of whichever organisation."""
    return session.scalar(select(InboundEndpoint).where(InboundEndpoint.token == token))


def change_endpoint(
    session: Session, organisation_id: int, endpoint_id: int, changes: Mapping[str, Any]
) -> InboundEndpoint:
    endpoint = get_endpoint(session, organisation_id, endpoint_id)
    for name, value in changes.items():
        setattr(endpoint, name, value)
    session.flush()
    return endpoint


def delete_endpoint(session: Session, organisation_id: int, endpoint_id: int) -> None:
    """Delete the endpoint and its events; the invitations it made stay."""
    session.delete(get_endpoint(session, organisation_id, endpoint_id))
    session.flush()


def contact_by_phone(session: Session, organisation_id: int, phone: str) -> Contact | None:
    """The organisation's first contact with this number (E.164), for an event that names
    its customer by phone only."""
    return session.scalar(
        select(Contact)
        .where(Contact.organisation_id == organisation_id, Contact.phone == phone)
        .order_by(Contact.id)
        .limit(1)
    )


def claim_event(
    session: Session, organisation_id: int, endpoint_id: int, source_event_id: str
) -> InboundEvent | None:
    """Record that the event arrived, with outcome ``received``; None when it had arrived
    before (read it with ``find_event``).

    On PostgreSQL a second delivery arriving while the first is in its transaction waits
    for that transaction, then finds the event there, so one event never invites twice.
    """
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = session.execute(
        insert_fn(InboundEvent)
        .values(
            organisation_id=organisation_id,
            endpoint_id=endpoint_id,
            source_event_id=source_event_id,
            outcome="received",
            received_at=utc_now(),
        )
        .on_conflict_do_nothing(index_elements=["endpoint_id", "source_event_id"])
        .returning(InboundEvent.id)
    ).scalar()
    if inserted is None:
        return None
    return session.get(InboundEvent, inserted)


def find_event(session: Session, endpoint_id: int, source_event_id: str) -> InboundEvent | None:
    return session.scalar(
        select(InboundEvent).where(
            InboundEvent.endpoint_id == endpoint_id,
            InboundEvent.source_event_id == source_event_id,
        )
    )


def settle_event(
    session: Session, event: InboundEvent, outcome: str, invitation_id: int | None
) -> None:
    event.outcome = outcome[:OUTCOME_LENGTH]
    event.invitation_id = invitation_id
    session.flush()


def recent_events(
    session: Session, organisation_id: int, endpoint_id: int, *, limit: int = 50
) -> list[InboundEvent]:
    """The endpoint's latest events, newest first."""
    get_endpoint(session, organisation_id, endpoint_id)
    return list(
        session.scalars(
            select(InboundEvent)
            .where(
                InboundEvent.organisation_id == organisation_id,
                InboundEvent.endpoint_id == endpoint_id,
            )
            .order_by(InboundEvent.received_at.desc(), InboundEvent.id.desc())
            .limit(limit)
        )
    )
