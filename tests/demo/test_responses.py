"""The demo's responses: deterministic for a seed, in the period, shaped by month and hour."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

from cxpulse.demo.contacts import DemoContact
from cxpulse.demo.responses import generate_responses, month_spans, months_before
from cxpulse.demo.survey_plans import CES_SURVEY, CSAT_SURVEY, NPS_SURVEY

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
START = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def test_generation_is_deterministic_for_a_seed() -> None:
    contacts = [
        DemoContact(id=n, plan=("free", "pro", "enterprise")[n % 3], vip=n % 7 == 0, country=c)
        for n, c in enumerate(("SE", "NL", "BE", "MK", "GB", "IE") * 20, start=1)
    ]

    def run(seed: int) -> list[tuple[float, str | None, datetime | None]]:
        items = generate_responses(CES_SURVEY, 1, contacts, START, NOW, random.Random(seed))
        return [(i.score, i.comment, i.submitted_at) for i in items]

    assert run(1) == run(1)
    assert run(1) != run(2)
    items = generate_responses(NPS_SURVEY, 2, contacts, START, NOW, random.Random(3))
    assert all(0 <= i.score <= 10 and float(i.score).is_integer() for i in items)
    assert all(i.submitted_at is not None and START <= i.submitted_at < NOW for i in items)
    times = [i.submitted_at for i in items]
    assert times == sorted(times)  # type: ignore[type-var]
    assert {i.language for i in items} == {"en", "sv", "nl", "mk"}
    assert "order_id" not in (items[0].properties or {})
    csat = generate_responses(CSAT_SURVEY, 3, contacts, START, NOW, random.Random(3))
    hours = Counter(i.submitted_at.hour for i in csat if i.submitted_at is not None)
    assert hours[20] > hours[3]  # people answer in the evening, not at night


def test_months_before_clips_the_day() -> None:
    assert months_before(datetime(2024, 3, 31, 8, tzinfo=UTC), 1) == datetime(
        2024, 2, 29, 8, tzinfo=UTC
    )
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 12) == datetime(2025, 1, 15, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), -1) == datetime(2026, 2, 15, tzinfo=UTC)


def test_month_spans_cover_the_range_with_the_share_of_each_month() -> None:
    start = datetime(2026, 1, 16, tzinfo=UTC)
    end = datetime(2026, 3, 1, 12, tzinfo=UTC)
    spans = month_spans(start, end)
    assert [(lower, upper) for lower, upper, _ in spans] == [
        (start, datetime(2026, 2, 1, tzinfo=UTC)),
        (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
        (datetime(2026, 3, 1, tzinfo=UTC), end),
    ]
    assert [round(fraction, 4) for _, _, fraction in spans] == [
        round(16 / 31, 4),
        1.0,
        round(0.5 / 31, 4),
    ]
    assert month_spans(end, end) == []
