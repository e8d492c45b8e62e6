"""What moves the demo's scores: who the customers are (plan, VIP, country), what they buy and
who helps them, how much each of these shifts satisfaction, and the two events of the period.

Effects are in effect units, turned into scale points by each survey's ``sensitivity``
(``cxpulse.demo.survey_plans``). Shares are weights of a draw, made with ``pick``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Final

PLANS: Final = {"free": (0.6, -0.35), "pro": (0.3, 0.0), "enterprise": (0.1, 0.35)}
"""plan: (share of contacts, effect)."""
VIP_SHARE: Final = {"free": 0.03, "pro": 0.1, "enterprise": 0.35}
VIP_EFFECT: Final = 0.4
COUNTRIES: Final = {
    # country: (share, language, region, effect)
    "SE": (0.30, "sv", "Nordics", 0.10),
    "NL": (0.20, "nl", "Benelux", 0.0),
    "BE": (0.08, "nl", "Benelux", -0.05),
    "MK": (0.15, "mk", "Balkans", 0.15),
    "GB": (0.20, "en", "UK & Ireland", -0.10),
    "IE": (0.07, "en", "UK & Ireland", 0.0),
}
CHANNEL_EFFECT: Final = {"email": 0.0, "web": 0.05, "widget": 0.15, "sms": -0.3}
PRODUCTS: Final = {
    # product: (share, effect)
    "Clothing": (0.35, 0.0),
    "Shoes": (0.2, 0.0),
    "Electronics": (0.2, -0.2),
    "Home": (0.15, 0.1),
    "Sports": (0.1, 0.05),
}
TEAMS: Final = {
    # team: (share, effect, agents)
    "Tier 1": (0.6, 0.0, ("Anna", "Erik", "Sanne", "Daan", "James", "Emma")),
    "Tier 2": (0.2, 0.2, ("Elena", "Marko", "Oskar")),
    "Billing": (0.2, -0.3, ("Sofia", "Lucas", "Ivana")),
}
AGENT_EFFECT: Final = {"Marko": 0.4, "Elena": 0.3, "James": -0.2, "Lucas": -0.6}
RETURN_REASONS: Final = {
    # reason: (effect, share per product kind: apparel, other)
    "wrong size": (0.1, 0.55, 0.05),
    "changed my mind": (0.0, 0.25, 0.35),
    "damaged or defective": (-0.4, 0.1, 0.4),
    "not as described": (-0.2, 0.1, 0.2),
}

# Events, as a fraction of the generated period.

PRICE_INCREASE_AT: Final = 0.5
"""The price increase: relationship NPS drops after it, most for the free plan."""
PORTAL_LAUNCH_AT: Final = 0.55
"""The new returns portal: returns get easier (CES) and customers start praising it."""


def pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    """One key of ``weights``, drawn with the values as weights."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]
