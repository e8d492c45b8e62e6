"""What another system's webhook says, in cxpulse's words: the customer, the event's id and
the properties an invitation carries (ticket, agent, order ...). Pure: no I/O.

Each preset reads one kind of payload:

- ``zendesk``: a trigger's webhook with the JSON body of docs/inbound.md (``ticket`` with its
  ``requester``, ``assignee``, ``group``, ``brand``), signed by Zendesk;
- ``freshdesk``: an automation rule's webhook, either the "simple" content
  (``freshdesk_webhook`` with ``ticket_id``, ``ticket_contact_email`` ...) or the JSON body of
  docs/inbound.md (``ticket`` with its ``contact``, ``agent``, ``group``);
- ``shopify``: the ``orders/fulfilled`` topic (an order with its ``customer`` and
  ``line_items``), signed by Shopify;
- ``generic``: any JSON, read through the endpoint's mapping of JSON paths.

``authenticate`` checks a request: the provider's signature where it has one (Zendesk,
Shopify), otherwise the endpoint's secret in ``Authorization: Bearer``, ``Authorization:
Basic`` (as the password, Freshdesk's "requires authentication") or ``X-Cxpulse-Secret``, all
compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid
from cxpulse.store.models import INBOUND_PRESETS

PRESETS = INBOUND_PRESETS
MAX_EVENT_ID = 200
"""Longer source ids are kept as their SHA-256, so that they still identify the event."""
GENERIC_FIELDS = ("email", "name", "external_id", "phone", "touchpoint", "event_id")
"""The single values a generic mapping may name (plus ``properties``)."""
MAX_MAPPED_PROPERTIES = 20
CHANNELS = ("email", "sms")

_PATH = re.compile(r"(?:\$\.?)?([^.\[\]]+|\[\d{1,4}\])((?:\.[^.\[\]]+|\[\d{1,4}\])*)")
_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d{1,4})\]")
_DONE_STATUSES = {
    "zendesk": ("solved", "closed"),
    "freshdesk": ("resolved", "closed", "4", "5"),
}
_SHOPIFY_TOPICS = ("orders/fulfilled",)


@dataclass(frozen=True)
class Interaction:
    """One interaction another system reported: who the customer is and what happened."""

    event_id: str
    email: str | None = None
    name: str | None = None
    external_id: str | None = None
    phone: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    """Copied onto the invitation, then onto the answer (``touchpoint`` among them)."""


class Unmappable(ValueError):
    """A payload that does not say what an invitation needs; ``missing`` names each part."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__("the payload does not give " + "; ".join(missing))
        self.missing = missing


class Ignored(ValueError):
    """A well-formed event that asks for no survey (a ticket reopened, another topic)."""


# -- authentication ------------------------------------------------------------------------


def _b64_hmac(secret: str, message: bytes, digest: str = "sha256") -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, digest).digest()).decode()


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``X-Zendesk-Webhook-Signature``: base64 of HMAC-SHA256(timestamp + body)."""
    return _b64_hmac(secret, timestamp.encode() + body)


def shopify_signature(secret: str, body: bytes) -> str:
    """``X-Shopify-Hmac-Sha256``: base64 of HMAC-SHA256(body)."""
    return _b64_hmac(secret, body)


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def _presented_secret(headers: Mapping[str, str]) -> str | None:
    """The secret a request presents: a bearer token, a basic password or our header."""
    direct = headers.get("x-cxpulse-secret")
    if direct:
        return direct.strip()
    authorization = headers.get("authorization", "").strip()
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if scheme.lower() == "basic" and credentials.strip():
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        _, colon, password = decoded.partition(":")
        return password if colon else None
    return None


def authenticate(preset: str, secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether the request comes from the endpoint's source. ``headers`` have lower-case names.

    A provider's signature, when the request carries one, must match; a request without one
    may present the endpoint's secret instead (Zendesk, say, also offers bearer tokens)."""
    if preset == "zendesk" and "x-zendesk-webhook-signature" in headers:
        timestamp = headers.get("x-zendesk-webhook-signature-timestamp", "")
        signature = headers["x-zendesk-webhook-signature"].strip()
        return bool(timestamp) and _same(zendesk_signature(secret, timestamp, body), signature)
    if preset == "shopify" and "x-shopify-hmac-sha256" in headers:
        signature = headers["x-shopify-hmac-sha256"].strip()
        return _same(shopify_signature(secret, body), signature)
    presented = _presented_secret(headers)
    return presented is not None and _same(secret, presented)


# -- reading payloads ------------------------------------------------------------------------


def parse_path(path: object) -> tuple[str | int, ...]:
    """The steps of a JSON path such as ``$.customer.email`` or ``items[0].title``;
    ``ValueError`` for anything else."""
    if not isinstance(path, str) or not 1 <= len(path) <= 300 or not _PATH.fullmatch(path):
        raise ValueError(
            f"{path!r} is not a JSON path: use names joined by dots, such as customer.email "
            "or items[0].title"
        )
    text = path[1:] if path.startswith("$") else path
    steps: list[str | int] = []
    for name, index in _STEP.findall(text):
        steps.append(int(index) if index else name)
    return tuple(steps)


def lookup(document: object, path: str) -> object:
    """The value at ``path`` in ``document``; None where the path leads nowhere."""
    current = document
    for step in parse_path(path):
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return None
            current = current[step]
        else:
            if not isinstance(current, dict):
                return None
            current = current.get(step)
    return current


def _text(value: object) -> str | None:
    """A scalar as trimmed text; None for absent, empty or structured values (templates of
    Zendesk and Freshdesk render a missing field as an empty string)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        rendered = str(value).strip()
        return rendered or None
    return None


def _at(document: object, *paths: str) -> str | None:
    for path in paths:
        found = _text(lookup(document, path))
        if found is not None:
            return found
    return None


def source_event_id(value: str) -> str:
    """The id as stored: itself, or its SHA-256 when longer than the column."""
    if len(value) <= MAX_EVENT_ID:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def _props(**found: str | None) -> dict[str, str]:
    return {name: value for name, value in found.items() if value is not None}


def _require_contact(interaction: Interaction, missing: list[str], where: str) -> None:
    if not (interaction.email or interaction.external_id or interaction.phone):
        missing.append(f"the customer: an email address ({where})")
    if missing:
        raise Unmappable(missing)


def _zendesk(document: object) -> Interaction:
    ticket = lookup(document, "ticket")
    if not isinstance(ticket, dict):
        raise Unmappable(["a ticket object (ticket.id, ticket.requester.email)"])
    ticket_id = _at(ticket, "id")
    missing = [] if ticket_id else ["the ticket's id (ticket.id)"]
    status = (_at(ticket, "status") or "").lower()
    if status and status not in _DONE_STATUSES["zendesk"]:
        raise Ignored(f"the ticket is {status}, not solved")
    interaction = Interaction(
        event_id=f"ticket-{ticket_id}",
        email=_at(ticket, "requester.email"),
        name=_at(ticket, "requester.name"),
        external_id=_at(ticket, "requester.external_id"),
        phone=_at(ticket, "requester.phone"),
        properties=_props(
            ticket=ticket_id,
            agent=_at(ticket, "assignee.name"),
            group=_at(ticket, "group.name"),
            brand=_at(ticket, "brand.name"),
            channel=_at(ticket, "via", "channel"),
            touchpoint="support ticket",
        ),
    )
    _require_contact(interaction, missing, "ticket.requester.email")
    return interaction


def _freshdesk(document: object) -> Interaction:
    simple = lookup(document, "freshdesk_webhook")
    if isinstance(simple, dict):
        ticket_id = _at(simple, "ticket_id")
        status = _at(simple, "ticket_status")
        interaction = Interaction(
            event_id=f"ticket-{ticket_id}",
            email=_at(simple, "ticket_contact_email"),
            name=_at(simple, "ticket_contact_name"),
            external_id=_at(simple, "ticket_contact_unique_external_id"),
            phone=_at(simple, "ticket_contact_mobile", "ticket_contact_phone"),
            properties=_props(
                ticket=ticket_id,
                agent=_at(simple, "ticket_agent_name"),
                group=_at(simple, "ticket_group_name"),
                product=_at(simple, "ticket_product_name"),
                channel=_at(simple, "ticket_source"),
                touchpoint="support ticket",
            ),
        )
        where = "freshdesk_webhook.ticket_contact_email"
        missing = [] if ticket_id else ["the ticket's id (freshdesk_webhook.ticket_id)"]
    else:
        ticket = lookup(document, "ticket")
        if not isinstance(ticket, dict):
            raise Unmappable(["a freshdesk_webhook or ticket object with the ticket's id"])
        ticket_id = _at(ticket, "id")
        status = _at(ticket, "status")
        interaction = Interaction(
            event_id=f"ticket-{ticket_id}",
            email=_at(ticket, "contact.email"),
            name=_at(ticket, "contact.name"),
            external_id=_at(ticket, "contact.unique_external_id"),
            phone=_at(ticket, "contact.mobile", "contact.phone"),
            properties=_props(
                ticket=ticket_id,
                agent=_at(ticket, "agent.name"),
                group=_at(ticket, "group.name"),
                product=_at(ticket, "product.name"),
                channel=_at(ticket, "source"),
                touchpoint="support ticket",
            ),
        )
        where = "ticket.contact.email"
        missing = [] if ticket_id else ["the ticket's id (ticket.id)"]
    if status and status.lower() not in _DONE_STATUSES["freshdesk"]:
        raise Ignored(f"the ticket is {status.lower()}, not resolved")
    _require_contact(interaction, missing, where)
    return interaction


def _shopify(document: object, headers: Mapping[str, str]) -> Interaction:
    topic = headers.get("x-shopify-topic", "").strip().lower()
    if topic and topic not in _SHOPIFY_TOPICS:
        raise Ignored(f"the topic is {topic}, not orders/fulfilled")
    if not isinstance(document, dict):
        raise Unmappable(["an order object"])
    order_id = _at(document, "id")
    missing = [] if order_id else ["the order's id (id)"]
    first = _at(document, "customer.first_name")
    last = _at(document, "customer.last_name")
    name = " ".join(part for part in (first, last) if part) or None
    items = lookup(document, "line_items")
    products = [
        title
        for item in (items if isinstance(items, list) else [])
        if (title := _text(lookup(item, "title"))) is not None
    ]
    # The webhook's id is the same on every retry of one delivery; the order's id is the
    # fallback for a payload posted by other means (a replay from the shop's admin, say).
    event = headers.get("x-shopify-webhook-id", "").strip() or f"order-{order_id}"
    interaction = Interaction(
        event_id=event,
        email=_at(document, "customer.email", "email", "contact_email"),
        name=name,
        phone=_at(document, "customer.phone", "phone", "shipping_address.phone"),
        properties=_props(
            order=_at(document, "name", "order_number") or order_id,
            product=products[0] if products else None,
            products=str(len(products)) if products else None,
            channel=_at(document, "source_name"),
            touchpoint="order fulfilled",
        ),
    )
    _require_contact(interaction, missing, "customer.email or email")
    return interaction


def _generic(
    document: object, body: bytes, headers: Mapping[str, str], mapping: Mapping[str, object]
) -> Interaction:
    def at(name: str) -> str | None:
        path = mapping.get(name)
        return _at(document, path) if isinstance(path, str) else None

    missing: list[str] = []
    event = at("event_id") or headers.get("idempotency-key", "").strip()
    if not event and isinstance(mapping.get("event_id"), str):
        missing.append(f"the event's id ({mapping['event_id']})")
    properties: dict[str, str] = {}
    named = mapping.get("properties")
    if isinstance(named, dict):
        for prop, path in named.items():
            value = _at(document, path) if isinstance(path, str) else None
            if value is not None:
                properties[str(prop)] = value
    touchpoint = at("touchpoint")
    if touchpoint is not None:
        properties["touchpoint"] = touchpoint
    interaction = Interaction(
        # Without an id, the body is the event: the same body posted twice surveys once.
        event_id=event or "sha256:" + hashlib.sha256(body).hexdigest(),
        email=at("email"),
        name=at("name"),
        external_id=at("external_id"),
        phone=at("phone"),
        properties=properties,
    )
    if not (interaction.email or interaction.external_id or interaction.phone):
        paths = [str(mapping[n]) for n in ("email", "external_id", "phone") if n in mapping]
        missing.append("the customer: " + (" or ".join(paths) or "no path is mapped"))
    if missing:
        raise Unmappable(missing)
    return interaction


def interpret(
    preset: str,
    document: object,
    body: bytes,
    headers: Mapping[str, str],
    mapping: Mapping[str, object],
) -> Interaction:
    """The interaction a verified payload reports; ``Unmappable`` naming what is missing,
    ``Ignored`` for an event that asks for no survey."""
    if preset == "zendesk":
        found = _zendesk(document)
    elif preset == "freshdesk":
        found = _freshdesk(document)
    elif preset == "shopify":
        found = _shopify(document, headers)
    elif preset == "generic":
        found = _generic(document, body, headers, mapping)
    else:
        raise ValueError(f"unknown preset {preset!r}")
    return Interaction(
        event_id=source_event_id(found.event_id),
        email=found.email,
        name=found.name[:200] if found.name else None,
        external_id=found.external_id,
        phone=found.phone,
        properties={k[:100]: v[:1000] for k, v in found.properties.items()},
    )


# -- endpoint settings -----------------------------------------------------------------------


def check_preset(preset: object) -> str:
    if not isinstance(preset, str) or preset not in PRESETS:
        raise Invalid("preset", f"must be one of {', '.join(PRESETS)}")
    return preset


def check_mapping(preset: str, mapping: Mapping[str, object] | None) -> dict[str, object]:
    """The endpoint's mapping, checked: every path parses, only known names, and a generic
    endpoint names at least one way to find the customer. ``channel`` (``email`` or ``sms``)
    says how the invitation goes out, for every preset."""
    given = dict(mapping or {})
    known = {*GENERIC_FIELDS, "properties", "channel"} if preset == "generic" else {"channel"}
    unknown = sorted(set(given) - known)
    if unknown:
        raise Invalid(
            "mapping", f"unknown names {', '.join(unknown)}; use {', '.join(sorted(known))}"
        )
    channel = given.get("channel", "email")
    if channel not in CHANNELS:
        raise Invalid("mapping.channel", f"must be one of {', '.join(CHANNELS)}")
    checked: dict[str, object] = {} if "channel" not in given else {"channel": channel}
    for name in GENERIC_FIELDS:
        if name in given:
            checked[name] = _checked_path(f"mapping.{name}", given[name])
    if "properties" in given:
        properties = given["properties"]
        if not isinstance(properties, dict) or len(properties) > MAX_MAPPED_PROPERTIES:
            raise Invalid(
                "mapping.properties",
                f"must be an object of at most {MAX_MAPPED_PROPERTIES} names to JSON paths",
            )
        checked["properties"] = {
            values.name("mapping.properties", prop): _checked_path(
                f"mapping.properties.{prop}", path
            )
            for prop, path in properties.items()
        }
    if preset == "generic" and not any(n in checked for n in ("email", "external_id", "phone")):
        raise Invalid("mapping", "name the customer: a JSON path for email, external_id or phone")
    return checked


def _checked_path(where: str, path: object) -> str:
    try:
        parse_path(path)
    except ValueError as error:
        raise Invalid(where, str(error)) from None
    assert isinstance(path, str)
    return path
