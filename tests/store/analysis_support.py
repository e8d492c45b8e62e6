"""Helpers of the comment-analysis store tests: answers with comments, themes, analyses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from cxpulse.store import comment_analyses, responses, text_themes
from cxpulse.store.comment_analyses import NewAnalysis, NewMention
from cxpulse.store.models import Response, TextTheme

MOMENT = datetime(2024, 3, 1, 12, tzinfo=UTC)
VERSION = "test.1"


def answer(
    session: Session,
    organisation_id: int,
    survey_id: int,
    score: float,
    comment: str | None,
    *,
    at: datetime = MOMENT,
    channel: str | None = None,
) -> Response:
    response, _ = responses.add_response(
        session,
        organisation_id,
        survey_id,
        score,
        submitted_at=at,
        comment=comment,
        channel=channel,
    )
    return response


def theme(session: Session, organisation_id: int, key: str, *phrases: str) -> TextTheme:
    return text_themes.create_theme(
        session, organisation_id, key=key, name=key.title(), phrases={"en": list(phrases or [key])}
    )


def analysed(
    response: Response,
    themes: Sequence[tuple[int, str]] = (),
    *,
    language: str | None = "en",
    sentiment: str = "positive",
    source: str | None = "score",
) -> NewAnalysis:
    """An analysis of ``response`` as read now, mentioning (theme id, sentiment) pairs."""
    assert response.comment is not None
    return NewAnalysis(
        response_id=response.id,
        comment=response.comment,
        score=response.score,
        language=language,
        sentiment=sentiment,
        sentiment_source=source,
        redacted_comment=response.comment.replace("ann@example.com", "[email]"),
        mentions=tuple(NewMention(theme_id, mood) for theme_id, mood in themes),
    )


def write(
    session: Session, organisation_id: int, *analyses: NewAnalysis, version: str = VERSION
) -> comment_analyses.WriteCounts:
    return comment_analyses.write_analyses(session, organisation_id, version, list(analyses))
