"""The published benchmark a dashboard shows beside its score: the newest ACSI score of the
organisation's industry."""

from __future__ import annotations

from dataclasses import dataclass

from cxpulse.metrics import find_industry


@dataclass(frozen=True)
class Benchmark:
    industry: str
    score: float
    year: int
    source: str


def pick_benchmark(industry: str | None) -> Benchmark | None:
    """The newest ACSI score of the organisation's industry (exact name first)."""
    if not industry or not industry.strip():
        return None
    try:
        found = find_industry(industry)
    except LookupError:
        return None
    wanted = industry.strip().casefold()
    exact = [s for s in found if s.industry.casefold() == wanted]
    best = max(exact or found, key=lambda s: (s.year, s.score))
    return Benchmark(best.industry, best.score, best.year, best.source)
