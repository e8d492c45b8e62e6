"""How many answers a wanted margin of error needs.

The margin is the half-width of the interval at ``level``: points for CSAT, DSAT, CES % agree
and NPS (NPS points run -100..100), scale units for the CES mean and the mean. Without an
expectation the worst case is assumed, so the answer is an upper bound:

- proportions: n = z² p(1 - p) / m², p = 0.5 unless an expected share is given;
- NPS: n = z² (p + d - (p - d)²) / m² - 3, p = d = 0.5 (variance 1) unless expected promoter and
  detractor shares are given. The adjusted-Wald interval of cxpulse adds three pseudo answers
  (0.75 promoters, 0.75 detractors, 1.5 passives), so its standard error has n + 3 in the
  denominator: three fewer real answers reach the same margin. Never fewer than one answer;
- CES mean and mean: the smallest n with t(n - 1) s / sqrt(n) <= m, t the two-sided Student
  quantile at df = n - 1 (found by stepping up from the normal-theory n, which is a lower
  bound because t > z), s = (high - low) / 2 of the scale unless given: the largest standard
  deviation answers on that scale can have.

For CES, ``expected`` (a share of answers that agree) plans the % agree instead of the mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cxpulse.metrics import intervals
from cxpulse.metrics.scales import DEFAULT_SCALE, Metric, Scale
from cxpulse.metrics.scores import DEFAULT_LEVEL

NPS_PSEUDO_ANSWERS = 3


@dataclass(frozen=True)
class SampleSizePlan:
    """The answer to "how many answers do I need?", with what it assumed."""

    metric: Metric
    margin: float
    level: float
    n: int
    assumptions: dict[str, float] = field(default_factory=dict)
    method: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": str(self.metric),
            "margin": self.margin,
            "level": self.level,
            "n": self.n,
            "assumptions": dict(self.assumptions),
            "method": self.method,
        }


def _ceil(x: float) -> int:
    # 384.00000000000006 is 384 answers, not 385: forgive floating-point dust.
    return math.ceil(round(x, 9))


def _check_share(name: str, value: float | None) -> None:
    if value is not None and not 0 <= value <= 1:
        raise ValueError(f"{name} is a share between 0 and 1 (0.85 for 85%), got {value}")


def _reject(metric: Metric, **given: float | None) -> None:
    for name, value in given.items():
        if value is not None:
            raise ValueError(f"{name} does not apply to {metric.value.upper()}")


def worst_case_nps_variance(promoters: float | None, detractors: float | None) -> float:
    """Variance per answer of NPS, taking the worst case for any share not given.

    The variance p + d - (p - d)² is largest at p = d = 0.5 (variance 1). With one share
    known, the other is chosen to maximise it within p + d <= 1.
    """
    if promoters is None and detractors is None:
        return 1.0
    if promoters is not None and detractors is not None:
        return intervals.nps_variance(promoters, detractors)
    known = promoters if promoters is not None else detractors
    assert known is not None
    # Maximum over x in 0..1-known of known + x - (known - x)²: at x = known + 0.5 if allowed.
    if known <= 0.25:
        return 2 * known + 0.25
    return 4 * known * (1 - known)


def _worst_other(known: float) -> float:
    return known + 0.5 if known <= 0.25 else 1 - known


def required_sample_size(
    metric: Metric | str,
    margin: float,
    *,
    level: float = DEFAULT_LEVEL,
    expected: float | None = None,
    promoters: float | None = None,
    detractors: float | None = None,
    sd: float | None = None,
    scale: Scale | None = None,
) -> SampleSizePlan:
    """Answers needed so that the interval of ``metric`` is ``value ± margin`` at ``level``.

    ``expected``, ``promoters`` and ``detractors`` are shares in 0..1 (0.85 for 85 %).
    ``margin`` is in points for CSAT/DSAT/NPS (and CES when ``expected`` is given), in scale
    units for the CES mean and the mean. Raises ValueError for impossible inputs.
    """
    metric = Metric(metric)
    intervals.check_level(level)
    if not math.isfinite(margin) or margin <= 0:
        raise ValueError(f"the margin of error must be a positive number, got {margin}")
    for name, share in (
        ("expected", expected),
        ("promoters", promoters),
        ("detractors", detractors),
    ):
        _check_share(name, share)
    z = intervals.z_quantile(level)

    if metric is Metric.NPS:
        _reject(metric, expected=expected, sd=sd)
        if scale is not None and scale.high != 10:
            raise ValueError(f"NPS is asked on 0-10 (or 1-10), not {scale}")
        if promoters is not None and detractors is not None and promoters + detractors > 1:
            raise ValueError(
                f"promoters ({promoters}) and detractors ({detractors}) add up to more than 1"
            )
        if margin > 200:
            raise ValueError(f"an NPS margin is in NPS points, at most 200, got {margin}")
        variance = worst_case_nps_variance(promoters, detractors)
        if promoters is None and detractors is None:
            p, d = 0.5, 0.5
        elif promoters is None:
            assert detractors is not None
            p, d = _worst_other(detractors), detractors
        elif detractors is None:
            p, d = promoters, _worst_other(promoters)
        else:
            p, d = promoters, detractors
        m = margin / 100
        n = max(1, _ceil(z * z * variance / (m * m)) - NPS_PSEUDO_ANSWERS)
        return SampleSizePlan(
            metric=metric,
            margin=margin,
            level=level,
            n=n,
            assumptions={"promoters_pct": p * 100, "detractors_pct": d * 100},
            method="adjusted Wald: n = z²(p + d - (p - d)²)/m² - 3",
        )

    proportion = metric in (Metric.CSAT, Metric.DSAT) or (
        metric is Metric.CES and expected is not None
    )
    if proportion:
        _reject(metric, promoters=promoters, detractors=detractors, sd=sd)
        if margin > 100:
            raise ValueError(f"a margin for a percentage is in points, at most 100, got {margin}")
        share = 0.5 if expected is None else expected
        m = margin / 100
        n = max(1, _ceil(z * z * share * (1 - share) / (m * m)))
        what = "% agree" if metric is Metric.CES else "proportion"
        return SampleSizePlan(
            metric=metric,
            margin=margin,
            level=level,
            n=n,
            assumptions={"expected_pct": share * 100},
            method=f"normal approximation for a {what}: n = z²p(1 - p)/m²",
        )

    # CES mean and mean.
    _reject(metric, expected=expected, promoters=promoters, detractors=detractors)
    scale = scale or DEFAULT_SCALE[metric]
    if sd is None:
        sd = (scale.high - scale.low) / 2
    elif not math.isfinite(sd) or sd <= 0:
        raise ValueError(f"the standard deviation must be a positive number, got {sd}")
    n = max(2, _ceil((z * sd / margin) ** 2))
    while intervals.t_quantile(level, n - 1) * sd / math.sqrt(n) > margin:
        n += 1
    return SampleSizePlan(
        metric=metric,
        margin=margin,
        level=level,
        n=n,
        assumptions={"sd": sd},
        method="t: smallest n with t(n - 1)·s/√n <= m",
    )
