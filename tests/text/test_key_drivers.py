"""Key-driver analysis, checked against independent computations on the raw rows: R² of
least-squares fits (numpy ``lstsq``), Shapley values over every join order (itertools), and
Johnson's relative weights from the singular value decomposition of the data itself."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from cxpulse.text.key_drivers import SHAPLEY_MAX_DRIVERS, KeyDriverTable, key_drivers


def survey(n: int, seed: int = 1) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Six correlated attribute ratings and an overall score driven mostly by delivery."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    x[:, 1] += 0.6 * x[:, 0]
    x[:, 2] += 0.3 * x[:, 1]
    outcome = 2 * x[:, 0] + 1 * x[:, 1] + 0.5 * x[:, 2] + 0.2 * x[:, 4] + 2 * rng.normal(size=n)
    names = ["delivery", "staff", "price", "unrelated", "website", "noise"]
    return outcome, {name: x[:, j] for j, name in enumerate(names)}


def r_squared_by_lstsq(y: np.ndarray, columns: list[np.ndarray]) -> float:
    if not columns:
        return 0.0
    design = np.column_stack([np.ones(len(y)), *columns])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coefficients
    return float(1 - residual @ residual / ((y - y.mean()) @ (y - y.mean())))


def shapley_by_orders(y: np.ndarray, drivers: dict[str, np.ndarray]) -> dict[str, float]:
    """Average R² gain of each driver over every order in which the drivers can join."""
    names = list(drivers)
    cache: dict[frozenset[str], float] = {}

    def r2(subset: frozenset[str]) -> float:
        if subset not in cache:
            cache[subset] = r_squared_by_lstsq(y, [drivers[name] for name in sorted(subset)])
        return cache[subset]

    totals = dict.fromkeys(names, 0.0)
    orders = list(itertools.permutations(names))
    for order in orders:
        joined: frozenset[str] = frozenset()
        for name in order:
            totals[name] += r2(joined | {name}) - r2(joined)
            joined = joined | {name}
    return {name: total / len(orders) for name, total in totals.items()}


def relative_weights_by_svd(y: np.ndarray, drivers: dict[str, np.ndarray]) -> dict[str, float]:
    """Johnson (2000) as published: X = P D Q', Z = P Q' (the orthogonal counterparts of the
    drivers), Lambda = Q D Q' (X = Z Lambda), beta = Z'y; weight_j = sum_k Lambda_jk² beta_k²."""
    x = np.column_stack(list(drivers.values()))
    x = (x - x.mean(axis=0)) / x.std(axis=0) / math.sqrt(len(y))
    ys = (y - y.mean()) / y.std() / math.sqrt(len(y))
    p_, d, qt = np.linalg.svd(x, full_matrices=False)
    z = p_ @ qt
    lam = qt.T @ np.diag(d) @ qt
    beta = z.T @ ys
    weights = (lam**2) @ (beta**2)
    return dict(zip(drivers, weights.tolist(), strict=True))


# --- the numbers -------------------------------------------------------------------------------


def test_r_squared_shapley_and_relative_weights_match_independent_computations() -> None:
    y, drivers = survey(3000)
    drivers = {name: drivers[name] for name in ("delivery", "staff", "price", "unrelated")}
    table = key_drivers(y, drivers, bootstrap=200)
    assert table.r_squared == pytest.approx(r_squared_by_lstsq(y, list(drivers.values())))
    expected_shapley = shapley_by_orders(y, drivers)
    expected_weights = relative_weights_by_svd(y, drivers)
    for name in drivers:
        row = table.row(name)
        assert row.shapley == pytest.approx(expected_shapley[name], abs=1e-10)
        assert row.weight == pytest.approx(expected_weights[name], abs=1e-10)
        assert row.correlation == pytest.approx(np.corrcoef(y, drivers[name])[0, 1])
        assert row.mean == pytest.approx(drivers[name].mean())


def test_both_decompositions_add_up_to_r_squared() -> None:
    y, drivers = survey(5000, seed=3)
    table = key_drivers(y, drivers, bootstrap=100)
    assert sum(row.weight for row in table.rows) == pytest.approx(table.r_squared, abs=1e-12)
    assert sum(row.shapley or 0.0 for row in table.rows) == pytest.approx(
        table.r_squared, abs=1e-12
    )
    assert sum(row.share for row in table.rows) == pytest.approx(100.0)
    assert all(row.weight >= 0 for row in table.rows)


def test_the_dominant_driver_ranks_first_and_an_unrelated_one_gets_about_nothing() -> None:
    y, drivers = survey(10_000)
    table = key_drivers(y, drivers)
    assert [row.name for row in table.rows[:3]] == ["delivery", "staff", "price"]
    unrelated = table.row("unrelated")
    assert unrelated.weight < 0.002
    assert unrelated.weight_ci_low <= unrelated.weight <= unrelated.weight_ci_high < 0.005
    assert unrelated.shapley is not None
    assert abs(unrelated.shapley) < 0.002
    delivery = table.row("delivery")
    assert delivery.weight_ci_low > table.row("staff").weight_ci_high


def test_every_interval_holds_its_estimate_and_the_bootstrap_is_seeded() -> None:
    y, drivers = survey(400, seed=5)
    table = key_drivers(y, drivers, bootstrap=300, level=0.9)
    assert table.r_squared_ci_low <= table.r_squared <= table.r_squared_ci_high
    for row in table.rows:
        assert row.weight_ci_low <= row.weight <= row.weight_ci_high
        assert row.shapley_ci_low is not None
        assert row.shapley_ci_high is not None
        assert row.shapley_ci_low <= (row.shapley or 0.0) <= row.shapley_ci_high
    assert key_drivers(y, drivers, bootstrap=300, level=0.9) == table
    other = key_drivers(y, drivers, bootstrap=300, level=0.9, seed=1)
    assert other.rows[0].weight == table.rows[0].weight
    assert other.r_squared_ci_low != table.r_squared_ci_low
    wider = key_drivers(y, drivers, bootstrap=300, level=0.99)
    assert wider.r_squared_ci_low <= table.r_squared_ci_low
    assert wider.r_squared_ci_high >= table.r_squared_ci_high


def test_without_resamples_there_are_no_intervals() -> None:
    y, drivers = survey(200)
    table = key_drivers(y, drivers, bootstrap=0)
    assert table.bootstrap == 0
    assert math.isnan(table.r_squared_ci_low)
    assert math.isnan(table.rows[0].weight_ci_high)
    assert table.to_dict()["r_squared_ci_low"] is None


# --- blanks, collinearity, limits --------------------------------------------------------------


def test_rows_with_a_blank_are_dropped_and_counted() -> None:
    y, drivers = survey(500)
    y = y.astype(object)
    y[3] = None
    drivers["staff"] = drivers["staff"].copy()
    drivers["staff"][[3, 10, 11]] = np.nan
    price = list(drivers["price"])
    price[20] = float("inf")
    table = key_drivers(y, {**drivers, "price": price}, bootstrap=50)
    assert table.dropped == 4
    assert table.n == 496


def test_perfectly_collinear_drivers_split_their_weight() -> None:
    y, drivers = survey(2000)
    twice = {
        "delivery": drivers["delivery"],
        "delivery again": drivers["delivery"].copy(),
        "staff": drivers["staff"],
    }
    table = key_drivers(y, twice, bootstrap=100)
    once = key_drivers(y, {"delivery": drivers["delivery"], "staff": drivers["staff"]})
    assert table.r_squared == pytest.approx(once.r_squared)
    first, second = table.row("delivery"), table.row("delivery again")
    assert first.weight == pytest.approx(second.weight)
    # Not exactly the single column's weight: a second copy changes the drivers' orthogonal
    # counterparts, so staff's share moves too. Together they still lead and add up to R².
    assert first.weight + second.weight > table.row("staff").weight
    assert sum(row.weight for row in table.rows) == pytest.approx(table.r_squared)
    assert first.shapley == pytest.approx(second.shapley)
    assert sum(row.shapley or 0.0 for row in table.rows) == pytest.approx(table.r_squared)
    assert any("collinear" in note and "delivery again" in note for note in table.notes)
    assert "staff" not in table.notes[0]
    # A sum of two drivers is collinear with them: still no exception.
    summed = dict(twice, total=drivers["delivery"] + drivers["staff"])
    assert key_drivers(y, summed, bootstrap=20).r_squared == pytest.approx(once.r_squared)


def test_too_few_rows_is_a_clear_error() -> None:
    y, drivers = survey(16)
    with pytest.raises(ValueError, match=r"needs at least 17 complete rows, got 16"):
        key_drivers(y, drivers)
    y, drivers = survey(40)
    drivers["staff"] = drivers["staff"].copy()
    drivers["staff"][:30] = np.nan
    with pytest.raises(ValueError, match=r"got 10 \(30 dropped for a blank\)"):
        key_drivers(y, drivers)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda y, d: (y, {}), "at least one driver"),
        (lambda y, d: (y[:-1], d), "one value per row each"),
        (lambda y, d: (np.full(len(y), 4.0), d), "the outcome is 4 in every complete row"),
        (lambda y, d: (y, dict(d, staff=np.ones(len(y)))), "driver 'staff' is 1 in every"),
        (lambda y, d: (y, dict(d, staff=["good"] * len(y))), "'staff' holds values that are not"),
        (lambda y, d: (y, dict(d, staff=np.ones((len(y), 2)))), "one value per row"),
    ],
)
def test_input_that_cannot_be_analysed_is_refused_with_a_message(
    change: Callable[[np.ndarray, dict[str, np.ndarray]], tuple[Any, dict[str, Any]]],
    message: str,
) -> None:
    y, drivers = survey(100)
    outcome, changed = change(y, drivers)
    with pytest.raises(ValueError, match=message):
        key_drivers(outcome, changed)


def test_arguments_out_of_range_are_refused() -> None:
    y, drivers = survey(100)
    with pytest.raises(ValueError, match="bootstrap"):
        key_drivers(y, drivers, bootstrap=-1)
    with pytest.raises(ValueError, match="confidence level"):
        key_drivers(y, drivers, level=1.0)


def test_beyond_the_shapley_limit_only_relative_weights() -> None:
    rng = np.random.default_rng(8)
    p = SHAPLEY_MAX_DRIVERS + 2
    x = rng.normal(size=(600, p))
    y = x @ np.linspace(1, 0, p) + rng.normal(size=600)
    table = key_drivers(y, {f"attribute {j}": x[:, j] for j in range(p)}, bootstrap=50)
    assert all(row.shapley is None and row.shapley_ci_low is None for row in table.rows)
    assert any("Shapley values are not computed for 12 drivers" in n for n in table.notes)
    assert sum(row.weight for row in table.rows) == pytest.approx(table.r_squared)
    assert table.rows[0].name == "attribute 0"


def test_a_driver_constant_in_some_resamples_does_not_break_them() -> None:
    # A rare yes/no attribute: some resamples draw none of its three "yes" rows.
    rng = np.random.default_rng(9)
    rare = np.zeros(30)
    rare[:3] = 1
    common = rng.normal(size=30)
    y = common + rare + rng.normal(size=30)
    table = key_drivers(y, {"rare": rare, "common": common}, bootstrap=500)
    for row in table.rows:
        assert 0 <= row.weight_ci_low <= row.weight <= row.weight_ci_high <= 1


def test_to_dict_is_json_ready() -> None:
    y, drivers = survey(300)
    out = key_drivers(y, drivers, bootstrap=20).to_dict()
    assert out["n"] == 300
    assert out["dropped"] == 0
    assert len(out["rows"]) == 6
    assert set(out["rows"][0]) >= {"name", "weight", "weight_ci_low", "shapley", "correlation"}
    assert isinstance(KeyDriverTable, type)
