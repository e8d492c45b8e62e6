"""Pure maths of customer-satisfaction scores: no I/O, no database, no files.

Importing this package stays cheap because CLI start-up time matters: numpy and scipy load
only when a t quantile or a bootstrap needs them, and the sample-size and benchmark modules
load on first use of one of their names (``__getattr__`` below). ``compare`` is imported
eagerly on purpose: the function shares its name with its module, and a lazy import would
let ``import cxpulse.metrics.compare`` shadow the function with the module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxpulse.lazy_names import lazy_getattr
from cxpulse.metrics.compare import Comparison, compare
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
    format_value,
    mean,
    nps,
    score,
)

if TYPE_CHECKING:
    from cxpulse.metrics.benchmarks import (
        ACSI_CAVEAT,
        BenchmarkScore,
        find_industry,
        load_acsi,
        rating,
    )
    from cxpulse.metrics.samplesize import SampleSizePlan, required_sample_size

_LAZY = {
    "ACSI_CAVEAT": "benchmarks",
    "BenchmarkScore": "benchmarks",
    "find_industry": "benchmarks",
    "load_acsi": "benchmarks",
    "rating": "benchmarks",
    "SampleSizePlan": "samplesize",
    "required_sample_size": "samplesize",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "ACSI_CAVEAT",
    "DEFAULT_LEVEL",
    "DEFAULT_MIN_N",
    "BenchmarkScore",
    "Comparison",
    "Histogram",
    "Metric",
    "MetricResult",
    "MetricSpec",
    "NpsMethod",
    "SampleSizePlan",
    "Scale",
    "Thresholds",
    "ces",
    "compare",
    "csat",
    "default_thresholds",
    "dsat",
    "find_industry",
    "format_value",
    "load_acsi",
    "mean",
    "merge",
    "nps",
    "parse_scale",
    "rating",
    "required_sample_size",
    "score",
]
