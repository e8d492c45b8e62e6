"""A stored moment on the account pages: to the minute, in UTC, or "never"."""

from __future__ import annotations

from datetime import UTC, datetime

from cxpulse.web.routes.page_moments import when


def test_a_moment_is_shown_to_the_minute_in_utc() -> None:
    assert when(datetime(2025, 3, 4, 5, 6, 59, tzinfo=UTC)) == "2025-03-04 05:06 UTC"


def test_no_moment_is_never() -> None:
    assert when(None) == "never"
