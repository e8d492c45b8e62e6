"""The published benchmark a dashboard shows beside its score: the newest ACSI score of the
organisation's industry, on CSAT surveys only.

The ACSI is a 0-100 index of customer satisfaction built by its own multi-question model: the
nearest public reference for a CSAT, but not one for a likelihood to recommend (NPS), an
effort score (CES), a share of dissatisfied answers (DSAT) or a plain mean. So
``pick_benchmark`` gives nothing for those metrics, and even on CSAT the page labels the
figure as an index on another scale (``metrics.benchmarks.ACSI_CAVEAT``), never a target.
"""

from __future__ import annotations

from dataclasses import dataclass

from cxpulse.metrics import Metric, find_industry

BENCHMARK_METRICS = frozenset({Metric.CSAT})
"""The metrics an ACSI score may stand beside."""

SCALE_TEXT = "index from 0 to 100 (not a CSAT percentage)"


@dataclass(frozen=True)
class Benchmark:
    industry: str
    score: float
    year: int
    source: str

    @property
    def label(self) -> str:
        """``ACSI e-commerce 2020: 81 (index 0-100)``: the figure with its year and scale."""
        return f"ACSI {self.industry} {self.year}: {self.score:.0f} (index 0-100)"


def benchmark_applies(metric: Metric | str) -> bool:
    """Whether an ACSI score means anything beside a score of ``metric`` (CSAT only)."""
    return Metric(metric) in BENCHMARK_METRICS


def pick_benchmark(industry: str | None, metric: Metric | str | None = None) -> Benchmark | None:
    """The newest ACSI score of the organisation's industry (exact name first); None when the
    industry is unknown or, with ``metric``, when the metric is not one an ACSI score may
    stand beside (see ``BENCHMARK_METRICS``)."""
    if metric is not None and not benchmark_applies(metric):
        return None
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
