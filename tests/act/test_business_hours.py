"""Business hours and SLA due times (``act.business_hours``): worked examples, the
organisation's settings checked field by field, and properties over generated calendars and
moments (a fixed, derandomised budget)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxpulse.act import business_hours as bh
from cxpulse.store.errors import Invalid

WEEKDAYS = bh.Calendar()
STOCKHOLM = bh.calendar_from(
    {"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "16:00"}, "Europe/Stockholm"
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_friday_afternoon_plus_four_hours_is_monday_noon() -> None:
    friday = utc(2026, 12, 4, 16)  # a Friday
    assert bh.add_business_hours(WEEKDAYS, friday, 4) == utc(2026, 12, 7, 12)


def test_a_whole_day_ends_at_closing_not_next_morning() -> None:
    monday = utc(2026, 12, 7, 9)
    assert bh.add_business_hours(WEEKDAYS, monday, 8) == utc(2026, 12, 7, 17)
    assert bh.add_business_hours(WEEKDAYS, monday, 8.5) == utc(2026, 12, 8, 9, 30)


def test_opened_at_night_starts_counting_at_the_next_opening() -> None:
    saturday_night = utc(2026, 12, 5, 23)
    assert bh.add_business_hours(WEEKDAYS, saturday_night, 0) == utc(2026, 12, 7, 9)
    assert bh.add_business_hours(WEEKDAYS, saturday_night, 24) == utc(2026, 12, 9, 17)


def test_the_default_sla_per_priority() -> None:
    sla = bh.sla_hours_from({})
    opened = utc(2026, 12, 7, 9)  # Monday 09:00
    assert bh.due_at(WEEKDAYS, sla, "urgent", opened) == utc(2026, 12, 7, 13)
    assert bh.due_at(WEEKDAYS, sla, "high", opened) == utc(2026, 12, 7, 17)
    assert bh.due_at(WEEKDAYS, sla, "normal", opened) == utc(2026, 12, 9, 17)
    # 72 business hours are nine working days: Monday 7th to Thursday 17th.
    assert bh.due_at(WEEKDAYS, sla, "low", opened) == utc(2026, 12, 17, 17)


def test_local_hours_follow_summer_time() -> None:
    # Stockholm opens at 08:00 local: 07:00 UTC in winter, 06:00 UTC in summer. The clocks
    # went forward on Sunday 29 March 2026.
    friday = datetime(2026, 3, 27, 15, tzinfo=ZoneInfo("Europe/Stockholm"))
    due = bh.add_business_hours(STOCKHOLM, friday, 2)
    assert due == datetime(2026, 3, 30, 9, tzinfo=ZoneInfo("Europe/Stockholm"))
    assert due.utcoffset() == timedelta(0)
    assert due == utc(2026, 3, 30, 7)


def test_hours_between_counts_only_open_time() -> None:
    assert bh.business_hours_between(WEEKDAYS, utc(2026, 12, 4, 16), utc(2026, 12, 7, 10)) == 2
    assert bh.business_hours_between(WEEKDAYS, utc(2026, 12, 7, 10), utc(2026, 12, 4, 16)) == -2


@pytest.mark.parametrize(
    ("document", "zone", "field"),
    [
        ({"days": []}, "UTC", "business_hours.days"),
        ({"days": [7]}, "UTC", "business_hours.days"),
        ({"days": [True]}, "UTC", "business_hours.days"),
        ({"start": "9am"}, "UTC", "business_hours.start"),
        ({"start": "24:00"}, "UTC", "business_hours.start"),
        ({"start": "17:00", "end": "09:00"}, "UTC", "business_hours.end"),
        ({"lunch": "12:00"}, "UTC", "business_hours"),
        ({}, "Mars/Olympus", "timezone"),
        ({}, "../etc/passwd", "timezone"),
        ({}, "", "timezone"),
    ],
)
def test_bad_settings_name_their_field(document: dict[str, object], zone: str, field: str) -> None:
    with pytest.raises(Invalid) as raised:
        bh.calendar_from(document, zone)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"critical": 2}, "sla_hours.critical"),
        ({"urgent": 0}, "sla_hours.urgent"),
        ({"urgent": -1}, "sla_hours.urgent"),
        ({"urgent": "4"}, "sla_hours.urgent"),
        ({"urgent": True}, "sla_hours.urgent"),
        ({"low": 1e9}, "sla_hours.low"),
    ],
)
def test_bad_sla_hours_name_their_priority(document: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as raised:
        bh.sla_hours_from(document)
    assert raised.value.field == field


def test_the_sla_keeps_the_defaults_of_the_priorities_not_set() -> None:
    assert bh.sla_hours_from({"urgent": 2}) == {**bh.DEFAULT_SLA_HOURS, "urgent": 2.0}


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        bh.add_business_hours(WEEKDAYS, datetime(2026, 12, 7, 9), 1)


# -- properties --------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Stockholm",
    "Europe/Amsterdam",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
]


@st.composite
def calendars(draw: st.DrawFn) -> bh.Calendar:
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    start_minutes = draw(st.integers(0, 23 * 60 - 15))
    end_minutes = draw(st.integers(start_minutes + 15, 24 * 60 - 1))
    return bh.Calendar(
        days,
        time(start_minutes // 60, start_minutes % 60),
        time(end_minutes // 60, end_minutes % 60),
        draw(st.sampled_from(ZONES)),
    )


moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
hours = st.floats(min_value=0, max_value=300, allow_nan=False, allow_infinity=False)
BUDGET = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _within_hours_or_at_closing(calendar: bh.Calendar, moment: datetime) -> bool:
    if bh.is_open(calendar, moment):
        return True
    local = moment.astimezone(calendar.zone)
    return local.weekday() in calendar.days and local.time().replace(tzinfo=None) == calendar.end


@BUDGET
@given(calendar=calendars(), start=moments, span=hours)
def test_a_due_time_is_never_in_closed_hours(
    calendar: bh.Calendar, start: datetime, span: float
) -> None:
    due = bh.add_business_hours(calendar, start, span)
    assert due >= start
    assert _within_hours_or_at_closing(calendar, due)


@BUDGET
@given(calendar=calendars(), start=moments, first=hours, second=hours)
def test_adding_hours_is_monotone_and_additive(
    calendar: bh.Calendar, start: datetime, first: float, second: float
) -> None:
    low, high = sorted((first, second))
    assert bh.add_business_hours(calendar, start, low) <= bh.add_business_hours(
        calendar, start, high
    )
    # Counting back the business hours between start and the due time gives the SLA.
    due = bh.add_business_hours(calendar, start, high)
    assert bh.business_hours_between(calendar, start, due) == pytest.approx(high, abs=1e-6)


@BUDGET
@given(calendar=calendars(), start=moments, later=st.timedeltas(timedelta(0), timedelta(days=30)))
def test_a_later_opening_is_never_due_sooner(
    calendar: bh.Calendar, start: datetime, later: timedelta
) -> None:
    assert bh.add_business_hours(calendar, start, 8) <= bh.add_business_hours(
        calendar, start + later, 8
    )
