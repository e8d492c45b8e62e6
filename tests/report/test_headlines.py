"""Headline numbers and the distribution of a view (``report/headlines.py``)."""

from __future__ import annotations

from cxpulse.metrics import Histogram, MetricSpec
from cxpulse.report import filters_url as urls
from cxpulse.report import headlines


def test_nps_distribution_and_drill_ranges() -> None:
    spec = MetricSpec.default("nps")
    rows = headlines.distribution(Histogram({10: 5, 8: 3, 2: 2}), spec)
    assert [(r.label, r.count) for r in rows] == [
        ("Promoters", 5),
        ("Passives", 3),
        ("Detractors", 2),
    ]
    assert rows[1].drill == urls.DrillFilters(min_score=7, max_score=8)
    assert rows[2].drill.max_score == 6
