"""Package attributes imported on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cxpulse.lazy_names import lazy_getattr


def test_a_name_loads_its_submodule_once_and_an_unknown_name_is_refused() -> None:
    space: dict[str, object] = {}
    getter = lazy_getattr("cxpulse.engine", {"period_label": "periods"}, space)
    from cxpulse.engine.periods import period_label

    assert getter("period_label") is period_label
    assert space == {"period_label": period_label}
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        getter("nothing")


def test_importing_metrics_leaves_its_benchmarks_data_unloaded() -> None:
    script = (
        "import sys, cxpulse.metrics as m; "
        "print('cxpulse.metrics.benchmarks' in sys.modules); m.load_acsi; "
        "print('cxpulse.metrics.benchmarks' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert output == ["False", "True"]
