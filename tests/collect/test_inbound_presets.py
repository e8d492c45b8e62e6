"""The presets of inbound webhooks: payloads of Zendesk, Freshdesk, Shopify and a generic
mapping read into interactions, and the providers' signatures checked."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.collect import inbound_presets as presets
from cxpulse.collect.inbound_presets import Ignored, Unmappable, interpret
from cxpulse.store.errors import Invalid

ZENDESK = {
    "ticket": {
        "id": "4521",
        "status": "Solved",
        "via": "email",
        "requester": {
            "email": "ana@example.com",
            "name": "Ana Lind",
            "external_id": "",
            "phone": "",
        },
        "assignee": {"name": "Bo Ek"},
        "group": {"name": "Billing"},
        "brand": {"name": "Acme SE"},
    }
}
FRESHDESK_SIMPLE = {
    "freshdesk_webhook": {
        "ticket_id": 88,
        "ticket_status": "Resolved",
        "ticket_contact_email": "jan@example.nl",
        "ticket_contact_name": "Jan de Vries",
        "ticket_agent_name": "Eva",
        "ticket_group_name": "Returns",
        "ticket_source": "Portal",
    }
}
SHOPIFY_ORDER = {
    "id": 820982911946154508,
    "name": "#1001",
    "email": "jon@example.com",
    "source_name": "web",
    "customer": {
        "id": 115310627314723954,
        "email": "jon@example.com",
        "first_name": "Jon",
        "last_name": "Snow",
        "phone": "+46701234567",
    },
    "line_items": [{"title": "Wool socks"}, {"title": "Boots"}],
}


def _body(document: object) -> bytes:
    return json.dumps(document).encode()


def test_zendesk_solved_ticket() -> None:
    found = interpret("zendesk", ZENDESK, _body(ZENDESK), {}, {})
    assert found.event_id == "ticket-4521"
    assert (found.email, found.name) == ("ana@example.com", "Ana Lind")
    # Empty placeholders are absent, not empty strings.
    assert found.external_id is None
    assert found.phone is None
    assert found.properties == {
        "ticket": "4521",
        "agent": "Bo Ek",
        "group": "Billing",
        "brand": "Acme SE",
        "channel": "email",
        "touchpoint": "support ticket",
    }


def test_zendesk_open_ticket_is_ignored_and_missing_parts_are_named() -> None:
    reopened = {"ticket": {**ZENDESK["ticket"], "status": "open"}}
    with pytest.raises(Ignored, match="open, not solved"):
        interpret("zendesk", reopened, b"", {}, {})
    nobody = {"ticket": {"status": "solved", "requester": {"email": ""}}}
    with pytest.raises(Unmappable) as raised:
        interpret("zendesk", nobody, b"", {}, {})
    assert raised.value.missing == [
        "the ticket's id (ticket.id)",
        "the customer: an email address (ticket.requester.email)",
    ]
    with pytest.raises(Unmappable, match="ticket object"):
        interpret("zendesk", [1, 2], b"", {}, {})


def test_freshdesk_simple_and_advanced_payloads() -> None:
    simple = interpret("freshdesk", FRESHDESK_SIMPLE, b"", {}, {})
    assert simple.event_id == "ticket-88"
    assert simple.email == "jan@example.nl"
    assert simple.properties["agent"] == "Eva"
    assert simple.properties["group"] == "Returns"
    advanced = {
        "ticket": {
            "id": "89",
            "status": "Closed",
            "contact": {"email": "kim@example.nl", "name": "Kim", "mobile": "+31612345678"},
            "agent": {"name": "Eva"},
        }
    }
    found = interpret("freshdesk", advanced, b"", {}, {})
    assert (found.event_id, found.email, found.phone) == (
        "ticket-89",
        "kim@example.nl",
        "+31612345678",
    )
    pending = {
        "freshdesk_webhook": {**FRESHDESK_SIMPLE["freshdesk_webhook"], "ticket_status": "Pending"}
    }
    with pytest.raises(Ignored, match="pending"):
        interpret("freshdesk", pending, b"", {}, {})


def test_shopify_fulfilled_order() -> None:
    headers = {"x-shopify-topic": "orders/fulfilled", "x-shopify-webhook-id": "b54557e4-bdd9"}
    found = interpret("shopify", SHOPIFY_ORDER, _body(SHOPIFY_ORDER), headers, {})
    assert found.event_id == "b54557e4-bdd9"
    assert (found.email, found.name, found.phone) == ("jon@example.com", "Jon Snow", "+46701234567")
    assert found.properties == {
        "order": "#1001",
        "product": "Wool socks",
        "products": "2",
        "channel": "web",
        "touchpoint": "order fulfilled",
    }
    # Without the webhook's id, the order's id keeps it idempotent.
    assert interpret("shopify", SHOPIFY_ORDER, b"", {}, {}).event_id == "order-820982911946154508"
    with pytest.raises(Ignored, match="orders/create"):
        interpret("shopify", SHOPIFY_ORDER, b"", {"x-shopify-topic": "orders/create"}, {})


def test_generic_mapping_reads_json_paths() -> None:
    mapping = presets.check_mapping(
        "generic",
        {
            "email": "$.customer.contact.email",
            "name": "customer.name",
            "external_id": "customer.id",
            "touchpoint": "kind",
            "event_id": "event.id",
            "properties": {"agent": "agent.name", "product": "items[1].sku"},
        },
    )
    document = {
        "event": {"id": "evt-9"},
        "kind": "delivery",
        "customer": {"id": 77, "name": "Lea", "contact": {"email": "lea@example.de"}},
        "agent": {"name": "Max"},
        "items": [{"sku": "A"}, {"sku": "B"}],
    }
    found = interpret("generic", document, _body(document), {}, mapping)
    assert (found.event_id, found.email, found.external_id) == ("evt-9", "lea@example.de", "77")
    assert found.properties == {"agent": "Max", "product": "B", "touchpoint": "delivery"}
    with pytest.raises(Unmappable, match=r"the event's id \(event.id\)"):
        interpret("generic", {"customer": document["customer"]}, b"{}", {}, mapping)


def test_generic_without_an_event_id_uses_the_body() -> None:
    mapping = {"email": "email"}
    one = interpret(
        "generic", {"email": "a@example.com"}, b'{"email": "a@example.com"}', {}, mapping
    )
    assert one.event_id.startswith("sha256:")
    keyed = interpret(
        "generic", {"email": "a@example.com"}, b"{}", {"idempotency-key": "k1"}, mapping
    )
    assert keyed.event_id == "k1"
    with pytest.raises(Unmappable, match="the customer: email"):
        interpret("generic", {"mail": "a@example.com"}, b"{}", {}, mapping)


def test_long_event_ids_are_kept_as_their_hash() -> None:
    long_id = "x" * 500
    found = interpret(
        "generic", {"id": long_id, "e": "a@example.com"}, b"", {}, {"email": "e", "event_id": "id"}
    )
    assert found.event_id == "sha256:" + hashlib.sha256(long_id.encode()).hexdigest()


def test_mapping_checks() -> None:
    with pytest.raises(Invalid, match="name the customer"):
        presets.check_mapping("generic", {"name": "n"})
    with pytest.raises(Invalid, match="not a JSON path"):
        presets.check_mapping("generic", {"email": "a..b"})
    with pytest.raises(Invalid, match="unknown names email"):
        presets.check_mapping("zendesk", {"email": "x"})
    with pytest.raises(Invalid, match="must be one of email, sms"):
        presets.check_mapping("shopify", {"channel": "fax"})
    assert presets.check_mapping("shopify", {"channel": "sms"}) == {"channel": "sms"}
    with pytest.raises(Invalid, match="preset"):
        presets.check_preset("hubspot")


def _b64(key: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), message, "sha256").digest()).decode()


def test_zendesk_signature_is_timestamp_plus_body() -> None:
    body = _body(ZENDESK)
    timestamp = "2026-12-06T14:05:00Z"
    headers = {
        "x-zendesk-webhook-signature": _b64("dGhpc19zZWNyZXQ", timestamp.encode() + body),
        "x-zendesk-webhook-signature-timestamp": timestamp,
    }
    assert presets.authenticate("zendesk", "dGhpc19zZWNyZXQ", body, headers)
    assert not presets.authenticate("zendesk", "another-secret", body, headers)
    assert not presets.authenticate("zendesk", "dGhpc19zZWNyZXQ", body + b" ", headers)
    moved = {**headers, "x-zendesk-webhook-signature-timestamp": "2026-12-06T14:06:00Z"}
    assert not presets.authenticate("zendesk", "dGhpc19zZWNyZXQ", body, moved)


def test_shopify_signature_is_of_the_raw_body() -> None:
    body = _body(SHOPIFY_ORDER)
    good = {"x-shopify-hmac-sha256": _b64("shpss_secret_1234", body)}
    assert presets.authenticate("shopify", "shpss_secret_1234", body, good)
    assert not presets.authenticate("shopify", "shpss_secret_1234", body[:-1], good)
    # A signed preset whose request carries no signature must present the secret instead.
    assert not presets.authenticate("shopify", "shpss_secret_1234", body, {})


def test_shared_secret_in_headers() -> None:
    secret = "s3cret-of-the-endpoint"
    basic = base64.b64encode(f"freshdesk:{secret}".encode()).decode()
    for headers in (
        {"authorization": f"Bearer {secret}"},
        {"authorization": f"Basic {basic}"},
        {"x-cxpulse-secret": secret},
    ):
        assert presets.authenticate("freshdesk", secret, b"{}", headers)
        assert presets.authenticate("generic", secret, b"{}", headers)
    for headers in (
        {},
        {"authorization": "Bearer wrong"},
        {"authorization": "Basic !!!"},
        {"authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"x-cxpulse-secret": secret[:-1]},
    ):
        assert not presets.authenticate("generic", secret, b"{}", headers)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c) | st.dictionaries(st.text(max_size=5), c),
        max_leaves=20,
    )
)
def test_any_json_is_mapped_or_refused_in_words(document: object) -> None:
    """Whatever a source posts, each preset maps it, ignores it or names what is missing."""
    for preset in presets.PRESETS:
        with contextlib.suppress(Unmappable, Ignored):
            interpret(preset, document, b"", {}, {"email": "a.b", "event_id": "c[0]"})
