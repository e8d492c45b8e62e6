"""Key-driver analysis: which attribute ratings move an overall score, with intervals.

Given an outcome (an overall rating, NPS answer, CSAT ...) and several attribute ratings
("delivery speed", "staff", "price" ...) answered by the same people, a linear regression of
the outcome on the attributes explains a share R² of its variance. Because attributes are
correlated with each other, the regression's coefficients do not say how much each one
matters; two decompositions of R² do:

- **Relative weights** (Johnson 2000, "A heuristic method for estimating the relative weight of
  predictor variables in multiple regression", *Multivariate Behavioral Research* 35): the
  drivers are replaced by their closest orthogonal counterparts (the symmetric square root of
  their correlation matrix), the outcome is regressed on those, and each driver gets the part of
  R² that flows through it. The weights are non-negative and add up to R².
- **Shapley values of R²** (also called dominance analysis' general dominance, Lindeman,
  Merenda & Gold 1980; Budescu 1993): each driver's R² gain when it joins a model, averaged over
  every order in which drivers can join. Exact, so it needs the R² of all 2^p subsets of the p
  drivers: computed up to ``SHAPLEY_MAX_DRIVERS`` drivers and skipped (said in ``notes``)
  beyond. They add up to R² too, and are close to the relative weights in practice.

Both work from the correlation matrix of the complete rows (rows with a blank anywhere are
dropped and counted). Intervals are **percentile bootstrap** intervals: ``bootstrap`` resamples
of the rows with replacement (seeded, so the same data give the same table), the weights
recomputed on each. Where the resampled values lie wholly on one side of the estimate (a
driver whose weight is near 0 has every resampled weight above it) the interval is extended to
the estimate, so that, as everywhere in cxpulse, an interval holds its estimate.

Perfectly collinear drivers (one a linear function of others, such as the same column given
twice) do not raise: pseudo-inverses in place of inverses split the weight they share between
them, and ``notes`` names them.

numpy only: each batch of resamples is one matrix product of draw counts with the rows'
values and pairwise products, and the decompositions run batched over the resamples. On the
two-core machine 1,000 resamples of 10,000 rows and 6 drivers take about 0.4 s of CPU (1 to 2 s
wall while other work shares the machine); 10 drivers, Shapley values included, about 3 s.
The bootstrap's cost grows with rows x resamples: 300,000 rows and 8 drivers took 58 s of CPU
for 1,000 resamples on a busy machine (about 10 s expected on a quiet one), so callers with very
large files may ask for fewer resamples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from cxpulse.metrics import intervals

SHAPLEY_MAX_DRIVERS = 10
"""Exact Shapley values need the R² of 2^p driver subsets per resample: 1,024 at ten drivers."""

EXTRA_ROWS = 10
"""Complete rows needed beyond one per driver and one for the intercept: fewer leave R² to
noise (with as many rows as coefficients any outcome is fitted exactly)."""

_RANK_TOLERANCE = 1e-10
"""Eigenvalues below this share of the largest count as zero: drivers that are linear
functions of others."""

_ROW_CHUNK = 65_536
"""Rows whose pairwise products are multiplied at a time in the bootstrap."""

_CACHED_PRODUCTS = 16_000_000
"""Pairwise products of all rows kept between batches up to this many values (128 MB)."""

_COUNTS_PER_BATCH = 8_000_000
"""Draw counts per batch of resamples (resamples x rows, 64 MB)."""

_Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class DriverRow:
    """One driver: how much of the outcome's explained variance it carries."""

    name: str
    weight: float
    """Johnson's relative weight, in R² units: the rows' weights add up to ``r_squared``."""
    weight_ci_low: float
    weight_ci_high: float
    share: float
    """``weight`` as a share of R², in percent (NaN when R² is 0)."""
    shapley: float | None
    """Shapley value of R² (R² units, adding up to ``r_squared``); None beyond
    ``SHAPLEY_MAX_DRIVERS`` drivers."""
    shapley_ci_low: float | None
    shapley_ci_high: float | None
    correlation: float
    """Pearson correlation with the outcome over the complete rows."""
    mean: float
    """Mean of the driver over the complete rows."""

    def to_dict(self) -> dict[str, Any]:
        return {name: _clean(value) for name, value in self.__dict__.items()}


@dataclass(frozen=True)
class KeyDriverTable:
    """The key-driver table of one outcome."""

    n: int
    """Complete rows analysed."""
    dropped: int
    """Rows left out because the outcome or a driver was blank."""
    r_squared: float
    """Share of the outcome's variance the drivers explain together (linear regression)."""
    r_squared_ci_low: float
    r_squared_ci_high: float
    level: float
    bootstrap: int
    """Bootstrap resamples behind the intervals (0: no intervals)."""
    rows: tuple[DriverRow, ...]
    """Heaviest relative weight first."""
    notes: tuple[str, ...]
    """What a reader should know: Shapley values skipped, collinear drivers."""

    def row(self, name: str) -> DriverRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "dropped": self.dropped,
            "r_squared": _clean(self.r_squared),
            "r_squared_ci_low": _clean(self.r_squared_ci_low),
            "r_squared_ci_high": _clean(self.r_squared_ci_high),
            "level": self.level,
            "bootstrap": self.bootstrap,
            "rows": [row.to_dict() for row in self.rows],
            "notes": list(self.notes),
        }


def key_drivers(
    outcome: ArrayLike,
    drivers: Mapping[str, ArrayLike],
    *,
    level: float = 0.95,
    bootstrap: int = 1000,
    seed: int = 0,
) -> KeyDriverTable:
    """Relative weights and Shapley values of ``drivers`` for ``outcome``, with bootstrap
    intervals at ``level``.

    ``outcome`` and each driver are equally long 1-D arrays of numbers, one entry per
    respondent; NaN (or None) is a blank, and a row with a blank anywhere is dropped. Raises
    ``ValueError`` with a message for the user when the input cannot be analysed: no drivers,
    different lengths, text in a column, too few complete rows, or a column that does not vary.
    """
    intervals.check_level(level)
    if bootstrap < 0:
        raise ValueError(f"bootstrap must be 0 or more resamples, got {bootstrap}")
    names, data, dropped = _complete_rows(outcome, drivers)
    n, p = data.shape[0], len(names)
    if n < p + 1 + EXTRA_ROWS:
        raise ValueError(
            f"key-driver analysis of {p} driver(s) needs at least {p + 1 + EXTRA_ROWS} complete "
            f"rows, got {n}" + (f" ({dropped} dropped for a blank)" if dropped else "")
        )
    _check_variation(data, names)
    correlations = _correlations(data[None, :, :])
    weights, r_squared = _relative_weights(correlations)
    with_shapley = p <= SHAPLEY_MAX_DRIVERS
    shapley = _shapley(correlations) if with_shapley else None
    notes = _notes(correlations[0], names, with_shapley)

    boot_weights = boot_r2 = boot_shapley = None
    if bootstrap:
        resampled = _resampled_correlations(data, bootstrap, seed)
        boot_weights, boot_r2 = _relative_weights(resampled)
        boot_shapley = _shapley(resampled) if with_shapley else None
    r2_low, r2_high = _percentile(boot_r2, r_squared[0], level)
    weight_low, weight_high = _percentile(boot_weights, weights[0], level)
    shapley_low = shapley_high = None
    if shapley is not None:
        shapley_low, shapley_high = _percentile(boot_shapley, shapley[0], level)

    rows = []
    for j, name in enumerate(names):
        rows.append(
            DriverRow(
                name=name,
                weight=float(weights[0, j]),
                weight_ci_low=float(weight_low[j]),
                weight_ci_high=float(weight_high[j]),
                share=float(weights[0, j] / r_squared[0] * 100) if r_squared[0] > 0 else math.nan,
                shapley=None if shapley is None else float(shapley[0, j]),
                shapley_ci_low=None if shapley_low is None else float(shapley_low[j]),
                shapley_ci_high=None if shapley_high is None else float(shapley_high[j]),
                correlation=float(correlations[0, 0, j + 1]),
                mean=float(data[:, j + 1].mean()),
            )
        )
    rows.sort(key=lambda row: (-row.weight, row.name))
    return KeyDriverTable(
        n=n,
        dropped=dropped,
        r_squared=float(r_squared[0]),
        r_squared_ci_low=float(r2_low),
        r_squared_ci_high=float(r2_high),
        level=level,
        bootstrap=bootstrap,
        rows=tuple(rows),
        notes=notes,
    )


# --- input -----------------------------------------------------------------------------------


def _as_column(values: ArrayLike, label: str) -> _Array:
    try:
        column = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{label} holds values that are not numbers") from None
    if column.ndim != 1:
        raise ValueError(f"{label} must be one value per row, got an array of shape {column.shape}")
    return column


def _complete_rows(
    outcome: ArrayLike, drivers: Mapping[str, ArrayLike]
) -> tuple[list[str], _Array, int]:
    """(driver names, complete rows as columns [outcome, drivers...], rows dropped)."""
    if not drivers:
        raise ValueError("key-driver analysis needs at least one driver")
    names = [str(name) for name in drivers]
    columns = [_as_column(outcome, "the outcome")]
    columns += [_as_column(values, f"driver {name!r}") for name, values in drivers.items()]
    lengths = {len(column) for column in columns}
    if len(lengths) > 1:
        sizes = ", ".join(
            f"{label} {len(column)}"
            for label, column in zip(["outcome", *names], columns, strict=True)
        )
        raise ValueError(f"the outcome and the drivers must have one value per row each: {sizes}")
    data = np.column_stack(columns)
    complete = np.isfinite(data).all(axis=1)
    return names, data[complete], int((~complete).sum())


def _check_variation(data: _Array, names: list[str]) -> None:
    spread = data.max(axis=0) - data.min(axis=0)
    if spread[0] == 0:
        raise ValueError(
            f"the outcome is {data[0, 0]:g} in every complete row: there is nothing to explain"
        )
    for j, name in enumerate(names, start=1):
        if spread[j] == 0:
            raise ValueError(
                f"driver {name!r} is {data[0, j]:g} in every complete row: it cannot explain "
                "anything; leave it out"
            )


# --- correlations, once and per resample -----------------------------------------------------


def _correlations(samples: _Array) -> _Array:
    """Correlation matrices of a stack of samples (B, rows, columns) -> (B, columns, columns)."""
    centred = samples - samples.mean(axis=1, keepdims=True)
    return _normalise(np.matmul(centred.transpose(0, 2, 1), centred))


def _normalise(covariance: _Array) -> _Array:
    """Correlations from covariances (B, c, c). A column that does not vary (possible in a
    resample) gets correlation 0 with everything, itself included, so it carries no weight
    instead of dividing by zero."""
    spread = np.sqrt(np.clip(np.einsum("bjj->bj", covariance), 0.0, None))
    scale = np.divide(1.0, spread, out=np.zeros_like(spread), where=spread > 1e-12)
    result: _Array = covariance * scale[:, :, None] * scale[:, None, :]
    return result


def _resampled_correlations(data: _Array, resamples: int, seed: int) -> _Array:
    """Correlation matrices of ``resamples`` bootstrap resamples of the rows.

    A resample is a count per row (how often it was drawn); its means and second moments are
    those counts times the rows' values and pairwise products, so a batch of resamples is a
    matrix product instead of gathering copies of the rows. Batches of resamples and chunks of
    rows keep memory to some tens of megabytes whatever the size of the file.
    """
    rng = np.random.default_rng(seed)
    n, width = data.shape
    # Standardised columns: correlations do not change, and the sums stay well conditioned.
    standard = (data - data.mean(axis=0)) / data.std(axis=0)
    first, second = np.triu_indices(width)
    chunks = [(low, min(n, low + _ROW_CHUNK)) for low in range(0, n, _ROW_CHUNK)]

    def products(low: int, high: int) -> _Array:
        rows = standard[low:high]
        result: _Array = rows[:, first] * rows[:, second]
        return result

    # Pairwise products of every row, formed once when they fit in _CACHED_PRODUCTS values,
    # else again for each batch of resamples, a chunk of rows at a time.
    cached = [products(*chunk) for chunk in chunks] if n * len(first) <= _CACHED_PRODUCTS else None
    out = np.empty((resamples, width, width))
    batch = max(1, min(resamples, _COUNTS_PER_BATCH // n))
    for start in range(0, resamples, batch):
        size = min(resamples, start + batch) - start
        drawn = rng.integers(0, n, size=(size, n)) + n * np.arange(size)[:, None]
        counts = np.bincount(drawn.ravel(), minlength=size * n).reshape(size, n).astype(float)
        means = counts @ standard / n
        moments = np.zeros((size, len(first)))
        for number, (low, high) in enumerate(chunks):
            # A contiguous copy: numpy multiplies a strided slice without BLAS, ten times slower.
            drawn_here = np.ascontiguousarray(counts[:, low:high])
            moments += drawn_here @ (cached[number] if cached else products(low, high))
        moments /= n
        covariance = np.empty((size, width, width))
        covariance[:, first, second] = moments
        covariance[:, second, first] = moments
        covariance -= means[:, :, None] * means[:, None, :]
        out[start : start + size] = _normalise(covariance)
    return out


# --- relative weights ------------------------------------------------------------------------


def _symmetric_roots(matrices: _Array) -> tuple[_Array, _Array]:
    """(square root, pseudo-inverse square root) of each symmetric positive semi-definite
    matrix of a stack; eigenvalues under ``_RANK_TOLERANCE`` of the largest count as 0."""
    values, vectors = np.linalg.eigh(matrices)
    largest = values.max(axis=-1, keepdims=True)
    kept = values > _RANK_TOLERANCE * np.maximum(largest, 0)
    root = np.sqrt(np.where(kept, values, 0.0))
    inverse_root = np.divide(1.0, root, out=np.zeros_like(root), where=kept)
    square = np.einsum("bij,bj,bkj->bik", vectors, root, vectors)
    inverse = np.einsum("bij,bj,bkj->bik", vectors, inverse_root, vectors)
    return square, inverse


def _relative_weights(correlations: _Array) -> tuple[_Array, _Array]:
    """Johnson's relative weights (B, p) and R² (B,) from correlation matrices (B, 1+p, 1+p)
    whose first row and column are the outcome's."""
    between = correlations[:, 1:, 1:]
    with_outcome = correlations[:, 1:, 0]
    # Lambda: correlations of the drivers with their orthogonal counterparts Z; beta: the
    # outcome regressed on Z. Each driver's weight is the R² that reaches it through Z.
    loadings, inverse_root = _symmetric_roots(between)
    beta = np.einsum("bjk,bk->bj", inverse_root, with_outcome)
    weights: _Array = np.einsum("bjk,bk->bj", loadings**2, beta**2)
    r_squared: _Array = (beta**2).sum(axis=1)
    return weights, r_squared


# --- Shapley values of R² ------------------------------------------------------------------


def _subset_r_squared(correlations: _Array) -> _Array:
    """R² of every subset of the drivers (B, 2^p), the subset given by the bits of its index
    (bit j: driver j).

    A batched linear solve per subset when the drivers' correlations are safely invertible in
    every sample (``_invertible``); otherwise (collinear drivers, a driver constant in some
    resample) the pseudo-inverse, which gives the same R² and copes with singular matrices.
    """
    p = correlations.shape[1] - 1
    plain = _invertible(correlations[:, 1:, 1:])
    out = np.zeros((correlations.shape[0], 1 << p))
    for mask in range(1, 1 << p):
        index = np.array([j + 1 for j in range(p) if mask >> j & 1])
        between = correlations[:, index[:, None], index[None, :]]
        with_outcome = correlations[:, index, 0]
        if plain:
            solved = np.linalg.solve(between, with_outcome[:, :, None])[:, :, 0]
            out[:, mask] = np.einsum("bj,bj->b", with_outcome, solved)
        else:
            _, inverse_root = _symmetric_roots(between)
            projected = np.einsum("bjk,bk->bj", inverse_root, with_outcome)
            out[:, mask] = (projected**2).sum(axis=1)
    return out


def _invertible(matrices: _Array) -> bool:
    """Whether every correlation matrix of the stack is safely invertible: its smallest
    eigenvalue above ``_RANK_TOLERANCE`` of its largest. Then so is every principal submatrix
    (their eigenvalues interlace), and a plain solve gives what the pseudo-inverse would."""
    values = np.linalg.eigvalsh(matrices)
    return bool((values[:, 0] > _RANK_TOLERANCE * values[:, -1]).all())


def _shapley(correlations: _Array) -> _Array:
    """Exact Shapley decomposition of R² (B, p): each driver's R² gain on joining a subset of
    the others, weighted by |S|! (p - |S| - 1)! / p! (the share of join orders in which exactly
    the subset S comes first)."""
    p = correlations.shape[1] - 1
    r_squared = _subset_r_squared(correlations)
    masks = np.arange(1 << p)
    sizes = np.array([bin(mask).count("1") for mask in masks])
    order_share = np.array(
        [math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p) for s in range(p)]
    )
    out = np.empty((correlations.shape[0], p))
    for j in range(p):
        without = masks[(masks >> j & 1) == 0]
        gains = r_squared[:, without | 1 << j] - r_squared[:, without]
        out[:, j] = gains @ order_share[sizes[without]]
    return out


# --- intervals and notes ---------------------------------------------------------------------


def _percentile(samples: _Array | None, estimate: _Array, level: float) -> tuple[_Array, _Array]:
    """Percentile bootstrap interval per column, extended to hold the estimate; NaN without
    resamples."""
    if samples is None:
        nan = np.full(np.shape(estimate), math.nan)
        return nan, nan
    tail = (1 - level) / 2
    low, high = np.quantile(samples, [tail, 1 - tail], axis=0)
    return np.minimum(low, estimate), np.maximum(high, estimate)


def _notes(correlations: _Array, names: list[str], with_shapley: bool) -> tuple[str, ...]:
    notes: list[str] = []
    if not with_shapley:
        notes.append(
            f"Shapley values are not computed for {len(names)} drivers (more than "
            f"{SHAPLEY_MAX_DRIVERS}: 2^{len(names)} subsets per resample); relative weights only."
        )
    values, vectors = np.linalg.eigh(correlations[1:, 1:])
    null = values <= _RANK_TOLERANCE * values.max()
    if null.any():
        involved = np.abs(vectors[:, null]).max(axis=1) > 1e-6
        collinear = [name for name, flag in zip(names, involved, strict=True) if flag]
        notes.append(
            "Perfectly collinear drivers (each a linear function of the others): "
            f"{', '.join(collinear)}; the weight they share is split between them."
        )
    return tuple(notes)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
