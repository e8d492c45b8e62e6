"""What moves the demo's scores: shares that add up, draws that follow the weights."""

from __future__ import annotations

import random
from collections import Counter

from cxpulse.demo.score_drivers import (
    AGENT_EFFECT,
    COUNTRIES,
    PLANS,
    PORTAL_LAUNCH_AT,
    PRICE_INCREASE_AT,
    PRODUCTS,
    TEAMS,
    VIP_SHARE,
    pick,
)


def test_shares_add_up_to_one() -> None:
    for shares in (
        [share for share, _ in PLANS.values()],
        [country[0] for country in COUNTRIES.values()],
        [product[0] for product in PRODUCTS.values()],
        [team[0] for team in TEAMS.values()],
    ):
        assert abs(sum(shares) - 1) < 1e-9
    assert set(VIP_SHARE) == set(PLANS)
    agents = {agent for _, _, names in TEAMS.values() for agent in names}
    assert set(AGENT_EFFECT) <= agents
    assert 0 < PRICE_INCREASE_AT < PORTAL_LAUNCH_AT < 1


def test_pick_follows_the_weights() -> None:
    rng = random.Random(1)
    drawn = Counter(pick(rng, {"often": 0.9, "rarely": 0.1, "never": 0.0}) for _ in range(2000))
    assert drawn["never"] == 0
    assert 1650 < drawn["often"] < 1950
    assert pick(random.Random(2), {"a": 1.0, "b": 2.0}) == pick(
        random.Random(2), {"a": 1.0, "b": 2.0}
    )
