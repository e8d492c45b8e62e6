"""Request and answer bodies of the themes API (``web/routes/themes_api.py``): the taxonomy,
the themes of a survey, discovered themes and a response's analysis.

Kept apart from the routes, as ``web/schemas.py`` is for the rest of the API, so that each
module reads in one sitting; limits are the store's (``store.text_themes``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, Field, StrictBool

from cxpulse.store.text_themes import MAX_PHRASES_PER_LANGUAGE
from cxpulse.text.comments import LANGUAGES
from cxpulse.web.schemas import MAX_SMALL_ID, Body, Name200, Slug

LanguageCode = Literal["en", "sv", "nl", "mk", "de", "fr", "es", "pt"]
if get_args(LanguageCode) != LANGUAGES:  # the analysis's languages are the API's
    raise RuntimeError(f"LanguageCode {get_args(LanguageCode)} differs from {LANGUAGES}")
Phrase = Name200
"""1 to ``MAX_PHRASE_LENGTH`` (200) characters, the rule of every text field."""
PhraseList = Annotated[list[Phrase], Field(max_length=MAX_PHRASES_PER_LANGUAGE)]
PHRASES_HELP = (
    "Phrases per language code (en, sv, nl, mk, de, fr, es, pt), written as customers write "
    "them; matched on lemmas, so one form covers its inflections."
)


# -- bodies ------------------------------------------------------------------------------------


class ThemeCreate(Body):
    name: Name200 = Field(examples=["Gift wrapping"])
    key: Slug | None = Field(
        None, description="Stable name in URLs and exports; default: made from the name."
    )
    phrases: dict[LanguageCode, PhraseList] = Field(
        description=PHRASES_HELP + " At least one phrase.",
        examples=[{"en": ["gift wrap", "wrapping paper"], "sv": ["presentinslagning"]}],
    )


class ThemeUpdate(Body):
    """Only the fields sent change; ``phrases`` replaces the languages it names."""

    name: Name200 | None = None
    phrases: dict[LanguageCode, PhraseList] | None = Field(
        None,
        description=PHRASES_HELP + " Languages left out keep their phrases; an empty list "
        "clears a language. At least one phrase must remain.",
    )
    active: StrictBool | None = Field(
        None, description="false: stop finding the theme (its mentions go in the background)."
    )


class ThemeMerge(Body):
    into: int = Field(strict=True, ge=1, le=MAX_SMALL_ID, description="The theme to merge into.")


class ThemePromote(Body):
    language: LanguageCode
    label: Name200 = Field(description="The discovered theme's label.")
    phrases: list[Phrase] = Field(
        min_length=1,
        max_length=50,
        description="The phrases to keep (the discovered theme's top phrases, or some).",
    )
    name: Name200 | None = Field(None, description="Default: the label.")
    key: Slug | None = Field(None, description="Default: made from the label.")


# -- answers -----------------------------------------------------------------------------------


class ThemeOut(BaseModel):
    id: int
    key: str
    name: str
    origin: Literal["starter", "custom", "discovered"]
    active: bool
    merged_into: int | None = Field(description="The theme it was merged into.")
    phrases: dict[str, list[str]]
    mentions_30_days: int = Field(
        description="Answers mentioning it in the last 30 days, over every survey."
    )
    created_at: datetime
    updated_at: datetime


class ThemeList(BaseModel):
    items: list[ThemeOut]
    taxonomy_version: int = Field(
        description="Grows with every change that alters what comments mention; the worker "
        "recomputes the assignments of an older version in the background."
    )


class ExampleOut(BaseModel):
    response_id: int
    submitted_at: datetime
    score: float
    comment: str = Field(description="Redacted.")


class DiscoveredOut(BaseModel):
    language: str
    key: str
    label: str
    top_phrases: list[str] = Field(description="Lemmatised phrases, heaviest first.")
    size: int = Field(description="Comments in the theme.")
    share: float = Field(description="Percent of the comments read in its language.")
    mean_score: float
    examples: list[ExampleOut]


class DiscoveredList(BaseModel):
    start: date = Field(description="First day, inclusive.")
    to: date = Field(description="Last day, inclusive.")
    analysed: int = Field(description="Analysed comments in the period.")
    read: int = Field(description="Of those read: the newest, at most `cap`.")
    cap: int
    waiting: int = Field(description="Comments of the period not analysed yet (not read).")
    languages: dict[str, int] = Field(description="Comments read per language.")
    mean_score: float | None
    items: list[DiscoveredOut]


class MentionOut(BaseModel):
    id: int
    key: str
    name: str
    sentiment: Literal["negative", "neutral", "positive", "unknown"]


class ResponseThemesOut(BaseModel):
    response_id: int
    survey_id: int
    analysed: bool = Field(description="false: no comment, or not analysed yet.")
    language: str | None
    sentiment: Literal["negative", "neutral", "positive", "unknown"] | None
    sentiment_source: Literal["score", "model", "lexicon"] | None
    comment: str | None = Field(description="Redacted.")
    themes: list[MentionOut]


class ScoreOut(BaseModel):
    value: float | None = Field(description="null without answers.")
    ci_low: float | None
    ci_high: float | None
    n: int
    too_small: bool = Field(description="Fewer answers than `min_n`: too few to read.")


class SurveyThemeOut(BaseModel):
    key: str
    name: str
    origin: Literal["starter", "custom", "discovered"]
    mentions: int = Field(description="Answers whose comment mentions it.")
    share: float | None = Field(description="Percent of the analysed comments.")
    share_ci_low: float | None
    share_ci_high: float | None
    score_with: ScoreOut = Field(description="The score of the answers that mention it.")
    score_without: ScoreOut = Field(description="The score of every other answer.")
    impact: float | None = Field(
        description="Overall score minus `score_without.value`, in the metric's points: how "
        "far the score would move if these answers scored like the rest."
    )
    impact_ci_low: float | None
    impact_ci_high: float | None
    direction: Literal["costs", "wins", "none"]
    significant: bool = Field(description="The impact's interval excludes 0.")
    too_few: bool = Field(description="Fewer mentions than `min_n`: never called a cost or win.")


class SurveyThemes(BaseModel):
    metric: str
    level: float
    min_n: int
    start: date = Field(description="First day, inclusive.")
    to: date = Field(description="Last day, inclusive.")
    overall: ScoreOut = Field(description="The score of every answer of the period.")
    answers: int
    analysed: int = Field(description="Analysed comments of the period (the shares' base).")
    waiting: int | None = Field(
        description="Comments of the period the worker has not analysed yet; null unknown."
    )
    items: list[SurveyThemeOut] = Field(description="The largest impact first.")
