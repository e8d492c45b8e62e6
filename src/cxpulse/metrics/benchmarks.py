"""Published industry scores to hold a CSAT against: the American Customer Satisfaction Index.

The table lives in ``cxpulse/metrics/data/acsi.json`` and is read with importlib.resources,
so it works from a wheel, a zip or a source checkout alike. Each score names its year and
source. Read ``ACSI_CAVEAT`` before comparing: the ACSI is a different measure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

ACSI_CAVEAT = (
    "ACSI scores are indices from 0 to 100 produced by a multi-question model (satisfaction, "
    "expectations and the ideal, weighted by the ACSI's own model) on the ACSI's samples of U.S. "
    "consumers. They are not the same measure as a CSAT percentage (the share of answers in the "
    "top two boxes of one question), so a CSAT of 80% does not equal an ACSI of 80: read ACSI "
    "scores only as a rough reference, never as a target your CSAT can be tested against."
)

VERY_GOOD_ABOVE = 80
ROOM_BELOW = 60


@dataclass(frozen=True)
class BenchmarkScore:
    """One industry's ACSI score (0-100) in one year, with where it was published."""

    industry: str
    score: float
    year: int
    source: str


@lru_cache(maxsize=1)
def _load() -> tuple[BenchmarkScore, ...]:
    # Imported here: importlib.resources costs milliseconds that CLI start-up should not pay.
    import json
    from importlib import resources

    text = resources.files("cxpulse.metrics.data").joinpath("acsi.json").read_text("utf-8")
    data = json.loads(text)
    return tuple(
        BenchmarkScore(
            industry=str(row["industry"]),
            score=float(row["score"]),
            year=int(row["year"]),
            source=str(row["source"]),
        )
        for row in data["scores"]
    )


def load_acsi() -> list[BenchmarkScore]:
    """Every bundled ACSI industry score, highest first (then by industry and year)."""
    return sorted(_load(), key=lambda s: (-s.score, s.industry, -s.year))


def find_industry(name: str) -> list[BenchmarkScore]:
    """Scores of industries whose name contains ``name``, ignoring case.

    Raises LookupError naming the known industries when none matches.
    """
    wanted = name.strip().casefold()
    found = [s for s in load_acsi() if wanted in s.industry.casefold()]
    if not found:
        known = ", ".join(sorted({s.industry for s in _load()}))
        raise LookupError(f"no ACSI industry matches {name!r}; known industries: {known}")
    return found


def rating(score: float) -> str:
    """The usual rule of thumb for an ACSI score: above 80 very good, below 60 poor."""
    if math.isnan(score) or not 0 <= score <= 100:
        raise ValueError(f"an ACSI score lies between 0 and 100, got {score}")
    if score > VERY_GOOD_ABOVE:
        return "very good (above 80)"
    if score < ROOM_BELOW:
        return "much room for improvement (below 60)"
    return "in between: solid, with room to improve (60-80)"
