import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxpulse.metrics import Histogram, merge

answers = st.lists(st.integers(min_value=0, max_value=10), max_size=60)
histograms = answers.map(Histogram.from_values)


def test_from_values_counts_each_value() -> None:
    h = Histogram.from_values([5, 4, 5, 1, 5])
    assert dict(h.counts) == {1: 1, 4: 1, 5: 3}
    assert h.n == 5
    assert list(h) == [(1, 1), (4, 1), (5, 3)]


def test_counts_are_cleaned_sorted_and_read_only() -> None:
    h = Histogram({5.0: 3, 3: 0, 1.0: 1})
    assert dict(h.counts) == {1: 1, 5: 3}
    assert list(h.counts) == [1, 5]
    assert all(isinstance(v, int) for v in h.counts)
    with pytest.raises(TypeError):
        h.counts[2] = 1  # type: ignore[index]


def test_negative_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        Histogram({3: -1})


def test_empty_histogram() -> None:
    h = Histogram()
    assert h.n == 0
    assert math.isnan(h.mean())
    assert math.isnan(h.variance())
    assert math.isnan(Histogram({4: 1}).variance())


def test_band_counts() -> None:
    h = Histogram({1: 3, 2: 4, 3: 5, 4: 6, 5: 7})
    assert h.count_at_least(4) == 13
    assert h.count_at_most(2) == 7
    assert h.count_at_least(6) == 0


def test_mean_and_sample_variance() -> None:
    values = [1, 2, 2, 4, 5, 5, 5]
    h = Histogram.from_values(values)
    assert h.mean() == pytest.approx(statistics.fmean(values))
    assert h.variance() == pytest.approx(statistics.variance(values))


def test_equal_histograms_hash_alike() -> None:
    a = Histogram({1: 2, 5: 3})
    b = Histogram.from_values([5, 1, 5, 1, 5])
    assert a == b
    assert hash(a) == hash(b)
    assert a != Histogram({1: 2, 5: 4})
    assert a != {1: 2, 5: 3}


def test_merge() -> None:
    parts = [Histogram({1: 1}), Histogram({1: 2, 5: 1}), Histogram()]
    assert merge(parts) == Histogram({1: 3, 5: 1})
    assert merge([]) == Histogram()


@given(histograms, histograms)
def test_addition_is_commutative(a: Histogram, b: Histogram) -> None:
    assert a + b == b + a


@given(histograms, histograms, histograms)
def test_addition_is_associative(a: Histogram, b: Histogram, c: Histogram) -> None:
    assert (a + b) + c == a + (b + c)


@given(histograms)
def test_empty_histogram_is_the_identity(a: Histogram) -> None:
    assert a + Histogram() == a


@given(answers, answers)
def test_adding_histograms_equals_counting_the_concatenation(xs: list[int], ys: list[int]) -> None:
    total = Histogram.from_values(xs) + Histogram.from_values(ys)
    assert total == Histogram.from_values(xs + ys)
    assert total.n == len(xs) + len(ys)


@given(st.lists(st.integers(min_value=1, max_value=7), min_size=2, max_size=80))
def test_mean_and_variance_match_the_raw_values(values: list[int]) -> None:
    h = Histogram.from_values(values)
    assert h.mean() == pytest.approx(statistics.fmean(values))
    assert h.variance() == pytest.approx(statistics.variance(values), abs=1e-12)


def test_trusted_and_merge_agree_with_addition() -> None:
    from cxpulse.metrics.histogram import merge

    parts = [Histogram.trusted({1: 2, 5: 3}), Histogram({5: 1, 3: 4}), Histogram()]
    assert merge(parts) == parts[0] + parts[1] + parts[2]
    assert merge(parts).n == 10
