"""The short cache of public survey targets in ``cxpulse.web.survey_page_targets``."""

from __future__ import annotations

from cxpulse.store.models import Survey
from cxpulse.store.survey_options import CollectOptions
from cxpulse.web.survey_page_targets import (
    TARGET_CACHE_SECONDS,
    TARGET_CACHE_SIZE,
    Target,
    TargetCache,
)


def test_target_cache_expires() -> None:
    now = [100.0]
    cache = TargetCache(clock=lambda: now[0])
    target = Target("Org", Survey(), CollectOptions())
    cache.put(("org", "nps"), target)
    assert cache.get(("org", "nps")) is target
    assert cache.get(("org", "other")) is None
    now[0] += TARGET_CACHE_SECONDS + 0.01
    assert cache.get(("org", "nps")) is None


def test_a_full_target_cache_starts_again() -> None:
    cache = TargetCache(clock=lambda: 0.0)
    target = Target("Org", Survey(), CollectOptions())
    for number in range(TARGET_CACHE_SIZE):
        cache.put(("org", str(number)), target)
    assert cache.get(("org", "0")) is target
    cache.put(("org", "one more"), target)
    assert cache.get(("org", "0")) is None
    assert cache.get(("org", "one more")) is target
