from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from cxpulse.store.filters import ResponseFilters
from cxpulse.web.errors import FieldErrors
from cxpulse.web.filters import (
    listing_filters,
    response_filters,
    score_filters,
    scoring_filters,
)


def test_score_filters_keep_the_segments_and_read_the_bounds() -> None:
    segments = ResponseFilters(properties={"team": "billing"}, contact_attributes={"plan": "pro"})
    filters = score_filters(
        segments, "2024-05-01", "2024-06-01T08:00:00+02:00", "email", "checkout", "sv", "api"
    )
    assert filters == ResponseFilters(
        start=date(2024, 5, 1),
        end=datetime(2024, 6, 1, 6, tzinfo=UTC),
        channel="email",
        touchpoint="checkout",
        language="sv",
        source="api",
        properties={"team": "billing"},
        contact_attributes={"plan": "pro"},
    )


def test_score_filters_name_every_text_that_cannot_be_stored() -> None:
    with pytest.raises(FieldErrors) as raised:
        score_filters(ResponseFilters(), None, None, "a\x00b", None, "c\x00d", None)
    assert [error["loc"] for error in raised.value.errors] == [
        ["query", "channel"],
        ["query", "language"],
    ]
    with pytest.raises(FieldErrors):
        score_filters(ResponseFilters(), "May", None, None, None, None, None)


def test_listings_add_their_own_filters_to_those_of_scores() -> None:
    filters = response_filters(
        scoring_filters(ResponseFilters(), start="2024-05-01", channel="email"),
        listing_filters(min_score=3, max_score=5, contact_id=7, has_comment=True),
    )
    assert filters == ResponseFilters(
        start=date(2024, 5, 1),
        channel="email",
        min_score=3,
        max_score=5,
        contact_id=7,
        has_comment=True,
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [("1900-01-01", "2999-12-31"), ("1970-01-01T00:00:00Z", "2999-12-31T22:00:00-01:00")],
)
def test_bounds_from_1900_to_2999_are_taken(start: str, end: str) -> None:
    filters = score_filters(ResponseFilters(), start, end, None, None, None, None)
    assert filters.start is not None
    assert filters.end is not None


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("start", "9999-12-31"),
        ("end", "1899-12-31"),
        ("start", "0001-01-01T00:00:00Z"),
        ("end", "2999-12-31T23:30:00-01:00"),  # 3000-01-01 in UTC
    ],
)
def test_bounds_outside_1900_to_2999_are_refused_by_name(name: str, text: str) -> None:
    bounds = {"start": None, "end": None, name: text}
    with pytest.raises(FieldErrors) as raised:
        score_filters(ResponseFilters(), bounds["start"], bounds["end"], None, None, None, None)
    assert raised.value.errors == [
        {
            "loc": ["query", name],
            "msg": "must be between 1900-01-01 and 2999-12-31",
            "type": "value_error",
        }
    ]
