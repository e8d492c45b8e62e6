"""The comment rate of a view (``report/comment_rate.py``): counted up to a limit, estimated
from slices of the period above it, on the survey of conftest.py; and the slicing and the
estimator worked by hand."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.report import comment_rate, dashboard
from cxpulse.report import filters_url as urls
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.models import Organisation, Survey

TODAY = date(2025, 9, 1)
"""After the latest answer of the survey in conftest.py."""


def test_comment_rate_is_counted_exactly_up_to_the_limit(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    view = dashboard.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    assert view.comment_rate.estimate is None
    assert view.comment_rate.rate == pytest.approx(13 / 60 * 100)


def test_comment_rate_is_estimated_above_the_limit(
    session: Session, seeded: tuple[Organisation, Survey], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the limit the rate comes from slices of the period; here (60 answers, 40
    slices wanted) the slices are the whole period, so the estimate is the count, exactly."""
    organisation, survey = seeded
    monkeypatch.setattr(comment_rate, "COMMENT_RATE_MAX_SCAN", 10)
    view = dashboard.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    rate = view.comment_rate
    assert rate.commented is None
    assert rate.note is None
    assert rate.estimate is not None
    assert (rate.estimate.sampled, rate.estimate.commented) == (60, 13)
    assert rate.estimate.slices == rate.estimate.of_slices
    assert rate.rate == pytest.approx(13 / 60 * 100)
    assert rate.estimate.ci_low == pytest.approx(rate.rate)
    assert rate.estimate.ci_high == pytest.approx(rate.rate)
    # A filter keeps only its own answers in every slice.
    chat = dashboard.load_view(
        session,
        organisation,
        survey,
        urls.ViewFilters(where=ResponseFilters(channel="chat")),
        today=TODAY,
    )
    assert chat.comment_rate.estimate is not None
    assert (chat.comment_rate.estimate.sampled, chat.comment_rate.estimate.commented) == (20, 5)


def test_comment_rate_from_a_sample_of_slices(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    window = urls.Window(date(2024, 6, 21), date(2025, 6, 21))
    filters = urls.ViewFilters()
    # 60 answers, 4 slices of about 5 answers wanted: the period is cut into 12.
    first, again = (
        comment_rate.estimate_comment_rate(
            session, organisation.id, survey.id, filters, window, 60, slices=4, target=20
        )
        for _ in range(2)
    )
    assert first == again  # the same slices on every visit
    estimate = first.estimate
    assert estimate is not None
    assert (estimate.slices, estimate.of_slices) == (4, 12)
    assert 0 < estimate.sampled < 60
    assert estimate.commented <= 13
    assert estimate.ci_low <= estimate.rate <= estimate.ci_high
    assert estimate.rate == pytest.approx(estimate.commented / estimate.sampled * 100)


def test_comment_rate_gives_up_on_answers_bunched_in_time(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    window = urls.Window(date(2024, 6, 21), date(2025, 6, 21))
    found = comment_rate.estimate_comment_rate(
        session,
        organisation.id,
        survey.id,
        urls.ViewFilters(),
        window,
        60,
        slices=3,
        target=10**9,
        cap=5,
    )
    assert found.estimate is None
    assert found.note is not None
    assert found.note.startswith("unavailable for this view")
    assert math.isnan(found.rate)


def test_slices_hold_about_equal_numbers_of_answers() -> None:
    window = urls.Window(date(2025, 1, 1), date(2025, 1, 4))
    per_day = {date(2025, 1, 1): 10, date(2025, 1, 2): 30}
    hour = timedelta(hours=1)
    first = datetime(2025, 1, 1, tzinfo=UTC)
    second = first + 24 * hour
    assert comment_rate.slice_bounds(window, per_day, 4) == [
        (first, second),
        (second, second + 8 * hour),
        (second + 8 * hour, second + 16 * hour),
        (second + 16 * hour, datetime(2025, 1, 4, tzinfo=UTC)),
    ]
    # Without answers the slices are of equal length.
    assert comment_rate.slice_bounds(window, {}, 3) == [
        (first + 24 * n * hour, first + 24 * (n + 1) * hour) for n in range(3)
    ]


def test_ratio_estimate_worked_example() -> None:
    """Two slices of 10 answers (1 and 3 commented) out of 4 slices and 40 answers:
    share 4/20 = 0.2; s² = ((1 - 2)² + (3 - 2)²) / 1 = 2; variance
    (1 - 2/4) · 2 / (2 · 10²) = 0.005; half width 1.96 · 0.0707 = 0.1386."""
    share, low, high = comment_rate.ratio_estimate([(1, 10), (3, 10)], 4, 40, 0.95)
    assert share == pytest.approx(0.2)
    assert low == pytest.approx(0.2 - 1.959964 * math.sqrt(0.005), abs=1e-6)
    assert high == pytest.approx(0.2 + 1.959964 * math.sqrt(0.005), abs=1e-6)
    # No comment at all in the sample: Wilson's interval of 0 of 20, not a width of 0.
    share, low, high = comment_rate.ratio_estimate([(0, 10), (0, 10)], 4, 40, 0.95)
    assert (share, low) == (0.0, 0.0)
    assert high > 0.1
