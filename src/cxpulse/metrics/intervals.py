"""Interval estimators for proportions, NPS and means.

All functions work on proportions in 0..1 (NPS in -1..1); callers turn them into points.
References: Brown, Cai & DasGupta (2001) for Wilson; Lewis & Sauro (MeasuringU) and Rocks
(2016) for the adjusted-Wald NPS interval; Tango (1998) for the score interval NPS falls back
on in small groups (see ``nps_interval``).
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

_STANDARD_NORMAL = NormalDist()


def check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"confidence level must lie strictly between 0 and 1, got {level}")


@lru_cache(maxsize=64)
def z_quantile(level: float) -> float:
    """Two-sided critical value of the standard normal for ``level`` (cached: scoring thousands
    of groups asks for the same few levels)."""
    check_level(level)
    return _STANDARD_NORMAL.inv_cdf(0.5 + level / 2)


def t_quantile(level: float, df: float) -> float:
    """Two-sided critical value of Student's t; scipy is imported only when a mean needs it."""
    check_level(level)
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.5 + level / 2))


def normal_two_sided_p(z: float) -> float:
    return 2 * (1 - _STANDARD_NORMAL.cdf(abs(z)))


def t_two_sided_p(t: float, df: float) -> float:
    from scipy.special import stdtr

    return float(2 * stdtr(df, -abs(t)))


def wilson(successes: int, n: int, level: float) -> tuple[float, float]:
    """Wilson score interval for ``successes`` of ``n``."""
    if n <= 0:
        return (math.nan, math.nan)
    z = z_quantile(level)
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At 0 of n (n of n) the bound is exactly 0 (1); floating point can land a hair inside,
    # leaving the observed share outside its own interval.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def nps_variance(promoter_share: float, detractor_share: float) -> float:
    """Variance of a single answer scored +1 / 0 / -1."""
    return promoter_share + detractor_share - (promoter_share - detractor_share) ** 2


def nps_wald(promoters: int, detractors: int, n: int, level: float) -> tuple[float, float]:
    """Plain Wald interval for NPS as a proportion difference, clipped to -1..1."""
    if n <= 0:
        return (math.nan, math.nan)
    p, d = promoters / n, detractors / n
    half = z_quantile(level) * math.sqrt(nps_variance(p, d) / n)
    return (max(-1.0, p - d - half), min(1.0, p - d + half))


def adjusted_nps(promoters: int, detractors: int, n: int) -> tuple[float, float, float]:
    """Adjusted estimate of Lewis & Sauro: three pseudo-answers, 0.75 added to each end.

    Returns (adjusted NPS, its variance per answer, adjusted n).
    """
    n_adj = n + 3
    p_adj = (promoters + 0.75) / n_adj
    d_adj = (detractors + 0.75) / n_adj
    return (p_adj - d_adj, nps_variance(p_adj, d_adj), n_adj)


def nps_adjusted_wald(promoters: int, detractors: int, n: int, level: float) -> tuple[float, float]:
    """Adjusted-Wald interval for NPS, clipped to -1..1."""
    if n <= 0:
        return (math.nan, math.nan)
    centre, variance, n_adj = adjusted_nps(promoters, detractors, n)
    half = z_quantile(level) * math.sqrt(variance / n_adj)
    return (max(-1.0, centre - half), min(1.0, centre + half))


SCORE_INTERVAL_BELOW_N = 30
"""Below this many answers the default NPS interval is Tango's score interval; from here on it
is the adjusted-Wald interval published figures have always used (unless that one misses the
observed score, which only happens at levels below 95 %)."""


def nps_interval(promoters: int, detractors: int, n: int, level: float) -> tuple[float, float]:
    """The default NPS interval (``nps_method="adjusted-wald"``), which always contains the
    observed score.

    From ``SCORE_INTERVAL_BELOW_N`` answers on it is the adjusted-Wald interval, unchanged. The
    pseudo answers pull that interval's centre towards 0, so in small groups (one promoter: NPS
    100, interval -48.5 to 98.5) and at low levels it can exclude the score it stands for; there,
    and in every group below ``SCORE_INTERVAL_BELOW_N``, Tango's score interval is used.
    """
    if n <= 0:
        return (math.nan, math.nan)
    if n >= SCORE_INTERVAL_BELOW_N:
        low, high = nps_adjusted_wald(promoters, detractors, n, level)
        if low <= (promoters - detractors) / n <= high:
            return (low, high)
    return nps_score(promoters, detractors, n, level)


def _tango_statistic(promoters: int, detractors: int, n: int, delta: float) -> float:
    """Tango's score statistic for "the NPS is ``delta``" (on -1..1).

    NPS is the difference of two shares of one trinomial sample (promoters, detractors), the
    same structure as the difference of two paired proportions (the discordant cells b and c
    of a paired 2x2 table), so Tango's statistic applies unchanged: the observed difference
    minus ``delta``, over its standard error with the detractor share estimated by maximum
    likelihood under "NPS = ``delta``".
    """
    a = 2 * n
    b = -promoters - detractors + (2 * n - promoters + detractors) * delta
    c = -detractors * delta * (1 - delta)
    detractor_share = (math.sqrt(max(0.0, b * b - 4 * a * c)) - b) / (2 * a)
    numerator = promoters - detractors - n * delta
    variance = n * (2 * detractor_share + delta * (1 - delta))
    if variance <= 0:
        # Only at delta = ±1 with every answer in that band: numerator 0 means "inside".
        return 0.0 if numerator == 0 else math.copysign(math.inf, numerator)
    return numerator / math.sqrt(variance)


@lru_cache(maxsize=16_384)
def nps_score(promoters: int, detractors: int, n: int, level: float) -> tuple[float, float]:
    """Tango's (1998) asymptotic score interval for NPS, on -1..1.

    The set of NPS values a two-sided score test at ``level`` does not reject. The statistic is
    0 at the observed score, so the interval always contains it; each limit is found by
    bisection between the observed score and ±1 (the limits are where the statistic reaches
    ±z). Cached: small groups repeat the same few counts.
    """
    if n <= 0:
        return (math.nan, math.nan)
    z = z_quantile(level)
    observed = (promoters - detractors) / n

    def limit(outer: float) -> float:
        inner = observed
        if abs(_tango_statistic(promoters, detractors, n, outer)) <= z:
            return outer
        # Invariant: |T(inner)| <= z < |T(outer)|; 60 halvings of at most 2 reach 1e-17.
        for _ in range(60):
            middle = (inner + outer) / 2
            if middle in (inner, outer):
                break
            if abs(_tango_statistic(promoters, detractors, n, middle)) <= z:
                inner = middle
            else:
                outer = middle
        return inner

    return (limit(-1.0), limit(1.0))


def nps_bootstrap(
    promoters: int,
    passives: int,
    detractors: int,
    level: float,
    resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap: resample the three band counts from their observed shares."""
    check_level(level)
    n = promoters + passives + detractors
    if n <= 0:
        return (math.nan, math.nan)
    import numpy as np

    rng = np.random.default_rng(seed)
    shares = np.array([promoters, passives, detractors], dtype=float) / n
    draws = rng.multinomial(n, shares, size=resamples)
    scores = (draws[:, 0] - draws[:, 2]) / n
    tail = (1 - level) / 2
    low, high = np.quantile(scores, [tail, 1 - tail])
    return (float(low), float(high))


def t_interval(mean: float, variance: float, n: int, level: float) -> tuple[float, float]:
    """Student's t interval for a mean; undefined below two answers."""
    if n < 2 or math.isnan(variance):
        return (math.nan, math.nan)
    half = t_quantile(level, n - 1) * math.sqrt(variance / n)
    return (mean - half, mean + half)
