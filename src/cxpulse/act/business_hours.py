"""Business hours and SLA due times, pure: no database, no clock.

An organisation works on some days of the week between a start and an end time, in its time
zone (``zoneinfo``). A case's SLA is a number of *business* hours per priority: a case
opened on Friday at 16:00 with 4 business hours (Monday to Friday, 09:00-17:00) is due on
Monday at 12:00. Days and hours are counted on the local wall clock, so a change to or from
summer time moves the UTC instants of opening and closing, not the working day.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cxpulse.store.errors import Invalid

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_SLA_HOURS",
    "MAX_SLA_HOURS",
    "PRIORITIES",
    "Calendar",
    "add_business_hours",
    "business_hours_between",
    "calendar_from",
    "due_at",
    "is_open",
    "sla_hours_from",
]

PRIORITIES = ("low", "normal", "high", "urgent")
DEFAULT_SLA_HOURS: dict[str, float] = {"urgent": 4, "high": 8, "normal": 24, "low": 72}
"""Business hours to first contact per priority when the organisation set none."""
MAX_SLA_HOURS = 2000.0
DEFAULT_DAYS = (0, 1, 2, 3, 4)
"""Monday (0) to Friday (4)."""
DEFAULT_START = time(9)
DEFAULT_END = time(17)
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
# No calendar is so sparse that a week passes without opening; the bound only guards the
# loop against a bug.
_MAX_DAYS_WALKED = 366 * 30


@dataclass(frozen=True)
class Calendar:
    """When an organisation works: ``days`` of the week (Monday = 0) from ``start`` to
    ``end`` local time in ``timezone``."""

    days: frozenset[int] = frozenset(DEFAULT_DAYS)
    start: time = DEFAULT_START
    end: time = DEFAULT_END
    timezone: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def to_document(self) -> dict[str, object]:
        """The ``loop_settings.business_hours`` document of this calendar."""
        return {
            "days": sorted(self.days),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
        }


def _clock(field: str, value: object) -> time:
    if not isinstance(value, str) or not _CLOCK.fullmatch(value):
        raise Invalid(field, "must be a time of day such as 09:00")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(name: object) -> str:
    """``name`` when it is an IANA time zone (``Europe/Stockholm``); else ``Invalid``."""
    if not isinstance(name, str) or not name or len(name) > 64:
        raise Invalid("timezone", "must be a time zone name such as Europe/Stockholm")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("timezone", f"{name[:64]!r} is not a known time zone") from None
    if name not in _zone_names() and name != "UTC":
        raise Invalid("timezone", f"{name[:64]!r} is not a known time zone")
    return name


def calendar_from(document: Mapping[str, object] | None, timezone: str = "UTC") -> Calendar:
    """The calendar of a ``business_hours`` document (empty: Monday to Friday, 09:00 to
    17:00); ``Invalid`` naming the field at fault."""
    zone = check_timezone(timezone)
    if not document:
        return Calendar(timezone=zone)
    unknown = set(document) - {"days", "start", "end"}
    if unknown:
        raise Invalid("business_hours", f"unknown field {sorted(unknown)[0]!r}")
    raw_days = document.get("days", list(DEFAULT_DAYS))
    if not isinstance(raw_days, list | tuple) or not raw_days:
        raise Invalid("business_hours.days", "must list at least one day (Monday = 0)")
    days: set[int] = set()
    for day in raw_days:
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
            raise Invalid("business_hours.days", "each day is 0 (Monday) to 6 (Sunday)")
        days.add(day)
    start = _clock("business_hours.start", document.get("start", "09:00"))
    end = _clock("business_hours.end", document.get("end", "17:00"))
    if end <= start:
        raise Invalid("business_hours.end", "must be after the start")
    return Calendar(frozenset(days), start, end, zone)


def sla_hours_from(document: Mapping[str, object] | None) -> dict[str, float]:
    """Business hours per priority: the organisation's, the defaults for the others."""
    hours = dict(DEFAULT_SLA_HOURS)
    for priority, value in (document or {}).items():
        field = f"sla_hours.{priority}"
        if priority not in PRIORITIES:
            raise Invalid(field, f"is not a priority: use one of {', '.join(PRIORITIES)}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(field, "must be a number of business hours")
        if not 0 < float(value) <= MAX_SLA_HOURS:
            raise Invalid(field, f"must be more than 0 and at most {MAX_SLA_HOURS:g}")
        hours[priority] = float(value)
    return hours


def _opening(calendar: Calendar, day: date) -> tuple[datetime, datetime] | None:
    """The UTC instants at which ``day`` (local) opens and closes; None on a closed day."""
    if day.weekday() not in calendar.days:
        return None
    zone = calendar.zone
    opens = datetime.combine(day, calendar.start, zone).astimezone(UTC)
    closes = datetime.combine(day, calendar.end, zone).astimezone(UTC)
    if closes <= opens:  # a summer-time jump swallowed the whole day's hours
        return None
    return opens, closes


def _openings_from(calendar: Calendar, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The (opens, closes) intervals that end after ``moment``, in order, clipped to it."""
    day = moment.astimezone(calendar.zone).date() - timedelta(days=1)
    for _ in range(_MAX_DAYS_WALKED):
        window = _opening(calendar, day)
        day += timedelta(days=1)
        if window is None or window[1] <= moment:
            continue
        yield max(window[0], moment), window[1]
    raise ValueError("the calendar never opens")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("business hours need an aware datetime")
    return moment.astimezone(UTC)


def is_open(calendar: Calendar, moment: datetime) -> bool:
    """True when ``moment`` falls within business hours (opening included, closing not)."""
    instant = _aware(moment)
    local_day = instant.astimezone(calendar.zone).date()
    window = _opening(calendar, local_day)
    return window is not None and window[0] <= instant < window[1]


def add_business_hours(calendar: Calendar, start: datetime, hours: float) -> datetime:
    """The instant ``hours`` business hours after ``start`` (UTC). It always lies within
    business hours or at a closing time: 8 hours from Monday 09:00 is Monday 17:00, not
    Tuesday 09:00."""
    if hours < 0:
        raise ValueError("hours must not be negative")
    remaining = timedelta(hours=hours)
    for opens, closes in _openings_from(calendar, _aware(start)):
        span = closes - opens
        if remaining <= span:
            return opens + remaining
        remaining -= span
    raise AssertionError("unreachable")  # pragma: no cover


def business_hours_between(calendar: Calendar, start: datetime, end: datetime) -> float:
    """Business hours from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    first, last = _aware(start), _aware(end)
    if last < first:
        return -business_hours_between(calendar, last, first)
    total = timedelta()
    for opens, closes in _openings_from(calendar, first):
        if opens >= last:
            break
        total += min(closes, last) - opens
    return total.total_seconds() / 3600


def due_at(
    calendar: Calendar, sla_hours: Mapping[str, float], priority: str, opened_at: datetime
) -> datetime:
    """When a case of ``priority`` opened at ``opened_at`` is due."""
    return add_business_hours(calendar, opened_at, sla_hours[priority])
