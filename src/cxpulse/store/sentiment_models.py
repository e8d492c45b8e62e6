"""An organisation's trained sentiment models, one per language, as bytes.

The bytes are whatever ``cxpulse.text.sentiment.SentimentModel.to_bytes`` wrote (arrays, no
pickle); the store neither reads nor checks them. ``scored_comments_seen`` records how many
scored comments the language had when the model was trained, so that the worker retrains
only once enough new ones arrived (``act.sentiment_training.retrain_due``), which reads its
examples here (``scored_comment_counts``, ``training_comments``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxpulse.store.errors import Invalid
from cxpulse.store.models import AnalysedComment, StoredSentimentModel
from cxpulse.store.types import utc_now


@dataclass(frozen=True)
class ModelInfo:
    """A stored model without its bytes."""

    language: str
    trained_at: datetime
    examples: int
    scored_comments_seen: int


def model_infos(session: Session, organisation_id: int) -> dict[str, ModelInfo]:
    """The organisation's models by language, without loading their bytes."""
    rows = session.execute(
        select(
            StoredSentimentModel.language,
            StoredSentimentModel.trained_at,
            StoredSentimentModel.examples,
            StoredSentimentModel.scored_comments_seen,
        ).where(StoredSentimentModel.organisation_id == organisation_id)
    )
    return {
        row.language: ModelInfo(
            row.language, row.trained_at, int(row.examples), int(row.scored_comments_seen)
        )
        for row in rows
    }


def load_models(
    session: Session, organisation_id: int, languages: list[str] | None = None
) -> dict[str, tuple[ModelInfo, bytes]]:
    """The organisation's models (of ``languages``, default all) with their bytes."""
    query = select(StoredSentimentModel).where(
        StoredSentimentModel.organisation_id == organisation_id
    )
    if languages is not None:
        query = query.where(StoredSentimentModel.language.in_(languages))
    return {
        row.language: (
            ModelInfo(row.language, row.trained_at, row.examples, row.scored_comments_seen),
            bytes(row.model),
        )
        for row in session.scalars(query)
    }


def save_model(
    session: Session,
    organisation_id: int,
    language: str,
    model: bytes,
    *,
    examples: int,
    scored_comments_seen: int,
    trained_at: datetime | None = None,
) -> None:
    """Store (or replace) the organisation's model for ``language``."""
    if not 2 <= len(language) <= 8:
        raise Invalid("language", f"{language!r} is not a language code")
    if examples < 0 or scored_comments_seen < 0:
        raise Invalid("examples", "counts must not be negative")
    row = {
        "organisation_id": organisation_id,
        "language": language,
        "trained_at": trained_at or utc_now(),
        "examples": examples,
        "scored_comments_seen": scored_comments_seen,
        "model": model,
    }
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_fn(StoredSentimentModel).values(**row)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["organisation_id", "language"],
            set_={
                name: statement.excluded[name]
                for name in ("trained_at", "examples", "scored_comments_seen", "model")
            },
        )
    )


def delete_model(session: Session, organisation_id: int, language: str) -> bool:
    """Forget the organisation's model for ``language``; True when there was one."""
    gone = session.execute(
        delete(StoredSentimentModel)
        .where(
            StoredSentimentModel.organisation_id == organisation_id,
            StoredSentimentModel.language == language,
        )
        .returning(StoredSentimentModel.language)
    ).first()
    return gone is not None


def scored_comment_counts(session: Session, organisation_id: int) -> dict[str, int]:
    """How many of the organisation's analysed comments took their sentiment from their
    score, per language: the examples a sentiment model can learn from."""
    rows = session.execute(
        select(AnalysedComment.language, func.count())
        .where(
            AnalysedComment.organisation_id == organisation_id,
            AnalysedComment.language.is_not(None),
            AnalysedComment.sentiment_source == "score",
        )
        .group_by(AnalysedComment.language)
    )
    return {str(language): int(count) for language, count in rows}


def training_comments(
    session: Session, organisation_id: int, language: str, *, limit: int = 20_000
) -> list[tuple[str, str]]:
    """(redacted comment, sentiment of its score band) of the organisation's latest
    ``limit`` scored comments in ``language``."""
    rows = session.execute(
        select(AnalysedComment.redacted_comment, AnalysedComment.sentiment)
        .where(
            AnalysedComment.organisation_id == organisation_id,
            AnalysedComment.language == language,
            AnalysedComment.sentiment_source == "score",
        )
        .order_by(AnalysedComment.response_id.desc())
        .limit(limit)
    )
    return [(str(text), str(sentiment)) for text, sentiment in rows]
