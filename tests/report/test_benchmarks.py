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
