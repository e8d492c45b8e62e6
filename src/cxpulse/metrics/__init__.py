"""Pure maths of customer-satisfaction scores: no I/O, no database, no files."""

from cxpulse.metrics.histogram import Histogram, merge
from cxpulse.metrics.scales import Metric, Scale, Thresholds, default_thresholds, parse_scale
from cxpulse.metrics.scores import (
    DEFAULT_LEVEL,
    DEFAULT_MIN_N,
    MetricResult,
    MetricSpec,
    NpsMethod,
    ces,
    csat,
    dsat,
    mean,
    nps,
    score,
)

__all__ = [
    "DEFAULT_LEVEL",
    "DEFAULT_MIN_N",
    "Histogram",
    "Metric",
    "MetricResult",
    "MetricSpec",
    "NpsMethod",
    "Scale",
    "Thresholds",
    "ces",
    "csat",
    "default_thresholds",
    "dsat",
    "mean",
    "merge",
    "nps",
    "parse_scale",
    "score",
]
