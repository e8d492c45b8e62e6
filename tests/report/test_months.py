"""Months as the monthly report reads and names them."""

from __future__ import annotations

from datetime import date

import pytest

from cxpulse.report import months
from cxpulse.store.errors import Invalid


def test_parse_month() -> None:
    assert months.parse_month("2026-10") == date(2026, 10, 1)
    assert months.shift_month(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert months.shift_month(date(2026, 11, 1), 14) == date(2028, 1, 1)
    for bad in ("2026-13", "2026-1", "October", "", "2026-10-01", "0000-01", "9999-12"):
        with pytest.raises(Invalid) as raised:
            months.parse_month(bad)
        assert raised.value.field == "month"


def test_labels_and_names() -> None:
    assert months.month_label(date(2026, 3, 1)) == "2026-03"
    assert months.month_name(date(2026, 3, 1)) == "March 2026"
    assert months.shift_month(date(2026, 12, 1), 1) == date(2027, 1, 1)
