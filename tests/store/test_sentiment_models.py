"""Stored sentiment models: saved, replaced, loaded with and without their bytes, deleted,
per organisation and language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import sentiment_models
from cxpulse.store.comment_analyses import NewAnalysis
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Organisation, Survey

from .analysis_support import analysed, answer, write

TRAINED = datetime(2024, 5, 1, 8, tzinfo=UTC)


def test_models_are_kept_per_organisation_and_language(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    blob = bytes(range(256)) * 40
    sentiment_models.save_model(
        session, org.id, "en", blob, examples=300, scored_comments_seen=320, trained_at=TRAINED
    )
    sentiment_models.save_model(session, org.id, "sv", b"sv", examples=1, scored_comments_seen=1)
    infos = sentiment_models.model_infos(session, org.id)
    assert infos["en"] == sentiment_models.ModelInfo("en", TRAINED, 300, 320)
    assert sorted(infos) == ["en", "sv"]
    loaded = sentiment_models.load_models(session, org.id, ["en"])
    assert list(loaded) == ["en"]
    assert loaded["en"][1] == blob

    later = datetime(2024, 6, 1, tzinfo=UTC)
    sentiment_models.save_model(
        session, org.id, "en", b"new", examples=500, scored_comments_seen=640, trained_at=later
    )
    session.expire_all()
    info, model = sentiment_models.load_models(session, org.id)["en"]
    assert (info, model) == (sentiment_models.ModelInfo("en", later, 500, 640), b"new")

    assert sentiment_models.model_infos(session, other_org.id) == {}
    assert sentiment_models.load_models(session, other_org.id) == {}
    assert not sentiment_models.delete_model(session, other_org.id, "en")
    assert sentiment_models.delete_model(session, org.id, "en")
    assert not sentiment_models.delete_model(session, org.id, "en")
    assert sorted(sentiment_models.model_infos(session, org.id)) == ["sv"]

    with pytest.raises(Invalid):
        sentiment_models.save_model(session, org.id, "x", b"", examples=0, scored_comments_seen=0)
    with pytest.raises(Invalid):
        sentiment_models.save_model(session, org.id, "en", b"", examples=-1, scored_comments_seen=0)


def test_scored_comments_are_counted_and_read_for_training(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    rows: list[NewAnalysis] = []
    for n in range(6):
        response = answer(session, org.id, survey.id, 5 if n % 2 else 1, f"text {n}")
        rows.append(
            analysed(
                response,
                language="sv" if n == 5 else "en",
                sentiment="positive" if n % 2 else "negative",
                source="model" if n == 4 else "score",
            )
        )
    unknown = answer(session, org.id, survey.id, 3, "12345")
    rows.append(analysed(unknown, language=None, sentiment="neutral"))
    write(session, org.id, *rows)
    assert sentiment_models.scored_comment_counts(session, org.id) == {"en": 4, "sv": 1}
    assert sentiment_models.scored_comment_counts(session, other_org.id) == {}
    assert sentiment_models.training_comments(session, org.id, "en") == [
        ("text 3", "positive"),
        ("text 2", "negative"),
        ("text 1", "positive"),
        ("text 0", "negative"),
    ]
    assert sentiment_models.training_comments(session, org.id, "en", limit=1) == [
        ("text 3", "positive")
    ]
    assert sentiment_models.training_comments(session, other_org.id, "en") == []
