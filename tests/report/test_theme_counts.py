"""The theme counts behind the panels (``report/theme_counts.py``) on SQLite and PostgreSQL:
past days remembered, today read afresh, many surveys at once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session
from tests.store.analysis_support import analysed, answer, write

from cxpulse.metrics import Histogram
from cxpulse.report.theme_counts import CountCache, monthly_counts, surveys_counts
from cxpulse.store import surveys
from cxpulse.store.filters import ResponseFilters

from .themes_support import JUNE, Themed, build


@pytest.fixture
def themed(session: Session) -> Themed:
    return build(session)


def test_months_with_and_without_the_cache(session: Session, themed: Themed) -> None:
    org, sid = themed.organisation.id, themed.survey.id
    where = ResponseFilters(survey_id=sid)
    start, end = date(2025, 5, 1), date(2025, 7, 1)
    plain = monthly_counts(session, org, where, start, end, today=date(2025, 9, 1), cache=None)
    assert set(plain) == {"2025-05", "2025-06"}
    june = plain["2025-06"]
    assert june.themes[themed.delivery_id] == Histogram({1: 30})
    assert june.themes[themed.staff_id] == Histogram({5: 20})
    assert june.commented.n == 50
    assert june.everyone.n == 105
    cache = CountCache()
    remembered = monthly_counts(
        session, org, where, start, end, today=date(2025, 9, 1), cache=cache
    )
    assert remembered == plain
    # Split at "today" (15 June): the past part and the fresh part add up to the same.
    split = monthly_counts(session, org, where, start, end, today=date(2025, 6, 15), cache=cache)
    assert split["2025-06"].themes == june.themes
    assert split["2025-06"].commented == june.commented
    assert split["2025-06"].everyone == june.everyone


def test_a_new_analysis_of_a_past_day_is_seen_at_once(session: Session, themed: Themed) -> None:
    org, sid = themed.organisation.id, themed.survey.id
    where = ResponseFilters(survey_id=sid)
    cache = CountCache()
    first = monthly_counts(
        session, org, where, JUNE.start, JUNE.end, today=date(2025, 9, 1), cache=cache
    )
    late = answer(session, org, sid, 1, "late again", at=datetime(2025, 6, 3, tzinfo=UTC))
    write(session, org, analysed(late, [(themed.delivery_id, "negative")]))
    session.flush()
    after = monthly_counts(
        session, org, where, JUNE.start, JUNE.end, today=date(2025, 9, 1), cache=cache
    )
    assert (
        after["2025-06"].themes[themed.delivery_id].n
        == first["2025-06"].themes[themed.delivery_id].n + 1
    )


def test_the_cache_expires_and_stays_small() -> None:
    cache = CountCache(ttl=-1.0, size=2)
    cache.put("a", 1)
    assert cache.get("a") is None  # expired at once
    fresh = CountCache(size=2)
    fresh.put("a", 1)
    fresh.put("b", 2)
    fresh.put("c", 3)  # full: starts again
    assert (fresh.get("a"), fresh.get("c")) == (None, 3)
    fresh.clear()
    assert fresh.get("c") is None


def test_many_surveys(session: Session, themed: Themed) -> None:
    org = themed.organisation.id
    quiet = surveys.create_survey(session, org, slug="quiet", name="Quiet", metric="nps").id
    found = surveys_counts(
        session, org, [themed.survey.id, quiet], JUNE.start, JUNE.end, today=date(2025, 6, 20)
    )
    counts = found[themed.survey.id]
    assert counts.themes == {
        themed.delivery_id: Histogram({1: 30}),
        themed.staff_id: Histogram({5: 20}),
    }
    assert counts.commented == Histogram({1: 30, 5: 20})
    assert found[quiet].themes == {}
    assert found[quiet].commented == Histogram()
    again = surveys_counts(
        session,
        org,
        [themed.survey.id, quiet],
        JUNE.start,
        JUNE.end,
        today=date(2025, 9, 1),
        cache=None,
    )
    assert again == found
