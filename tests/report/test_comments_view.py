"""The comments panel (``report/comments_view.py``) on the survey of themes_support.py, on
SQLite and PostgreSQL: cards, filters by band, theme, language and sentiment, chips, links and
keyset pages."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest
from sqlalchemy.orm import Session

from cxpulse.report import comments_view
from cxpulse.report.comments_view import CommentQuery, parse_comment_query
from cxpulse.report.filters_url import ViewFilters
from cxpulse.store.cursors import encode_cursor
from cxpulse.store.filters import ResponseFilters

from .themes_support import JUNE, JUNE_VIEW, Themed, build


@pytest.fixture
def themed(session: Session) -> Themed:
    return build(session)


def _panel(
    session: Session,
    themed: Themed,
    query: CommentQuery,
    filters: ViewFilters = JUNE_VIEW,
    *,
    limit: int = comments_view.PAGE_SIZE,
) -> comments_view.CommentsPanel:
    return comments_view.latest_comments(
        session,
        themed.organisation.id,
        themed.survey.id,
        themed.survey.metric_spec(),
        filters,
        JUNE,
        query,
        limit=limit,
    )


def test_the_latest_comments_as_cards(session: Session, themed: Themed) -> None:
    panel = _panel(session, themed, CommentQuery())
    assert len(panel.cards) == 10
    newest = panel.cards[0]
    # The newest analysed comment of June (the later ones wait for the worker).
    assert newest.text == "Late delivery 29, write to [email]"
    assert (newest.score, newest.band, newest.band_name) == (1, "bottom", "Dissatisfied 1–2")
    assert (newest.language, newest.language_name, newest.sentiment) == (
        "en",
        "English",
        "negative",
    )
    assert [(t.key, t.name, t.sentiment) for t in newest.themes] == [
        ("delivery", "Delivery", "negative")
    ]
    moments = [card.submitted_at for card in panel.cards]
    assert moments == sorted(moments, reverse=True)
    # Comments the worker has not read are not cards.
    assert all("Not read yet" not in card.text for card in panel.cards)
    assert panel.next_query is not None
    assert panel.clear is None


def test_every_page_once(session: Session, themed: Themed) -> None:
    """The 50 analysed comments of June, 10 a page, each exactly once, newest first."""
    seen: list[int] = []
    query: CommentQuery | None = CommentQuery()
    while query is not None:
        panel = _panel(session, themed, query)
        seen += [card.response_id for card in panel.cards]
        query = panel.next_query
    assert len(seen) == len(set(seen)) == 50


@pytest.mark.parametrize(
    ("query", "count", "text"),
    [
        (CommentQuery(band="top"), 20, "Friendly staff"),
        (CommentQuery(band="bottom"), 30, "Late delivery"),
        (CommentQuery(band="middle"), 0, ""),
        (CommentQuery(theme="staff"), 20, "Friendly staff"),
        (CommentQuery(theme="delivery", band="top"), 0, ""),
        (CommentQuery(language="sv"), 20, "Friendly staff"),
        (CommentQuery(sentiment="negative"), 30, "Late delivery"),
        (CommentQuery(theme="no-such-theme"), 0, ""),
    ],
)
def test_filters(
    session: Session, themed: Themed, query: CommentQuery, count: int, text: str
) -> None:
    panel = _panel(session, themed, query, limit=50)
    assert len(panel.cards) == count
    assert all(text in card.text for card in panel.cards)
    assert panel.clear == CommentQuery()


def test_view_filters_apply(session: Session, themed: Themed) -> None:
    email = ViewFilters(start=JUNE.start, to=JUNE.last_day, where=ResponseFilters(channel="email"))
    panel = _panel(session, themed, CommentQuery(), email, limit=50)
    assert len(panel.cards) == 20
    assert {card.themes[0].key for card in panel.cards} == {"staff"}


def test_chips_and_links(session: Session, themed: Themed) -> None:
    panel = _panel(session, themed, CommentQuery(theme="delivery"))
    assert [chip.label for chip in panel.bands] == [
        "All",
        "Dissatisfied 1–2",
        "Neutral 3",
        "Satisfied 4–5",
    ]
    assert [(chip.label, chip.active) for chip in panel.themes][:1] == [("All", False)]
    delivery = next(chip for chip in panel.themes if chip.label == "Delivery")
    assert delivery.active
    assert panel.theme_name == "Delivery"
    # Languages present in the period's analysed comments, in the analysis's order.
    assert [chip.label for chip in panel.languages] == ["All", "EN", "SV"]
    # A chip keeps the view's filters and the other comment filters, from the first page.
    top = panel.bands[3]
    pairs = parse_qsl(panel.href(top.query).removeprefix("?").split("#")[0])
    assert pairs == [
        ("from", "2025-06-01"),
        ("to", "2025-06-30"),
        ("comments.band", "top"),
        ("comments.theme", "delivery"),
    ]
    assert panel.href(top.query).endswith("#comments")


def test_parse_comment_query() -> None:
    token = encode_cursor((datetime(2025, 6, 10, tzinfo=UTC), 5))
    query, errors = parse_comment_query(
        [
            ("from", "2025-06-01"),
            ("comments.band", "TOP"),
            ("comments.theme", "Delivery"),
            ("comments.language", "sv"),
            ("comments.sentiment", "positive"),
            ("comments.before", token),
        ]
    )
    assert errors == {}
    assert query == CommentQuery("top", "delivery", "sv", "positive", token)
    assert query.pairs()[0] == ("comments.band", "top")
    assert query.choosing(band=None) == CommentQuery(None, "delivery", "sv", "positive")
    bad, errors = parse_comment_query(
        [
            ("comments.band", "worst"),
            ("comments.theme", "no spaces"),
            ("comments.language", "xx"),
            ("comments.sentiment", "angry"),
            ("comments.before", "not-a-token"),
        ]
    )
    assert bad == CommentQuery()
    assert set(errors) == {
        "comments.band",
        "comments.theme",
        "comments.language",
        "comments.sentiment",
        "comments.before",
    }
