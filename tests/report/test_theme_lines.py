"""A theme's monthly share of comments as a small line (``report/theme_lines.py``): pure."""

from __future__ import annotations

from datetime import date

from cxpulse.report.filters_url import Window
from cxpulse.report.theme_lines import LINE_HEIGHT, LINE_PAD, months_of, share_line

MONTHS = [date(2025, m, 1) for m in (1, 2, 3, 4)]


def test_months_of_a_window() -> None:
    assert months_of(Window(date(2024, 11, 21), date(2025, 2, 3))) == [
        date(2024, 11, 1),
        date(2024, 12, 1),
        date(2025, 1, 1),
        date(2025, 2, 1),
    ]


def test_a_line_breaks_at_a_month_without_comments() -> None:
    line = share_line(
        MONTHS,
        {MONTHS[0]: 10, MONTHS[1]: 20, MONTHS[3]: 5},
        {MONTHS[0]: 100, MONTHS[1]: 100, MONTHS[3]: 50},
    )
    first, second, third, fourth = line.points
    assert (first.share, second.share, fourth.share) == (10.0, 20.0, 10.0)
    assert third.y is None
    assert third.comments == 0
    assert len(line.segments) == 1
    assert line.dots == (fourth,)
    # The higher share is drawn higher (smaller y), inside the padding.
    assert second.y is not None
    assert first.y is not None
    assert second.y < first.y
    assert second.y >= LINE_PAD
    assert first.y <= LINE_HEIGHT - LINE_PAD
    assert line.summary.startswith("Share of comments by month: Jan 2025 10.0% of 100")


def test_a_wobble_is_not_a_surge() -> None:
    """4% then 5%: the vertical range spans at least 10 points, so the line barely moves."""
    line = share_line(MONTHS[:2], {MONTHS[0]: 4, MONTHS[1]: 5}, {MONTHS[0]: 100, MONTHS[1]: 100})
    a, b = line.points
    assert a.y is not None
    assert b.y is not None
    assert abs(a.y - b.y) <= (LINE_HEIGHT - 2 * LINE_PAD) / 10 + 0.1


def test_no_comments() -> None:
    line = share_line(MONTHS, {}, {})
    assert line.segments == ()
    assert line.dots == ()
    assert line.summary == "No analysed comments in these months."
    assert share_line((), {}, {}).points == ()
