"""The demo's customers: drawn the same for a seed, named in their language, read back."""

from __future__ import annotations

import re

from cxpulse.demo.contacts import (
    CONTACT_PREFIX,
    DEMO_CONTACTS,
    DemoContact,
    contact_rows,
    demo_contact,
)
from cxpulse.demo.score_drivers import COUNTRIES, PLANS

CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def test_rows_are_deterministic_for_a_seed_and_numbered() -> None:
    rows = contact_rows(5, seed=7)
    assert rows == contact_rows(5, seed=7)
    assert rows != contact_rows(5, seed=8)
    assert len(rows) == DEMO_CONTACTS
    assert [row["external_id"] for row in rows[:2]] == [
        f"{CONTACT_PREFIX}00001",
        f"{CONTACT_PREFIX}00002",
    ]
    assert {row["organisation_id"] for row in rows} == {5}
    assert len({row["email"] for row in rows}) == DEMO_CONTACTS


def test_rows_carry_segments_and_names_in_the_language_of_the_country() -> None:
    for row in contact_rows(1, seed=3):
        attributes = row["attributes"]
        assert attributes["plan"] in PLANS
        assert attributes["vip"] in ("yes", "no")
        language = COUNTRIES[attributes["country"]][1]
        assert row["locale"] == f"{language}-{attributes['country']}"
        assert row["email"].isascii()
        assert row["email"].endswith("@example.com")
        assert bool(CYRILLIC.search(row["name"])) == (language == "mk")


def test_stored_attributes_read_back_as_a_demo_contact() -> None:
    contact = demo_contact(9, {"plan": "pro", "vip": "yes", "country": "MK"})
    assert contact == DemoContact(id=9, plan="pro", vip=True, country="MK")
    assert (contact.language, contact.region) == ("mk", "Balkans")
    assert demo_contact(9, {"plan": "gold", "country": "MK"}) is None
    assert demo_contact(9, {"plan": "pro", "country": "US"}) is None
    assert demo_contact(9, None) is None
