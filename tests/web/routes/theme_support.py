"""Helpers of the theme route tests: analysed comments written straight to the store, as the
worker would write them, so that the tests decide what each comment mentions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from cxpulse.redaction import redact
from cxpulse.store import comment_analyses, responses
from cxpulse.store.comment_analyses import NewAnalysis, NewMention

VERSION = "test.1"

# Two groups of comments that share words (and nothing else), and comments of no group: the
# words that vary are all different, so only the shared ones can make a theme.
GIFT_COMMENTS = [
    f"The gift wrapping was {word}"
    for word in (
        "torn", "cheap", "lovely", "crushed", "wet", "beautiful", "loose", "ugly", "perfect",
        "dirty", "elegant", "sloppy", "charming", "faded", "stylish", "creased", "festive",
        "shabby", "neat", "bland",
    )
]  # fmt: skip
PARKING_COMMENTS = [
    f"The car park was {word}"
    for word in (
        "full", "empty", "dark", "busy", "closed", "small", "huge", "quiet", "flooded",
        "crowded", "icy", "unlit", "narrow", "cramped", "spacious", "muddy", "expensive",
        "free", "safe", "scary",
    )
]  # fmt: skip
OTHER_COMMENTS = [
    "ok",
    "Fine overall",
    "Nothing to add",
    "Good service",
    "Could be better",
    "Thanks",
    "Friendly staff",
    "Quick checkout",
    "Prices are fair",
    "Will come back",
]


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def analysed_comments(
    db: sessionmaker[Session],
    organisation_id: int,
    survey_id: int,
    texts: Sequence[str],
    *,
    language: str = "en",
    score: float = 2.0,
    at: datetime | None = None,
    mentions: Sequence[tuple[int, str]] = (),
) -> list[int]:
    """Answers carrying ``texts`` and their stored analyses (in ``language``, each
    mentioning ``mentions``: (theme id, sentiment) pairs); their ids, in order."""
    moment = at or now() - timedelta(days=1)
    ids: list[int] = []
    with db() as session:
        analyses: list[NewAnalysis] = []
        for n, text in enumerate(texts):
            response, _ = responses.add_response(
                session,
                organisation_id,
                survey_id,
                score,
                submitted_at=moment - timedelta(minutes=n),
                comment=text,
            )
            ids.append(response.id)
            analyses.append(
                NewAnalysis(
                    response_id=response.id,
                    comment=text,
                    score=score,
                    language=language,
                    sentiment="negative",
                    sentiment_source="score",
                    redacted_comment=redact(text).text,
                    mentions=tuple(NewMention(theme, mood) for theme, mood in mentions),
                )
            )
        comment_analyses.write_analyses(session, organisation_id, VERSION, analyses)
        session.commit()
    return ids
