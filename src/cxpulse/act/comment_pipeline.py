"""Between the store and the text stage: the comments the worker reads become the
pipeline's input, and its results the rows the store writes.

Also the organisation's taxonomy as the text stage sees it (``taxonomy_of``), the version an
analysis carries (``version_of``) and the seeding of the starter taxonomy, which the store
cannot do alone because the starter themes belong to ``text`` (``ensure_starter_taxonomy``).
The text stage is imported on first use: a process that never meets a comment never loads
its language models.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from cxpulse.metrics import MetricSpec
from cxpulse.store import surveys, text_themes
from cxpulse.store.comment_analyses import NewAnalysis, NewMention
from cxpulse.store.comment_queue import PendingComment
from cxpulse.store.errors import NotFound
from cxpulse.store.text_themes import ThemeRow, ThemeSeed

if TYPE_CHECKING:
    from cxpulse.text.analysis import CommentInput
    from cxpulse.text.comments import CommentAnalysis
    from cxpulse.text.sentiment import SentimentModel
    from cxpulse.text.taxonomy import Taxonomy
    from cxpulse.text.theme_matching import ThemeMatcher

logger = logging.getLogger("cxpulse.worker")

ANALYSIS_VERSION = "1"
"""Raise when the analysis changes in a way stored results should follow (a new detector,
redaction rule or pipeline step): every organisation's comments are then analysed again in
the background."""
NOT_SHOWN = "[not shown: this comment could not be analysed]"
"""Stored instead of a comment the text stage failed on, so that no unredacted text shows."""


def version_of(
    taxonomy: Taxonomy, *, redact: bool, theme_ids: Mapping[str, int] | None = None
) -> str:
    """The version an analysis made with ``taxonomy`` carries (at most 32 characters): the
    pipeline's, redaction at storage or not, the taxonomy's fingerprint (names left out)
    and which theme row each key is (``theme_ids``), since a theme deleted and made again
    with the same phrases lost its assignments with its old row."""
    ids = theme_ids or {}
    rows = ",".join(f"{key}={ids[key]}" for key in sorted(ids))
    rows_digest = hashlib.sha256(rows.encode("utf-8")).hexdigest()[:8]
    return f"{ANALYSIS_VERSION}{'r' if redact else ''}.{taxonomy.version}.{rows_digest}"


def starter_seed() -> list[ThemeSeed]:
    """cxpulse's starter taxonomy as rows for ``store.text_themes.ensure_taxonomy``."""
    from cxpulse.text.taxonomy import starter_taxonomy

    return [
        ThemeSeed(theme.key, theme.name, dict(theme.phrases), theme.implies)
        for theme in starter_taxonomy().themes
    ]


def ensure_starter_taxonomy(session: Session, organisation_id: int) -> bool:
    """Seed the organisation's taxonomy with the starter themes unless it was seeded (or
    edited) before; True when this call seeded it. Pages that show or edit the taxonomy call
    it first, as the worker does."""
    if text_themes.taxonomy_version(session, organisation_id) != 0:
        return False
    return text_themes.ensure_taxonomy(session, organisation_id, starter_seed())


def taxonomy_of(rows: Sequence[ThemeRow]) -> Taxonomy:
    """The text stage's taxonomy of an organisation's active themes. Phrases in languages
    the analysis does not know are left out (the store takes any language code)."""
    from cxpulse.text.comments import LANGUAGES
    from cxpulse.text.taxonomy import Taxonomy, Theme

    return Taxonomy(
        tuple(
            Theme(
                key=row.key,
                name=row.name,
                phrases={lang: found for lang, found in row.phrases.items() if lang in LANGUAGES},
                implies=row.implies,
            )
            for row in rows
        )
    )


def comment_inputs(
    session: Session, organisation_id: int, comments: Sequence[PendingComment]
) -> list[CommentInput]:
    """The pipeline's input for each comment: its text, its score band's sentiment and its
    language hint (the answer's, else the survey's)."""
    from cxpulse.text.analysis import CommentInput
    from cxpulse.text.sentiment import band_sentiment

    specs: dict[int, tuple[MetricSpec, str] | None] = {}
    inputs: list[CommentInput] = []
    for comment in comments:
        if comment.survey_id not in specs:
            try:
                survey = surveys.get_survey(session, organisation_id, comment.survey_id)
                specs[comment.survey_id] = (survey.metric_spec(), survey.default_language)
            except NotFound:
                specs[comment.survey_id] = None  # deleted meanwhile: its write is skipped
        found = specs[comment.survey_id]
        spec, default_language = found if found is not None else (None, None)
        inputs.append(
            CommentInput(
                text=comment.comment,
                score_sentiment=(
                    band_sentiment(comment.score, spec.thresholds) if spec is not None else None
                ),
                language_hint=comment.language or default_language,
            )
        )
    return inputs


def analyse_safely(
    inputs: list[CommentInput],
    matcher: ThemeMatcher,
    models: Mapping[str, SentimentModel],
) -> list[CommentAnalysis]:
    """The pipeline's results; when it fails on the batch, comment by comment, and a comment
    it still fails on gets an analysis that says nothing and shows no text (logged)."""
    from cxpulse.text.analysis import analyse

    try:
        return analyse(inputs, matcher=matcher, models=models)
    except Exception:
        logger.exception("comment analysis failed on a batch: analysing one by one")
    results: list[CommentAnalysis] = []
    for one in inputs:
        try:
            results += analyse([one], matcher=matcher, models=models)
        except Exception:
            logger.exception("comment analysis failed on a comment; stored as not shown")
            results.append(_nothing())
    return results


def _nothing() -> CommentAnalysis:
    from cxpulse.text.comments import CommentAnalysis, Sentiment

    return CommentAnalysis(
        language=None,
        sentiment=Sentiment.UNKNOWN,
        sentiment_source=None,
        themes=(),
        redacted=NOT_SHOWN,
    )


def stored(
    comment: PendingComment, result: CommentAnalysis, theme_ids: Mapping[str, int]
) -> NewAnalysis:
    """The row to store for ``comment``; mentions of themes unknown to ``theme_ids`` (key
    to id) are left out."""
    mentions = tuple(
        NewMention(theme_ids[mention.theme], mention.sentiment.value)
        for mention in result.themes
        if mention.theme in theme_ids
    )
    return NewAnalysis(
        response_id=comment.response_id,
        comment=comment.comment,
        score=comment.score,
        language=result.language,
        sentiment=result.sentiment.value,
        sentiment_source=None if result.sentiment_source is None else result.sentiment_source.value,
        redacted_comment=result.redacted,
        mentions=mentions,
    )
