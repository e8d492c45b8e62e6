"""Calendar periods answers are grouped by, and their ISO labels.

Engines truncate dates inside the query (``date_trunc``) and only the small aggregated result
is turned into labels here, so labelling costs nothing per answer.

Labels: day ``2018-03-04``, week ``2018-W09`` (ISO 8601: weeks start on Monday and belong to
the year that holds their Thursday, so 2021-01-03 is in ``2020-W53``), month ``2018-03``,
quarter ``2018-Q1``, year ``2018``. Labels of one period sort in time order as text.

This module is the one definition of the periods: :data:`PeriodName` (the names as a type,
for the store, the API and the command line), :data:`PERIOD_NAMES` (the same, as values, in
order from the shortest) and :class:`Period` (an enum of them, for the file engine). A test
checks that the enum holds exactly :data:`PERIOD_NAMES`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal, get_args

__all__ = ["PERIOD_NAMES", "Period", "PeriodName", "period_label", "period_start"]

PeriodName = Literal["day", "week", "month", "quarter", "year"]
"""A calendar period by name."""
PERIOD_NAMES: tuple[PeriodName, ...] = get_args(PeriodName)
"""Every period name, from the shortest period to the longest."""


class Period(StrEnum):
    """The periods of :data:`PERIOD_NAMES` as an enum (its values are the names)."""

    # Type checkers need the members spelled out; tests/engine/test_periods.py checks them
    # against PERIOD_NAMES, so the list of periods stays in one place.
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


def period_label(period: Period, when: dt.date) -> str:
    """The ISO label of the period that holds ``when`` (a date or a datetime)."""
    if period is Period.DAY:
        return f"{when.year:04d}-{when.month:02d}-{when.day:02d}"
    if period is Period.WEEK:
        iso_year, iso_week, _ = when.isocalendar()
        return f"{iso_year:04d}-W{iso_week:02d}"
    if period is Period.MONTH:
        return f"{when.year:04d}-{when.month:02d}"
    if period is Period.QUARTER:
        return f"{when.year:04d}-Q{(when.month - 1) // 3 + 1}"
    return f"{when.year:04d}"


def period_start(period: Period, when: dt.date) -> dt.date:
    """The first day of the period that holds ``when``: what ``date_trunc`` returns in SQL."""
    day = when.date() if isinstance(when, dt.datetime) else when
    if period is Period.DAY:
        return day
    if period is Period.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    if period is Period.QUARTER:
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)
