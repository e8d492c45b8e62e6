"""The demo shop's customers: names as written in each language, and the segments (plan,
VIP, country) drawn for each of the ``DEMO_CONTACTS`` contacts.

``contact_rows`` draws them (deterministic for a seed); ``cxpulse.demo.seed`` stores them once
and reads them back with ``demo_contact`` on later runs.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cxpulse.demo.score_drivers import COUNTRIES, PLANS, VIP_SHARE

DEMO_CONTACTS: Final = 1500
CONTACT_PREFIX: Final = "demo-"
"""Start of the demo contacts' external ids, by which a later run finds them."""

_FIRST_NAMES: Final[dict[str, tuple[tuple[str, str, bool], ...]]] = {
    # language: (name as written, name in an email address, female)
    "en": tuple(
        (n, n.lower(), f)
        for n, f in (
            ("James", False),
            ("Olivia", True),
            ("Jack", False),
            ("Emily", True),
            ("Harry", False),
            ("Sophie", True),
            ("Liam", False),
            ("Grace", True),
            ("Conor", False),
            ("Aoife", True),
        )
    ),
    "sv": tuple(
        (n, n.lower(), f)
        for n, f in (
            ("Erik", False),
            ("Anna", True),
            ("Lars", False),
            ("Maria", True),
            ("Johan", False),
            ("Karin", True),
            ("Anders", False),
            ("Elin", True),
            ("Nils", False),
            ("Sara", True),
        )
    ),
    "nl": tuple(
        (n, n.lower(), f)
        for n, f in (
            ("Jan", False),
            ("Sanne", True),
            ("Daan", False),
            ("Emma", True),
            ("Bram", False),
            ("Lotte", True),
            ("Thijs", False),
            ("Femke", True),
            ("Ruben", False),
            ("Anouk", True),
        )
    ),
    "mk": (
        ("Марко", "marko", False),
        ("Елена", "elena", True),
        ("Никола", "nikola", False),
        ("Ана", "ana", True),
        ("Стефан", "stefan", False),
        ("Ивана", "ivana", True),
        ("Александар", "aleksandar", False),
        ("Марија", "marija", True),
        ("Горан", "goran", False),
        ("Катерина", "katerina", True),
    ),
}
_LAST_NAMES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "en": tuple(
        (n, n.lower())
        for n in ("Smith", "Jones", "Taylor", "Brown", "Murphy", "Kelly", "Walsh", "Byrne")
    ),
    "sv": tuple(
        (n, n.lower())
        for n in ("Johansson", "Andersson", "Karlsson", "Nilsson", "Eriksson", "Lindberg")
    ),
    "nl": (
        ("de Vries", "devries"),
        ("Jansen", "jansen"),
        ("van den Berg", "vandenberg"),
        ("Bakker", "bakker"),
        ("Visser", "visser"),
        ("Peeters", "peeters"),
        ("Mulder", "mulder"),
    ),
    # Masculine forms; feminine ones end in -ска instead of -ски.
    "mk": (
        ("Петровски", "petrovski"),
        ("Николовски", "nikolovski"),
        ("Стојановски", "stojanovski"),
        ("Трајковски", "trajkovski"),
        ("Јовановски", "jovanovski"),
        ("Димитровски", "dimitrovski"),
    ),
}


@dataclass(frozen=True)
class DemoContact:
    """A demo customer as the response generator needs it: id and segments."""

    id: int
    plan: str
    vip: bool
    country: str

    @property
    def language(self) -> str:
        return COUNTRIES[self.country][1]

    @property
    def region(self) -> str:
        return COUNTRIES[self.country][2]


def contact_rows(organisation_id: int, seed: int) -> list[dict[str, Any]]:
    """The ``Contact`` rows of the demo customers, numbered from 1, for one insert."""
    rng = random.Random(f"{seed}:contacts")  # noqa: S311 (demo data, not secrets)
    rows: list[dict[str, Any]] = []
    for number in range(1, DEMO_CONTACTS + 1):
        plan = rng.choices(list(PLANS), weights=[share for share, _ in PLANS.values()])[0]
        vip = rng.random() < VIP_SHARE[plan]
        country = rng.choices(list(COUNTRIES), weights=[c[0] for c in COUNTRIES.values()])[0]
        language = COUNTRIES[country][1]
        first, first_ascii, female = rng.choice(_FIRST_NAMES[language])
        last, last_ascii = rng.choice(_LAST_NAMES[language])
        if language == "mk" and female:
            last, last_ascii = last[:-1] + "а", last_ascii[:-1] + "a"
        rows.append(
            {
                "organisation_id": organisation_id,
                "external_id": f"{CONTACT_PREFIX}{number:05d}",
                "email": f"{first_ascii}.{last_ascii}.{number:05d}@example.com",
                "name": f"{first} {last}",
                "locale": f"{language}-{country}",
                "attributes": {"plan": plan, "vip": "yes" if vip else "no", "country": country},
            }
        )
    return rows


def demo_contact(contact_id: int, attributes: Mapping[str, Any] | None) -> DemoContact | None:
    """The demo customer a stored contact's attributes describe; None for another contact."""
    attributes = attributes or {}
    plan, vip, country = attributes.get("plan"), attributes.get("vip"), attributes.get("country")
    if plan not in PLANS or country not in COUNTRIES:
        return None
    return DemoContact(id=contact_id, plan=str(plan), vip=vip == "yes", country=str(country))
