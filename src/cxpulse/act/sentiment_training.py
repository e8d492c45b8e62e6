"""Retraining an organisation's sentiment models as its scored comments arrive.

A model per language learns from the organisation's own scored comments (their score band
says how the customer felt: ``text.sentiment_model``). The worker asks every few minutes
(``CommentAnalyser.retrain``); a language is retrained once its scored comments grew by
``RETRAIN_GROWTH`` and by at least ``RETRAIN_MIN_NEW`` since its model was trained.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import sentiment_models

RETRAIN_GROWTH = 0.2
RETRAIN_MIN_NEW = 100
TRAINING_LIMIT = 20_000
"""A model learns from at most this many of the latest scored comments of its language."""


def retrain_due(
    sessions: sessionmaker[Session],
    organisation_id: int,
    read_sessions: sessionmaker[Session] | None = None,
) -> list[str]:
    """Retrain the organisation's sentiment model of each language whose scored comments
    grew by ``RETRAIN_GROWTH`` and at least ``RETRAIN_MIN_NEW`` since it was last trained
    (or that has ``RETRAIN_MIN_NEW`` and no model); the languages trained.

    Takes session factories rather than a session: the training runs between a read and a
    write transaction, never inside one. A language without enough examples of each side
    is recorded with an empty model, so that it waits for the same growth before trying
    again.
    """
    from cxpulse.text.comments import LANGUAGES, Sentiment
    from cxpulse.text.sentiment import SentimentModel

    readers = read_sessions or sessions
    with readers() as session:
        counts = sentiment_models.scored_comment_counts(session, organisation_id)
        infos = sentiment_models.model_infos(session, organisation_id)
    trained: list[str] = []
    for language, count in sorted(counts.items()):
        seen = infos[language].scored_comments_seen if language in infos else 0
        grown = count - seen
        if language not in LANGUAGES or grown < RETRAIN_MIN_NEW or grown < RETRAIN_GROWTH * seen:
            continue
        with readers() as session:
            examples = sentiment_models.training_comments(
                session, organisation_id, language, limit=TRAINING_LIMIT
            )
        model = SentimentModel.train(
            language,
            [text for text, _ in examples],
            [Sentiment(sentiment) for _, sentiment in examples],
        )
        with sessions.begin() as session:
            sentiment_models.save_model(
                session,
                organisation_id,
                language,
                b"" if model is None else model.to_bytes(),
                examples=0 if model is None else sum(model.examples),
                scored_comments_seen=count,
            )
        if model is not None:
            trained.append(language)
    return trained
