"""The comments panel of a survey's dashboard: its latest comments as cards, filtered by band,
theme, language and sentiment, a page at a time.

Every card is an analysed comment (``store.comment_listing``): the redacted text with its
score, the score's band ("Detractors 0–6"), the language the analysis found, its sentiment
and the themes it mentions, newest first. The chips that filter the panel are links: each is
the view's own query plus the panel's parameters, so they work without JavaScript, can be
bookmarked, and leave the rest of the dashboard as it was. The parameters, next to the view's
(``report.filters_url``):

| parameter | meaning |
|---|---|
| ``comments.band`` | ``bottom``, ``middle`` or ``top``: the score's band (detractors ...) |
| ``comments.theme`` | a theme's key: comments that mention it |
| ``comments.language`` | an ISO 639-1 code: comments the analysis found in that language |
| ``comments.sentiment`` | ``negative``, ``neutral``, ``positive`` or ``unknown`` |
| ``comments.before`` | the page token of the next (older) page |

Cost: one range of the (survey, time) index of the analyses (or of the (survey, theme, time)
index of the mentions when filtered by a theme) read until ``limit`` cards match, their
themes by id, and one index probe per language for the language chips; filters on the
view's segments join the responses. Comments still waiting for the worker are counted (by
the caller, from the comment rate and the analysed count) and the panel says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from cxpulse.metrics import MetricSpec
from cxpulse.report.charts import ScaleBands
from cxpulse.report.filters_url import ViewFilters, Window
from cxpulse.report.scale_labels import scale_bands
from cxpulse.store import _values as values
from cxpulse.store import comment_listing, text_themes, theme_panels
from cxpulse.store.comment_listing import CommentFilters
from cxpulse.store.cursors import decode_cursor, encode_cursor
from cxpulse.store.errors import Invalid
from cxpulse.text.comments import LANGUAGES, Sentiment

__all__ = [
    "PREFIX",
    "BandChoice",
    "Chip",
    "CommentCard",
    "CommentQuery",
    "CommentsPanel",
    "latest_comments",
    "parse_comment_query",
]

PREFIX = "comments."
"""The panel's parameters are named ``comments.<name>`` beside the view's own."""
PAGE_SIZE = 10
"""Cards per page: a screen or two on a phone."""
BandChoice = Literal["bottom", "middle", "top"]
BANDS: tuple[BandChoice, ...] = get_args(BandChoice)
SENTIMENTS: tuple[str, ...] = tuple(s.value for s in Sentiment)
MAX_THEME_CHIPS = 6
"""Theme chips offered: the most mentioned themes of the period (and the one chosen)."""
LANGUAGE_NAMES = {
    "en": "English",
    "sv": "Swedish",
    "nl": "Dutch",
    "mk": "Macedonian",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "pt": "Portuguese",
}


@dataclass(frozen=True)
class CommentQuery:
    """What the panel shows: its filters and page, as the URL gives them."""

    band: BandChoice | None = None
    theme: str | None = None
    language: str | None = None
    sentiment: str | None = None
    before: str | None = None
    """The page token of the page after the previous one (older comments)."""

    def pairs(self) -> list[tuple[str, str]]:
        """The panel's query parameters, leaving out what is not set."""
        found = [
            ("band", self.band),
            ("theme", self.theme),
            ("language", self.language),
            ("sentiment", self.sentiment),
            ("before", self.before),
        ]
        return [(PREFIX + name, value) for name, value in found if value is not None]

    def choosing(self, **changes: str | None) -> CommentQuery:
        """This query with ``changes``, from its first page (a new filter starts over)."""
        return dataclasses.replace(self, before=None, **changes)  # type: ignore[arg-type]

    @property
    def filtered(self) -> bool:
        return any(v is not None for v in (self.band, self.theme, self.language, self.sentiment))


def parse_comment_query(params: Iterable[tuple[str, str]]) -> tuple[CommentQuery, dict[str, str]]:
    """The panel's query from the page's parameters (others are ignored; the last of a
    repeated name wins), and a message per parameter it could not read (left unset)."""
    given = {
        key.removeprefix(PREFIX): raw.strip()
        for key, raw in params
        if key.startswith(PREFIX) and raw.strip()
    }
    errors: dict[str, str] = {}

    def choice(name: str, allowed: Sequence[str]) -> str | None:
        value = given.get(name, "").lower()
        if not value:
            return None
        if value not in allowed:
            errors[PREFIX + name] = f"must be one of {', '.join(allowed)}"
            return None
        return value

    band = choice("band", BANDS)
    theme = given.get("theme", "").lower() or None
    if theme is not None:
        try:
            theme = values.slug("theme", theme)
        except Invalid:
            errors[PREFIX + "theme"] = "is not a theme's key"
            theme = None
    before = given.get("before") or None
    if before is not None:
        try:
            decode_cursor(before)
        except Invalid:
            errors[PREFIX + "before"] = "is not a page token this server gave out"
            before = None
    query = CommentQuery(
        band=band,  # type: ignore[arg-type]
        theme=theme,
        language=choice("language", LANGUAGES),
        sentiment=choice("sentiment", SENTIMENTS),
        before=before,
    )
    return query, errors


@dataclass(frozen=True)
class CardTheme:
    key: str
    name: str
    sentiment: str
    """The sentiment of the clause that names the theme."""


@dataclass(frozen=True)
class CommentCard:
    response_id: int
    submitted_at: datetime
    score: float
    band: BandChoice
    band_name: str
    """"Detractors 0–6", "Satisfied 4–5" ..."""
    language: str | None
    sentiment: str
    sentiment_source: str | None
    text: str
    """Redacted: personal data replaced (``[email]``, ``[phone]`` ...)."""
    themes: tuple[CardTheme, ...]

    @property
    def language_name(self) -> str:
        if self.language is None:
            return "no language found"
        return LANGUAGE_NAMES.get(self.language, self.language)


@dataclass(frozen=True)
class Chip:
    """One choice of a filter: its words and the query it leads to."""

    label: str
    query: CommentQuery
    active: bool


@dataclass(frozen=True)
class CommentsPanel:
    cards: list[CommentCard]
    query: CommentQuery
    next_query: CommentQuery | None
    """The query of the next (older) page; None on the last page."""
    bands: list[Chip]
    themes: list[Chip]
    languages: list[Chip]
    sentiments: list[Chip]
    clear: CommentQuery | None
    """The query without any filter, when one is set."""
    theme_name: str | None
    """The name of the theme chosen, when it is one of the organisation's."""
    view_pairs: tuple[tuple[str, str], ...] = ()
    """The view's own query parameters, which every link of the panel keeps."""

    def href(self, query: CommentQuery) -> str:
        """The query string (with its ``?``) and anchor of the dashboard showing ``query``."""
        return "?" + urlencode([*self.view_pairs, *query.pairs()]) + "#comments"


def band_of(score: float, bands: ScaleBands) -> BandChoice:
    if score <= bands.bottom_max:
        return "bottom"
    if score >= bands.top_min:
        return "top"
    return "middle"


def band_range(band: BandChoice, bands: ScaleBands) -> tuple[float | None, float | None]:
    """The scores of a band as (lowest, highest), None where it is open."""
    if band == "bottom":
        return None, bands.bottom_max
    if band == "top":
        return bands.top_min, None
    # Scores strictly between the two thresholds; scores are whole numbers on every scale
    # cxpulse offers, but a stored half point must not fall between the bands.
    return bands.bottom_max + 1e-9, bands.top_min - 1e-9


def _chips(
    query: CommentQuery, name: str, options: Sequence[tuple[str, str]], chosen: str | None
) -> list[Chip]:
    """An "All" chip and one per option (value, label); choosing the active one again keeps
    it (the "All" chip removes it)."""
    chips = [Chip("All", query.choosing(**{name: None}), chosen is None)]
    chips += [
        Chip(label, query.choosing(**{name: value}), value == chosen) for value, label in options
    ]
    return chips


def latest_comments(
    session: Session,
    organisation_id: int,
    survey_id: int,
    spec: MetricSpec,
    filters: ViewFilters,
    window: Window,
    query: CommentQuery,
    *,
    themes: Sequence[tuple[str, str]] | None = None,
    limit: int = PAGE_SIZE,
) -> CommentsPanel:
    """The panel for the view ``filters`` over ``window`` and the panel's ``query``.

    ``themes``: (key, name) of the themes to offer as chips, most mentioned first (the
    themes panel knows them); by default the organisation's active themes by name. Raises
    Invalid for a page token this server did not give out."""
    bands = scale_bands(spec)
    catalogue = {
        theme.key: theme
        for theme in text_themes.list_themes(session, organisation_id, include_inactive=True)
    }
    theme_id: int | None = None
    theme_name: str | None = None
    if query.theme is not None:
        found = catalogue.get(query.theme)
        # A key the organisation has no theme for matches no comment, like any filter.
        theme_id = found.id if found is not None else -1
        theme_name = found.name if found is not None else None
    low, high = band_range(query.band, bands) if query.band else (None, None)
    where = dataclasses.replace(filters.responses(survey_id, window), min_score=low, max_score=high)
    before = decode_cursor(query.before) if query.before else None
    page = comment_listing.list_comments(
        session,
        organisation_id,
        where,
        CommentFilters(theme_id=theme_id, language=query.language, sentiment=query.sentiment),
        before=before,
        limit=limit,
    )
    cards = [
        CommentCard(
            response_id=item.response_id,
            submitted_at=item.submitted_at,
            score=item.score,
            band=band_of(item.score, bands),
            band_name=bands.names[BANDS.index(band_of(item.score, bands))],
            language=item.language,
            sentiment=item.sentiment,
            sentiment_source=item.sentiment_source,
            text=item.text,
            themes=tuple(CardTheme(m.key, m.name, m.sentiment) for m in item.themes),
        )
        for item in page.items
    ]
    next_query = None
    if page.next_before is not None:
        next_query = dataclasses.replace(query, before=encode_cursor(page.next_before))

    offered = (
        list(themes)
        if themes is not None
        else sorted(
            ((t.key, t.name) for t in catalogue.values() if t.is_active), key=lambda kn: kn[1]
        )
    )
    offered = offered[:MAX_THEME_CHIPS]
    if query.theme is not None and query.theme not in {key for key, _ in offered}:
        offered.append((query.theme, theme_name or query.theme))
    present = theme_panels.languages_present(
        session, organisation_id, filters.responses(survey_id, window), LANGUAGES
    )
    if query.language is not None and query.language not in present:
        present.append(query.language)
    return CommentsPanel(
        cards=cards,
        query=query,
        next_query=next_query,
        bands=_chips(query, "band", list(zip(BANDS, bands.names, strict=True)), query.band),
        themes=_chips(query, "theme", offered, query.theme),
        languages=_chips(
            query, "language", [(code, code.upper()) for code in present], query.language
        ),
        sentiments=_chips(
            query, "sentiment", [(s, s.capitalize()) for s in SENTIMENTS], query.sentiment
        ),
        clear=CommentQuery() if query.filtered else None,
        theme_name=theme_name,
        view_pairs=tuple(filters.query_pairs()),
    )
