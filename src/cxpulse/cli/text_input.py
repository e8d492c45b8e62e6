"""What the text commands share: reading a file's rows, and analysing its comments in batches.

:func:`read_rows` reads the file with :func:`cxpulse.engine.text_rows.read_text_rows` and ends
the command with ``score``'s one-line messages when the file or a value is wrong.
:func:`analysed` runs the text stage over the comments with weak supervision (the file's
scored comments teach the sentiment models first), in batches so that a progress bar can move
and ``comments`` can write as it goes. The heavy libraries (DuckDB, lingua, simplemma,
scikit-learn) are imported inside the functions.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from cxpulse.cli.console import LateProgress, fail
from cxpulse.cli.scoring_options import reading, skipped_counts

if TYPE_CHECKING:
    from pathlib import Path

    from cxpulse.engine.text_rows import TextRows
    from cxpulse.metrics import MetricSpec
    from cxpulse.text.analysis import CommentInput
    from cxpulse.text.comments import CommentAnalysis
    from cxpulse.text.taxonomy import Taxonomy

__all__ = [
    "BATCH",
    "analysed",
    "checked_hint",
    "comment_inputs",
    "in_languages",
    "note_skipped",
    "read_rows",
    "skipped_scores",
]

BATCH = 2_000
"""Comments analysed at a time: the progress bar moves and ``comments`` writes its rows
between batches (each comment's analysis depends only on it and the trained models)."""


def checked_hint(given: str | None) -> str | None:
    """The ISO 639-1 code of ``--language-hint`` (``pt-BR`` gives ``pt``); a language the
    stage does not analyse ends the command (exit code 2)."""
    if given is None:
        return None
    from cxpulse.text.comments import LANGUAGES
    from cxpulse.text.languages import hint_language

    found = hint_language(given)
    if found is None:
        fail(
            f"--language-hint {given!r} is not one of the languages analysed: "
            f"{', '.join(LANGUAGES)}",
            code=2,
        )
    return found


def skipped_scores(rows: TextRows) -> dict[str, Any]:
    """What was not scored, in the shape of ``score``'s ``skipped``."""
    return skipped_counts(rows.blank_scores, rows.invalid)


def read_rows(
    file: Path,
    *,
    text: str | None = None,
    score: str | None = None,
    spec: MetricSpec | None = None,
    by: str | None = None,
    numbers: dict[str, str] | None = None,
    skip_invalid: bool = False,
) -> TextRows:
    """The file's rows, or one line on stderr saying what is wrong (as ``score`` says it)."""
    from cxpulse.engine.text_rows import read_text_rows

    with reading(file, spec) as progress:
        return read_text_rows(
            file,
            text=text,
            score=score,
            scale=spec.scale if spec is not None else None,
            by=by,
            numbers=numbers,
            skip_invalid=skip_invalid,
            with_lines=text is not None,
            progress=progress,
        )


def comment_inputs(rows: TextRows, spec: MetricSpec | None, hint: str | None) -> list[CommentInput]:
    """Each row as the analysis takes it: its text, its score's band, the language hint."""
    from cxpulse.text.analysis import CommentInput
    from cxpulse.text.sentiment import band_sentiment

    assert rows.texts is not None
    scores = rows.scores if rows.scores is not None and spec is not None else None
    found: list[CommentInput] = []
    for index, text in enumerate(rows.texts):
        score = scores[index] if scores is not None else None
        band = (
            band_sentiment(score, spec.thresholds)
            if score is not None and spec is not None
            else None
        )
        found.append(CommentInput(text, band, hint))
    return found


def analysed(inputs: Sequence[CommentInput]) -> Iterator[tuple[int, list[CommentAnalysis]]]:
    """The analyses in batches of :data:`BATCH` rows, in order: (first row, its analyses).

    Weak supervision: every comment is first redacted and its language detected, the scored
    ones train a sentiment model per language (their score's band is the label), and only
    then is each comment analysed, so that an unscored comment of the first batch gets the
    model the whole file taught. A row without text gets an empty analysis (no language,
    sentiment ``unknown``) without going through the pipeline.
    """
    from cxpulse.text.analysis import Prepared, analyse, prepare
    from cxpulse.text.comments import CommentAnalysis, Sentiment
    from cxpulse.text.sentiment import train_models
    from cxpulse.text.taxonomy import starter_taxonomy
    from cxpulse.text.theme_matching import ThemeMatcher

    empty = CommentAnalysis(None, Sentiment.UNKNOWN, None, (), "")
    starts = range(0, len(inputs), BATCH)
    progress = LateProgress(f"Analysing {len(inputs):,} comments")
    try:
        # Half the work: redaction and language detection, which learning needs as well.
        batches: list[tuple[list[int], Prepared]] = []
        for start in starts:
            present = [i for i in range(start, min(start + BATCH, len(inputs))) if inputs[i].text]
            batches.append((present, prepare([inputs[i] for i in present])))
            progress(min(start + BATCH, len(inputs)) / max(1, len(inputs)) * 50)
        models = train_models(
            example for _present, prepared in batches for example in prepared.training_examples()
        )
        languages = {
            language
            for _present, prepared in batches
            for language in prepared.languages
            if language is not None
        }
        matcher = ThemeMatcher(in_languages(starter_taxonomy(), languages))
        for start, (present, prepared) in zip(starts, batches, strict=True):
            done = analyse(prepared.comments, matcher=matcher, models=models, prepared=prepared)
            result = [empty] * (min(start + BATCH, len(inputs)) - start)
            for index, analysis in zip(present, done, strict=True):
                result[index - start] = analysis
            yield start, result
            progress(50 + min(start + BATCH, len(inputs)) / max(1, len(inputs)) * 50)
    finally:
        progress.close()


def in_languages(taxonomy: Taxonomy, languages: set[str]) -> Taxonomy:
    """The taxonomy with the phrases of these languages only: building a matcher loads the
    lemma dictionary of every language it has phrases in (seconds each), and a file's
    comments are often in one or two."""
    from cxpulse.text.taxonomy import Taxonomy, Theme

    return Taxonomy(
        tuple(
            Theme(
                key=theme.key,
                name=theme.name,
                phrases={
                    language: phrases
                    for language, phrases in theme.phrases.items()
                    if language in languages
                },
                implies=theme.implies,
                description=theme.description,
            )
            for theme in taxonomy.themes
        )
    )


def note_skipped(rows: TextRows) -> None:
    """Say on stderr which invalid scores ``--skip-invalid`` read as unscored."""
    if rows.invalid is not None:
        sys.stderr.write(f"skipped: {rows.invalid.describe()} (read as unscored)\n")
