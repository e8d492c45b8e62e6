"""Inbound endpoints, and the events other systems post to them turned into invitations.

An event is taken in three steps, so that the public route answers each failure in its own
words: ``verified_endpoint`` finds the endpoint by its token and checks the request's
signature or secret (404, 403, 401); the route reads the JSON; ``receive`` maps the payload
(``collect.inbound_presets``; 422 naming what is missing), finds or creates the contact by
email, external id or phone, and invites it through ``create_invitations``, the one path of
every invitation, with its throttle and unsubscribes, after the endpoint's delay.

Each event is taken once per endpoint and source event id (``inbound_events``): a retry of
a delivery the first time answered gets that first outcome back and invites nobody.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cxpulse.collect import inbound_presets as presets
from cxpulse.collect import sms
from cxpulse.collect.invitation_requests import InvitationRequest, resolve_contact
from cxpulse.collect.invitation_scheduling import create_invitations
from cxpulse.store import _values as values
from cxpulse.store import inbound as store
from cxpulse.store import surveys
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Contact, InboundEndpoint

MAX_DELAY_MINUTES = 30 * 24 * 60
"""A survey about an interaction a month old is a survey about something else."""
MIN_SECRET_LENGTH = 16
TOKEN_BYTES = 24
SECRET_BYTES = 32

__all__ = [
    "MAX_DELAY_MINUTES",
    "BadCredentials",
    "EndpointDisabled",
    "Received",
    "UnknownEndpoint",
    "create_endpoint",
    "receive",
    "update_endpoint",
    "verified_endpoint",
]


class UnknownEndpoint(LookupError):
    """No endpoint has this token."""


class EndpointDisabled(PermissionError):
    """The endpoint exists but takes no events now."""


class BadCredentials(PermissionError):
    """The request's signature or secret is missing or wrong (for an endpoint of
    ``preset``, whose source signs or presents it in its own way)."""

    def __init__(self, preset: str) -> None:
        super().__init__(f"the {preset} request's signature or secret is wrong")
        self.preset = preset


@dataclass(frozen=True)
class Received:
    """What became of an event: ``scheduled``, ``throttled``, ``unsubscribed`` (with the
    reason), or ``ignored``; ``repeat`` when it had arrived before."""

    event_id: str
    outcome: str
    invitation_id: int | None = None
    send_at: datetime | None = None
    repeat: bool = False


# -- endpoints -------------------------------------------------------------------------------


def _delay(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("delay_minutes", "must be a whole number of minutes")
    if not 0 <= value <= MAX_DELAY_MINUTES:
        raise Invalid("delay_minutes", f"must be from 0 to {MAX_DELAY_MINUTES} (30 days)")
    return value


def _secret(value: object) -> str:
    if not isinstance(value, str) or not MIN_SECRET_LENGTH <= len(value.strip()) <= 200:
        raise Invalid(
            "secret", f"must be {MIN_SECRET_LENGTH} to 200 characters (the provider's key)"
        )
    return values.required_text("secret", value, 200)


def _survey(session: Session, organisation_id: int, survey_id: object) -> int:
    if isinstance(survey_id, bool) or not isinstance(survey_id, int):
        raise Invalid("survey_id", "must be a survey's id")
    try:
        return surveys.get_survey(session, organisation_id, survey_id).id
    except NotFound:
        raise Invalid("survey_id", "no such survey") from None


def create_endpoint(
    session: Session,
    organisation_id: int,
    *,
    survey_id: int,
    name: str,
    preset: str = "generic",
    mapping: Mapping[str, Any] | None = None,
    delay_minutes: int = 0,
    secret: str | None = None,
    enabled: bool = True,
) -> InboundEndpoint:
    """A new endpoint with a fresh token; its secret is ``secret`` (the signing key Zendesk
    or Shopify shows) or a random one, to be shown to its creator once."""
    checked_preset = presets.check_preset(preset)
    return store.add_endpoint(
        session,
        organisation_id,
        survey_id=_survey(session, organisation_id, survey_id),
        name=values.required_text("name", name, 200),
        preset=checked_preset,
        mapping=presets.check_mapping(checked_preset, mapping),
        delay_minutes=_delay(delay_minutes),
        secret=_secret(secret) if secret is not None else secrets.token_urlsafe(SECRET_BYTES),
        token=secrets.token_urlsafe(TOKEN_BYTES),
        enabled=bool(enabled),
    )


def update_endpoint(
    session: Session, organisation_id: int, endpoint_id: int, changes: Mapping[str, Any]
) -> InboundEndpoint:
    """Change the fields given (``new_secret=True`` draws a random secret); the mapping is
    checked against the preset it will have."""
    endpoint = store.get_endpoint(session, organisation_id, endpoint_id)
    checked: dict[str, Any] = {}
    if "name" in changes:
        checked["name"] = values.required_text("name", changes["name"], 200)
    if "survey_id" in changes:
        checked["survey_id"] = _survey(session, organisation_id, changes["survey_id"])
    preset = presets.check_preset(changes.get("preset", endpoint.preset))
    if "preset" in changes or "mapping" in changes:
        checked["preset"] = preset
        checked["mapping"] = presets.check_mapping(preset, changes.get("mapping", endpoint.mapping))
    if "delay_minutes" in changes:
        checked["delay_minutes"] = _delay(changes["delay_minutes"])
    if "enabled" in changes:
        checked["enabled"] = bool(changes["enabled"])
    if changes.get("secret") is not None:
        checked["secret"] = _secret(changes["secret"])
    elif changes.get("new_secret"):
        checked["secret"] = secrets.token_urlsafe(SECRET_BYTES)
    return store.change_endpoint(session, organisation_id, endpoint.id, checked)


# -- events ----------------------------------------------------------------------------------


def verified_endpoint(
    session: Session, token: str, body: bytes, headers: Mapping[str, str]
) -> InboundEndpoint:
    """The endpoint of ``token`` when the request proves it comes from the endpoint's
    source; ``headers`` have lower-case names."""
    endpoint = store.endpoint_by_token(session, token) if len(token) <= 64 else None
    if endpoint is None:
        raise UnknownEndpoint(token)
    if not presets.authenticate(endpoint.preset, endpoint.secret, body, headers):
        raise BadCredentials(endpoint.preset)
    if not endpoint.enabled:
        raise EndpointDisabled(endpoint.id)
    return endpoint


def receive(
    session: Session,
    endpoint: InboundEndpoint,
    document: object,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: datetime | None = None,
) -> Received:
    """Take a verified event in the caller's transaction. Raises ``presets.Unmappable`` or
    ``Invalid`` (the caller rolls back; nothing is recorded, so a corrected retry works)."""
    try:
        found = presets.interpret(endpoint.preset, document, body, headers, endpoint.mapping)
    except presets.Ignored as ignored:
        # Not recorded: the same ticket, solved later, must still be surveyed.
        return Received(event_id="", outcome=f"ignored: {ignored}")
    event = store.claim_event(session, endpoint.organisation_id, endpoint.id, found.event_id)
    if event is None:
        first = store.find_event(session, endpoint.id, found.event_id)
        assert first is not None
        return Received(found.event_id, first.outcome, first.invitation_id, repeat=True)
    channel = str(endpoint.mapping.get("channel", "email"))
    contact = _contact(session, endpoint.organisation_id, found, channel)
    digest = hashlib.sha256(found.event_id.encode()).hexdigest()[:40]
    request = InvitationRequest(
        contact_id=contact.id,
        delay=f"{endpoint.delay_minutes}m" if endpoint.delay_minutes else None,
        properties=found.properties,
        idempotency_key=f"inbound:{endpoint.id}:{digest}",
        channel=channel,
    )
    (triggered,) = create_invitations(
        session, endpoint.organisation_id, endpoint.survey_id, [request], now=now
    )
    invitation = triggered.invitation
    outcome = invitation.status + (f": {invitation.reason}" if invitation.reason else "")
    store.settle_event(session, event, outcome, invitation.id)
    return Received(found.event_id, event.outcome, invitation.id, invitation.send_at)


def _phone(found: presets.Interaction, channel: str) -> str | None:
    if found.phone is None:
        if channel == "sms":
            raise presets.Unmappable(["the customer's phone number, for an SMS invitation"])
        return None
    try:
        return sms.e164("phone", found.phone)
    except Invalid:
        if channel == "sms":
            raise
        return None  # an email invitation needs no phone; a bad one is left out


def _contact(
    session: Session, organisation_id: int, found: presets.Interaction, channel: str
) -> Contact:
    """The contact the event names, found or created by external id or email (as every
    invitation request does), else by phone; its phone number is kept up to date."""
    phone = _phone(found, channel)
    if found.external_id or found.email:
        contact, _ = resolve_contact(
            session,
            organisation_id,
            InvitationRequest(external_id=found.external_id, email=found.email, name=found.name),
        )
    elif phone is None:
        raise presets.Unmappable(["the customer: a valid email address or phone number"])
    else:
        known = store.contact_by_phone(session, organisation_id, phone)
        contact = known or Contact(
            organisation_id=organisation_id, name=values.text("name", found.name, 200)
        )
        if known is None:
            session.add(contact)
    if phone is not None and contact.phone != phone:
        contact.phone = phone
    session.flush()
    return contact
