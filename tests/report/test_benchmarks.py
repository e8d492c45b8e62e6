"""The ACSI benchmark shown beside a score (``report/benchmarks.py``)."""

from __future__ import annotations

from cxpulse.report import benchmarks


def test_pick_benchmark() -> None:
    assert benchmarks.pick_benchmark(None) is None
    assert benchmarks.pick_benchmark("no such industry") is None
    banks = benchmarks.pick_benchmark("Banks")
    assert banks is not None
    assert banks.industry == "banks"
    assert "ACSI" in banks.source


def test_the_acsi_stands_only_beside_csat() -> None:
    from cxpulse.metrics import Metric

    assert benchmarks.benchmark_applies("csat")
    for metric in (Metric.NPS, Metric.CES, Metric.DSAT, Metric.MEAN):
        assert not benchmarks.benchmark_applies(metric)
        assert benchmarks.pick_benchmark("e-commerce", metric) is None
    found = benchmarks.pick_benchmark("e-commerce", "csat")
    assert found is not None
    assert found == benchmarks.pick_benchmark("e-commerce")  # no metric: as before
    assert found.label == f"ACSI e-commerce {found.year}: {found.score:.0f} (index 0-100)"
    assert benchmarks.pick_benchmark("   ", "csat") is None
