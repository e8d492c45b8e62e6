"""Calendar months as the monthly report names them: ``2026-10`` in, first days out."""

from __future__ import annotations

import re
from datetime import date

from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid

MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
FIRST_YEAR, LAST_YEAR = values.FIRST_DAY.year, values.LAST_DAY.year
"""The years a report may cover, as for a dashboard's dates (``store._values.day_problem``;
a trend reaches 11 months back, far inside the calendar)."""


def parse_month(text: str) -> date:
    """``2026-10`` -> date(2026, 10, 1); Invalid("month") otherwise."""
    match = MONTH_PATTERN.match(text.strip())
    if match is None:
        raise Invalid("month", f"must look like 2026-10 (year-month), got {text!r}")
    year = int(match.group(1))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid("month", f"must be in the years {FIRST_YEAR} to {LAST_YEAR}, got {text!r}")
    return date(year, int(match.group(2)), 1)


def month_label(first: date) -> str:
    return f"{first.year:04d}-{first.month:02d}"


def shift_month(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_name(first: date) -> str:
    return first.strftime("%B %Y")
