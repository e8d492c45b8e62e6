"""The comment pipeline: redact, detect the language, split into clauses, find the themes and
give each comment and each theme mention its sentiment.

One function for every caller (``cxpulse comments`` on a file, the worker on new answers, the
evaluation scripts), so a comment gets the same analysis wherever it is read. The work is done
in batches: language detection runs in parallel over the whole batch and each language's
sentiment model sees all of its clauses at once, because per-comment calls into lingua and
scikit-learn would cost more than the analysis itself.

Sentiment of a comment, in order of trust:
1. its own score band (a promoter's comment is positive) — ``SentimentSource.SCORE``;
2. the organisation's model for the comment's language, trained on its scored comments, when
   it is confident — ``MODEL``;
3. the team's lexicon of customer-experience words — ``LEXICON``;
4. otherwise ``unknown``: a guess would be worse than saying so.

A theme mention takes the sentiment of its clause (model, then lexicon), so "fast delivery but
rude support" is positive for delivery and negative for staff; a clause that says nothing
either way takes the comment's own sentiment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cxpulse.redaction import redact, without_placeholders
from cxpulse.text.comments import (
    CommentAnalysis,
    Sentiment,
    SentimentSource,
    ThemeMention,
)
from cxpulse.text.languages import detect_languages
from cxpulse.text.lemmas import clauses, lemmatise
from cxpulse.text.sentiment import SentimentModel, lexicon_sentiment, train_models
from cxpulse.text.theme_matching import ThemeMatcher

__all__ = [
    "CommentInput",
    "Prepared",
    "analyse",
    "learn_and_analyse",
    "prepare",
]


@dataclass(frozen=True)
class CommentInput:
    text: str
    score_sentiment: Sentiment | None = None
    """The sentiment of the answer's score band, or ``None`` for a comment without a score."""
    language_hint: str | None = None
    """The survey's or the answer's language: decides for very short comments."""


@dataclass(frozen=True)
class Prepared:
    """The comments redacted and their languages detected: what both learning and analysis
    start from, computed once."""

    comments: Sequence[CommentInput]
    redacted: list[str]
    languages: list[str | None]

    def training_examples(self) -> list[tuple[str, str, Sentiment]]:
        """(language, redacted text, band sentiment) of the scored comments: what a sentiment
        model learns from (the model itself ignores the neutral band)."""
        return [
            (language, text, comment.score_sentiment)
            for comment, text, language in zip(
                self.comments, self.redacted, self.languages, strict=True
            )
            if comment.score_sentiment is not None and language is not None and text.strip()
        ]


def prepare(comments: Sequence[CommentInput]) -> Prepared:
    """Redact each comment, then detect its language on the redacted text (an e-mail address
    says nothing about the language)."""
    redacted = [redact(comment.text).text for comment in comments]
    languages = detect_languages(
        [without_placeholders(text) for text in redacted],
        [comment.language_hint for comment in comments],
    )
    return Prepared(comments, redacted, languages)


def learn_and_analyse(
    comments: Sequence[CommentInput], *, matcher: ThemeMatcher
) -> tuple[list[CommentAnalysis], dict[str, SentimentModel]]:
    """For a set of comments on its own (a file): the scored ones teach the models that label
    the unscored ones. Returns the analyses and the models learnt (by language)."""
    prepared = prepare(comments)
    models = train_models(prepared.training_examples())
    return analyse(comments, matcher=matcher, models=models, prepared=prepared), models


@dataclass
class _Clause:
    comment: int
    text: str
    lemmas: tuple[str, ...]
    matches: list[tuple[str, str]]


def analyse(
    comments: Sequence[CommentInput],
    *,
    matcher: ThemeMatcher,
    models: Mapping[str, SentimentModel],
    prepared: Prepared | None = None,
) -> list[CommentAnalysis]:
    """The analysis of each comment, in the order given (``prepared``: from :func:`prepare`
    of the same comments, when the caller has it already)."""
    if prepared is None:
        prepared = prepare(comments)
    redacted, languages = prepared.redacted, prepared.languages

    themed: list[_Clause] = []
    whole_lemmas: list[tuple[str, ...]] = []
    for index, (text, language) in enumerate(zip(redacted, languages, strict=True)):
        if language is None:
            whole_lemmas.append(())
            continue
        lemmas_of_comment: list[str] = []
        for clause in clauses(without_placeholders(text), language):
            clause_lemmas = lemmatise(clause, language)
            lemmas_of_comment.extend(clause_lemmas)
            found = matcher.match(clause_lemmas, language)
            if found:
                themed.append(_Clause(index, clause, clause_lemmas, found))
        whole_lemmas.append(tuple(lemmas_of_comment))

    overall = _comment_sentiments(comments, redacted, languages, whole_lemmas, models)
    clause_sentiments = _clause_sentiments(themed, languages, models)

    mentions: dict[int, dict[str, ThemeMention]] = defaultdict(dict)
    for themed_clause, clause_sentiment in zip(themed, clause_sentiments, strict=True):
        sentiment = clause_sentiment
        if sentiment is Sentiment.UNKNOWN:
            # A clause that says nothing either way ("the delivery took 9 days", scored 1)
            # speaks with the comment's own voice.
            sentiment = overall[themed_clause.comment][0]
        found_in_comment = mentions[themed_clause.comment]
        for theme, phrase in themed_clause.matches:
            known = found_in_comment.get(theme)
            # The first clause that names a theme with a sentiment speaks for it.
            if known is None or (
                known.sentiment is Sentiment.UNKNOWN and sentiment is not Sentiment.UNKNOWN
            ):
                found_in_comment[theme] = ThemeMention(theme, sentiment, phrase)

    return [
        CommentAnalysis(
            language=languages[index],
            sentiment=overall[index][0],
            sentiment_source=overall[index][1],
            themes=tuple(mentions[index].values()) if index in mentions else (),
            redacted=redacted[index],
        )
        for index in range(len(comments))
    ]


def _comment_sentiments(
    comments: Sequence[CommentInput],
    redacted: Sequence[str],
    languages: Sequence[str | None],
    lemmas: Sequence[tuple[str, ...]],
    models: Mapping[str, SentimentModel],
) -> list[tuple[Sentiment, SentimentSource | None]]:
    unknown: tuple[Sentiment, SentimentSource | None] = (Sentiment.UNKNOWN, None)
    result = [unknown] * len(comments)
    unscored: dict[str, list[int]] = defaultdict(list)
    for index, comment in enumerate(comments):
        if comment.score_sentiment is not None:
            result[index] = (comment.score_sentiment, SentimentSource.SCORE)
            continue
        language = languages[index]
        if language is not None:
            unscored[language].append(index)
    for language, indexes in unscored.items():
        model = models.get(language)
        predicted = (
            model.predict([without_placeholders(redacted[index]) for index in indexes], language)
            if model is not None
            else [Sentiment.UNKNOWN] * len(indexes)
        )
        for index, sentiment in zip(indexes, predicted, strict=True):
            if sentiment is not Sentiment.UNKNOWN:
                result[index] = (sentiment, SentimentSource.MODEL)
                continue
            by_words = lexicon_sentiment(lemmas[index], language)
            if by_words is not Sentiment.UNKNOWN:
                result[index] = (by_words, SentimentSource.LEXICON)
    return result


def _clause_sentiments(
    themed: Sequence[_Clause],
    languages: Sequence[str | None],
    models: Mapping[str, SentimentModel],
) -> list[Sentiment]:
    result = [Sentiment.UNKNOWN] * len(themed)
    by_language: dict[str, list[int]] = defaultdict(list)
    for position, clause in enumerate(themed):
        language = languages[clause.comment]
        if language is not None:
            by_language[language].append(position)
    for language, positions in by_language.items():
        model = models.get(language)
        predicted = (
            model.predict([themed[position].text for position in positions], language)
            if model is not None
            else [Sentiment.UNKNOWN] * len(positions)
        )
        for position, sentiment in zip(positions, predicted, strict=True):
            if sentiment is Sentiment.UNKNOWN:
                sentiment = lexicon_sentiment(themed[position].lemmas, language)
            result[position] = sentiment
    return result
