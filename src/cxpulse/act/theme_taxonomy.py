"""An organisation's taxonomy as people edit it: the themes with their recent mentions, and
creating, changing, merging, deleting and promoting themes, with the checks they share.

The API (``web/routes/themes_api.py``) and the taxonomy pages (``web/routes/theme_pages.py``)
both call these functions, so a theme refused by one is refused by the other in the same
words. Rows are read and written by ``store.text_themes``; every change that alters what
comments mention raises the organisation's taxonomy version there, and the worker then
redoes the assignments in the background (a merge moves them at once).

Rules kept here:

- phrases are given per language, only in the eight languages the analysis knows
  (``text.comments.LANGUAGES``); a theme keeps at least one phrase, or it could match nothing;
- a change replaces the phrases of the languages it names and keeps the others, so a
  Swedish editor never wipes the Portuguese phrases;
- a new theme's key is made from its name (ASCII letters and digits with hyphens) unless one
  is given; a key taken already is a conflict, so a form sent twice makes one theme;
- the starter taxonomy is seeded before the first edit: the store seeds only an organisation
  whose taxonomy was never touched, and an edit touches it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.act import comment_analysis
from cxpulse.store import text_themes, theme_reads
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import TextTheme
from cxpulse.store.types import utc_now
from cxpulse.text.comments import LANGUAGES

MENTION_DAYS = 30
"""The taxonomy lists each theme's mentions over this many days."""
MAX_KEY_LENGTH = 64
_NOT_KEY = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ThemeSummary:
    theme: TextTheme
    mentions: int
    """Answers mentioning it in the last ``MENTION_DAYS`` days, over every survey."""
    merged_into_name: str | None = None


def taxonomy(
    session: Session,
    organisation_id: int,
    *,
    include_inactive: bool = False,
    now: datetime | None = None,
) -> list[ThemeSummary]:
    """The organisation's themes by name with their mentions of the last ``MENTION_DAYS``
    days; merged (inactive) ones too with ``include_inactive``."""
    since = (now or utc_now()) - timedelta(days=MENTION_DAYS)
    counts = theme_reads.mentions_since(session, organisation_id, since)
    themes = text_themes.list_themes(session, organisation_id, include_inactive=True)
    names = {theme.id: theme.name for theme in themes}
    return [
        ThemeSummary(
            theme,
            counts.get(theme.id, 0),
            names.get(theme.merged_into_id) if theme.merged_into_id is not None else None,
        )
        for theme in themes
        if include_inactive or theme.is_active
    ]


def summary(session: Session, organisation_id: int, theme_id: int) -> ThemeSummary:
    """One theme as ``taxonomy`` lists it; NotFound when the organisation has none."""
    theme = text_themes.get_theme(session, organisation_id, theme_id)
    since = utc_now() - timedelta(days=MENTION_DAYS)
    counts = theme_reads.mentions_since(session, organisation_id, since)
    merged_into = None
    if theme.merged_into_id is not None:
        try:
            merged_into = text_themes.get_theme(session, organisation_id, theme.merged_into_id)
        except NotFound:
            merged_into = None
    return ThemeSummary(
        theme, counts.get(theme.id, 0), merged_into.name if merged_into is not None else None
    )


def theme_key(name: str) -> str:
    """A key made from a name: "Late delivery!" -> "late-delivery"; letters outside ASCII
    lose their accents or, without an ASCII form (Cyrillic), leave ``theme``."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    key = _NOT_KEY.sub("-", folded.lower()).strip("-")[:MAX_KEY_LENGTH].strip("-")
    return key or "theme"


def check_phrases(
    phrases: Mapping[str, Sequence[str]], field: str = "phrases"
) -> dict[str, list[str]]:
    """Phrases per language, each language one of the eight; trimmed, blanks dropped."""
    cleaned: dict[str, list[str]] = {}
    for language, found in phrases.items():
        if language not in LANGUAGES:
            raise Invalid(
                f"{field}.{language}",
                f"{language!r} is not one of the languages analysed: {', '.join(LANGUAGES)}",
            )
        if isinstance(found, str):
            raise Invalid(f"{field}.{language}", "must be a list of phrases")
        cleaned[language] = [phrase.strip() for phrase in found if phrase.strip()]
    return cleaned


def _require_a_phrase(phrases: Mapping[str, Sequence[str]], field: str = "phrases") -> None:
    if not any(phrases.values()):
        raise Invalid(field, "give at least one phrase, in any of the languages")


def create_theme(
    session: Session,
    organisation_id: int,
    *,
    name: str,
    phrases: Mapping[str, Sequence[str]],
    key: str | None = None,
    origin: str = "custom",
) -> TextTheme:
    """A new active theme; Conflict when its key is taken, Invalid naming the field at fault."""
    cleaned = check_phrases(phrases)
    _require_a_phrase(cleaned)
    if not name.strip():
        raise Invalid("name", "is required")
    # The store seeds only a taxonomy nobody touched, and this edit touches it.
    comment_analysis.ensure_starter_taxonomy(session, organisation_id)
    return text_themes.create_theme(
        session,
        organisation_id,
        key=key if key is not None else theme_key(name),
        name=name,
        phrases=cleaned,
        origin=origin,
    )


def promote(
    session: Session,
    organisation_id: int,
    *,
    language: str,
    label: str,
    phrases: Sequence[str],
    name: str | None = None,
    key: str | None = None,
) -> TextTheme:
    """A discovered theme made a theme of the taxonomy (origin ``discovered``): its phrases
    in its language, its label as the name unless one is given."""
    if language not in LANGUAGES:
        raise Invalid("language", f"must be one of {', '.join(LANGUAGES)}")
    kept = [phrase.strip() for phrase in phrases if phrase.strip()]
    if not kept:
        raise Invalid("phrases", "choose at least one phrase")
    title = (name or "").strip() or label.strip()
    return create_theme(
        session,
        organisation_id,
        name=title[:1].upper() + title[1:],
        phrases={language: kept},
        key=key if key is not None else theme_key(label),
        origin="discovered",
    )


def update_theme(
    session: Session,
    organisation_id: int,
    theme_id: int,
    *,
    name: str | None = None,
    phrases: Mapping[str, Sequence[str]] | None = None,
    active: bool | None = None,
) -> TextTheme:
    """Rename, replace the phrases of the languages given (an empty list clears one), and
    (de)activate; what is not given stays. Invalid when no phrase would be left."""
    theme = text_themes.get_theme(session, organisation_id, theme_id)
    if phrases is not None:
        merged: dict[str, list[str]] = {lang: list(found) for lang, found in theme.phrases.items()}
        merged.update(check_phrases(phrases))
        _require_a_phrase(merged)
        if merged != {lang: list(found) for lang, found in theme.phrases.items()}:
            theme = text_themes.set_phrases(session, organisation_id, theme_id, merged)
    if name is not None and name.strip() != theme.name:
        theme = text_themes.rename_theme(session, organisation_id, theme_id, name)
    if active is not None:
        theme = text_themes.set_active(session, organisation_id, theme_id, active)
    return theme


def merge_theme(session: Session, organisation_id: int, theme_id: int, into: int) -> TextTheme:
    """Fold theme ``theme_id`` into theme ``into`` (see ``store.text_themes.merge_themes``);
    NotFound for the first, Invalid on ``into`` for the second; the target."""
    text_themes.get_theme(session, organisation_id, theme_id)
    try:
        text_themes.get_theme(session, organisation_id, into)
    except NotFound:
        raise Invalid("into", "no such theme") from None
    try:
        return text_themes.merge_themes(session, organisation_id, theme_id, into)
    except Invalid as error:
        raise Invalid("into", error.message) from None


def delete_theme(session: Session, organisation_id: int, theme_id: int) -> None:
    """Delete a theme with its mentions; NotFound when the organisation has none."""
    text_themes.delete_theme(session, organisation_id, theme_id)
