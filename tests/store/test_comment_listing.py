"""Listing analysed comments: newest first in keyset pages, filtered by band, theme,
language, sentiment and the answer's own fields, redacted, scoped to the organisation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import comment_listing, surveys
from cxpulse.store.comment_listing import CommentFilters, list_comments
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.models import Organisation, Response, Survey

from .analysis_support import MOMENT, analysed, answer, theme, write


def _all_pages(
    session: Session,
    org_id: int,
    filters: ResponseFilters,
    found: CommentFilters | None = None,
    *,
    limit: int = 3,
) -> list[int]:
    ids: list[int] = []
    page = list_comments(session, org_id, filters, found, limit=limit)
    ids += [c.response_id for c in page.items]
    while page.next_before is not None:
        page = list_comments(session, org_id, filters, found, before=page.next_before, limit=limit)
        ids += [c.response_id for c in page.items]
    return ids


def test_pages_hold_every_comment_newest_first(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    delivery = theme(session, org.id, "delivery")
    price = theme(session, org.id, "price")
    made: list[Response] = []
    for n in range(10):
        # Pairs share a moment: the response id breaks the tie.
        at = MOMENT + timedelta(hours=n // 2)
        response = answer(
            session,
            org.id,
            survey.id,
            n % 5 + 1,
            f"comment {n} ann@example.com",
            at=at,
            channel="chat" if n % 3 == 0 else "email",
        )
        made.append(response)
        mentions = [(delivery.id, "negative")] if n % 2 == 0 else []
        if n % 4 == 0:
            mentions.append((price.id, "positive"))
        write(
            session,
            org.id,
            analysed(
                response,
                mentions,
                language="sv" if n >= 7 else "en",
                sentiment="negative" if n % 5 < 2 else "positive",
            ),
        )
    answer(session, org.id, survey.id, 5, "not analysed yet")
    newest = sorted(made, key=lambda r: (r.submitted_at, r.id), reverse=True)
    every = ResponseFilters(survey_id=survey.id)

    assert _all_pages(session, org.id, every) == [r.id for r in newest]
    first = list_comments(session, org.id, every, limit=1).items[0]
    assert first.text == "comment 9 [email]"
    assert (first.score, first.language, first.sentiment, first.sentiment_source) == (
        5.0,
        "sv",
        "positive",
        "score",
    )
    assert first.themes == ()
    [zero] = [c for c in list_comments(session, org.id, every, limit=10).items if c.text[8] == "0"]
    assert [(m.key, m.sentiment) for m in zero.themes] == [
        ("delivery", "negative"),
        ("price", "positive"),
    ]

    low = ResponseFilters(survey_id=survey.id, max_score=2)
    assert _all_pages(session, org.id, low) == [r.id for r in newest if r.score <= 2]
    by_theme = CommentFilters(theme_id=delivery.id)
    assert _all_pages(session, org.id, every, by_theme) == [
        r.id for r in newest if made.index(r) % 2 == 0
    ]
    assert _all_pages(session, org.id, low, by_theme) == [
        r.id for r in newest if made.index(r) % 2 == 0 and r.score <= 2
    ]
    assert _all_pages(session, org.id, every, CommentFilters(language="sv")) == [
        r.id for r in newest if made.index(r) >= 7
    ]
    assert _all_pages(session, org.id, every, CommentFilters(sentiment="negative")) == [
        r.id for r in newest if made.index(r) % 5 < 2
    ]
    chat = ResponseFilters(survey_id=survey.id, channel="chat")
    assert _all_pages(session, org.id, chat, CommentFilters(theme_id=delivery.id)) == [
        r.id for r in newest if made.index(r) % 6 == 0
    ]
    since = ResponseFilters(survey_id=survey.id, start=MOMENT + timedelta(hours=3))
    assert _all_pages(session, org.id, since) == [r.id for r in newest[:4]]

    # Another organisation sees none of them, even naming the survey and the theme.
    assert list_comments(session, other_org.id, every).items == []
    assert list_comments(session, other_org.id, every, by_theme).items == []
    with pytest.raises(NotFound):
        comment_listing.get_comment(session, other_org.id, made[0].id)
    with pytest.raises(NotFound):
        comment_listing.themes_of_response(session, other_org.id, made[0].id)
    with pytest.raises(Invalid):
        list_comments(session, org.id, every, limit=0)
    with pytest.raises(Invalid):
        list_comments(session, org.id, every, CommentFilters(sentiment="angry"))


def test_one_responses_analysis_and_themes(
    session: Session, org: Organisation, survey: Survey
) -> None:
    staff = theme(session, org.id, "staff")
    app = theme(session, org.id, "app")
    response = answer(session, org.id, survey.id, 2, "rude staff, slow app")
    assert comment_listing.get_comment(session, org.id, response.id) is None
    assert comment_listing.themes_of_response(session, org.id, response.id) == []
    write(session, org.id, analysed(response, [(staff.id, "negative"), (app.id, "negative")]))
    comment = comment_listing.get_comment(session, org.id, response.id)
    assert comment is not None
    assert comment.text == "rude staff, slow app"
    assert [m.key for m in comment.themes] == ["app", "staff"]
    assert comment_listing.themes_of_response(session, org.id, response.id) == list(comment.themes)
    other = surveys.create_survey(session, org.id, slug="other", name="Other", metric="csat")
    assert list_comments(session, org.id, ResponseFilters(survey_id=other.id)).items == []
