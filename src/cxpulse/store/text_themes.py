"""An organisation's taxonomy of comment themes: its rows, edits and version.

Each organisation owns its themes (``models.TextTheme``): a key, a name and phrases per
language. The starter taxonomy is cxpulse's (``cxpulse.text.taxonomy``, a stage above this
one), so ``ensure_taxonomy`` takes the rows to seed from its caller
(``act.comment_pipeline.ensure_starter_taxonomy``); it seeds once, the first time an
organisation's taxonomy is used, so a theme the organisation deleted stays deleted.

``organisations.taxonomy_version`` grows with every edit that changes what the comments
mention (phrases, merges, deletions, new or (de)activated themes; a rename does not): the
worker then redoes the analyses of the older version in the background, while the stored
assignments keep serving the pages. A merge moves the source's assignments to the target at
once, so the pages need not wait for that.

One module (about 460 lines) because every edit shares the version bump and the checks of
keys, phrases and implied themes, and merges and deletions move assignments, implied keys
and daily counts together.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, delete, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from cxpulse.store import _values as values
from cxpulse.store import comment_rollups, scoped
from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.store.models import THEME_ORIGINS, Organisation, ResponseTheme, TextTheme
from cxpulse.store.types import utc_now

MAX_PHRASE_LENGTH = 200
MAX_PHRASES_PER_LANGUAGE = 500
_LANGUAGE = re.compile(r"[a-z]{2,3}")
"""An ISO 639 language code: the analysis knows its languages by these."""


@dataclass(frozen=True)
class ThemeSeed:
    """A theme to seed an organisation's taxonomy with (from ``text.taxonomy``)."""

    key: str
    name: str
    phrases: Mapping[str, Sequence[str]]
    implies: Sequence[str] = ()


@dataclass(frozen=True)
class ThemeRow:
    """An active theme as the analysis needs it: detached from the session."""

    id: int
    key: str
    name: str
    origin: str
    phrases: Mapping[str, tuple[str, ...]]
    implies: tuple[str, ...]
    """Keys of the themes a mention of this one also counts as; only active ones."""


# -- the version -------------------------------------------------------------------------------


def taxonomy_version(session: Session, organisation_id: int) -> int:
    found = session.scalar(
        select(Organisation.taxonomy_version).where(Organisation.id == organisation_id)
    )
    if found is None:
        raise NotFound("organisation", organisation_id)
    return int(found)


def taxonomy_versions(session: Session) -> dict[int, int]:
    """Every organisation's taxonomy version, by organisation id (one small read, which the
    worker makes each round)."""
    rows = session.execute(select(Organisation.id, Organisation.taxonomy_version))
    return {int(org): int(version) for org, version in rows}


def bump_version(session: Session, organisation_id: int) -> int:
    """Mark every stored analysis of the organisation as out of date (the worker redoes them
    in the background); the new version. Also for changes outside the taxonomy that alter the
    analysis, such as turning redaction at storage on."""
    found = session.scalar(
        update(Organisation)
        .where(Organisation.id == organisation_id)
        .values(taxonomy_version=Organisation.taxonomy_version + 1)
        .returning(Organisation.taxonomy_version)
    )
    if found is None:
        raise NotFound("organisation", organisation_id)
    return int(found)


# -- seeding -----------------------------------------------------------------------------------


def ensure_taxonomy(session: Session, organisation_id: int, seed: Sequence[ThemeSeed]) -> bool:
    """Seed the organisation's taxonomy with ``seed`` (origin ``starter``) unless it was
    seeded or edited before; True when this call seeded it.

    Taking version 0 to 1 and seeding happen in one transaction, and only the transaction
    whose update matched seeds, so two workers starting at once seed once.
    """
    taken = session.execute(
        update(Organisation)
        .where(Organisation.id == organisation_id, Organisation.taxonomy_version == 0)
        .values(taxonomy_version=1)
        .returning(Organisation.id)
    ).first()
    if taken is None:
        if session.get(Organisation, organisation_id) is None:
            raise NotFound("organisation", organisation_id)
        return False
    now = utc_now()
    existing = set(
        session.scalars(select(TextTheme.key).where(TextTheme.organisation_id == organisation_id))
    )
    known = existing | {theme.key for theme in seed}
    rows: list[dict[str, Any]] = []
    for position, theme in enumerate(seed):
        if theme.key in existing:
            continue
        existing.add(theme.key)
        rows.append(
            {
                "organisation_id": organisation_id,
                "key": values.slug(f"seed[{position}].key", theme.key),
                "name": values.required_text(f"seed[{position}].name", theme.name, 200),
                "origin": "starter",
                "phrases": _phrases(theme.phrases),
                "implies": _implies(theme.key, theme.implies, known),
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
        )
    if rows:
        session.execute(insert(TextTheme), rows)
    return True


# -- reading -----------------------------------------------------------------------------------


def list_themes(
    session: Session, organisation_id: int, *, include_inactive: bool = False
) -> list[TextTheme]:
    """The organisation's themes by name (active ones only unless ``include_inactive``)."""
    query = select(TextTheme).where(TextTheme.organisation_id == organisation_id)
    if not include_inactive:
        query = query.where(TextTheme.is_active.is_(True))
    return list(session.scalars(query.order_by(TextTheme.name, TextTheme.id)))


def get_theme(session: Session, organisation_id: int, theme_id: int) -> TextTheme:
    where = TextTheme.id == theme_id
    return scoped.get_one(session, TextTheme, organisation_id, where, entity="theme", key=theme_id)


def get_theme_by_key(session: Session, organisation_id: int, key: str) -> TextTheme:
    where = TextTheme.key == key
    return scoped.get_one(session, TextTheme, organisation_id, where, entity="theme", key=key)


def active_taxonomy(session: Session, organisation_id: int) -> list[ThemeRow]:
    """The active themes with their phrases, by key: what the analysis matches against."""
    rows = session.execute(
        select(
            TextTheme.id,
            TextTheme.key,
            TextTheme.name,
            TextTheme.origin,
            TextTheme.phrases,
            TextTheme.implies,
        )
        .where(TextTheme.organisation_id == organisation_id, TextTheme.is_active.is_(True))
        .order_by(TextTheme.key)
    ).all()
    active = {row.key for row in rows}
    return [
        ThemeRow(
            id=int(row.id),
            key=row.key,
            name=row.name,
            origin=row.origin,
            phrases={lang: tuple(found) for lang, found in (row.phrases or {}).items()},
            implies=tuple(key for key in (row.implies or ()) if key in active and key != row.key),
        )
        for row in rows
    ]


# -- editing -----------------------------------------------------------------------------------


def create_theme(
    session: Session,
    organisation_id: int,
    *,
    key: str,
    name: str,
    phrases: Mapping[str, Sequence[str]],
    origin: str = "custom",
    implies: Sequence[str] = (),
) -> TextTheme:
    """Add a theme (``custom``, or ``discovered`` when promoted from discovery); Conflict
    when the organisation has a theme of that key, active or not."""
    if origin not in THEME_ORIGINS:
        raise Invalid("origin", f"must be one of {', '.join(THEME_ORIGINS)}")
    values.slug("key", key)
    taken = session.scalar(
        select(TextTheme.id).where(
            TextTheme.organisation_id == organisation_id, TextTheme.key == key
        )
    )
    if taken is not None:
        raise Conflict("key", f"a theme {key!r} exists already")
    theme = TextTheme(
        organisation_id=organisation_id,
        key=key,
        name=values.required_text("name", name, 200),
        origin=origin,
        phrases=_phrases(phrases),
        implies=_implies(key, implies, _keys(session, organisation_id)),
        is_active=True,
    )
    bump_version(session, organisation_id)
    session.add(theme)
    session.flush()
    return theme


def rename_theme(session: Session, organisation_id: int, theme_id: int, name: str) -> TextTheme:
    """A new name; the key and the assignments stay, so nothing is analysed again."""
    theme = get_theme(session, organisation_id, theme_id)
    theme.name = values.required_text("name", name, 200)
    session.flush()
    return theme


def set_phrases(
    session: Session,
    organisation_id: int,
    theme_id: int,
    phrases: Mapping[str, Sequence[str]],
) -> TextTheme:
    """Replace the theme's phrases (every language); the comments are matched again in the
    background."""
    theme = get_theme(session, organisation_id, theme_id)
    theme.phrases = _phrases(phrases)
    bump_version(session, organisation_id)
    session.flush()
    return theme


def set_implies(
    session: Session, organisation_id: int, theme_id: int, implies: Sequence[str]
) -> TextTheme:
    """Replace the keys of the themes every mention of this one also counts as."""
    theme = get_theme(session, organisation_id, theme_id)
    theme.implies = _implies(theme.key, implies, _keys(session, organisation_id))
    bump_version(session, organisation_id)
    session.flush()
    return theme


def set_active(session: Session, organisation_id: int, theme_id: int, active: bool) -> TextTheme:
    """Stop (or resume) finding a theme; its assignments go (or come back) in the
    background. Reactivating a merged theme undoes the merge's pointer, not its moves."""
    theme = get_theme(session, organisation_id, theme_id)
    if theme.is_active != active:
        theme.is_active = active
        if active:
            theme.merged_into_id = None
        bump_version(session, organisation_id)
        session.flush()
    return theme


def merge_themes(
    session: Session, organisation_id: int, source_id: int, target_id: int
) -> TextTheme:
    """Fold ``source`` into ``target``: its assignments move to the target at once (a
    response mentioning both keeps the target's mention), its phrases join the target's, and
    it stays as an inactive theme pointing at the target. The target."""
    if source_id == target_id:
        raise Invalid("target", "a theme cannot be merged into itself")
    source = get_theme(session, organisation_id, source_id)
    target = get_theme(session, organisation_id, target_id)
    if not target.is_active:
        raise Invalid("target", "merge into an active theme")
    merged: dict[str, list[str]] = {lang: list(found) for lang, found in target.phrases.items()}
    for language, found in source.phrases.items():
        merged.setdefault(language, []).extend(found)
    target.phrases = _phrases(merged)
    target.implies = [
        k for k in dict.fromkeys([*target.implies, *source.implies]) if k != target.key
    ]
    _replace_implied(session, organisation_id, source.key, target.key)
    source.is_active = False
    source.merged_into_id = target.id
    # Themes merged into the source earlier now point at where it went.
    session.execute(
        update(TextTheme)
        .where(TextTheme.organisation_id == organisation_id, TextTheme.merged_into_id == source.id)
        .values(merged_into_id=target.id)
    )
    _move_assignments(session, organisation_id, source.id, target.id)
    bump_version(session, organisation_id)
    session.flush()
    return target


def _move_assignments(
    session: Session, organisation_id: int, source_id: int, target_id: int
) -> None:
    """Move the source's mentions to the target (a response mentioning both keeps the
    target's), and their daily counts with them."""
    target = aliased(ResponseTheme)
    moving = session.execute(
        select(
            ResponseTheme.survey_id,
            ResponseTheme.submitted_at,
            ResponseTheme.score,
            ResponseTheme.sentiment,
            target.response_id.is_not(None),
        )
        .outerjoin(
            target,
            and_(
                target.response_id == ResponseTheme.response_id,
                target.theme_id == target_id,
            ),
        )
        .where(
            ResponseTheme.organisation_id == organisation_id,
            ResponseTheme.theme_id == source_id,
        )
    ).all()
    deltas: Counter[comment_rollups.ThemeKey] = Counter()
    for survey_id, submitted_at, score, sentiment, has_target in moving:
        where = (survey_id, submitted_at, score, sentiment)
        deltas[comment_rollups.theme_key(organisation_id, survey_id, source_id, *where[1:])] -= 1
        if not has_target:
            deltas[
                comment_rollups.theme_key(organisation_id, survey_id, target_id, *where[1:])
            ] += 1
    columns = ("response_id", "organisation_id", "survey_id", "submitted_at", "score", "sentiment")
    moved = select(
        ResponseTheme.response_id,
        ResponseTheme.organisation_id,
        ResponseTheme.survey_id,
        ResponseTheme.submitted_at,
        ResponseTheme.score,
        ResponseTheme.sentiment,
        literal(target_id, Integer),
    ).where(ResponseTheme.organisation_id == organisation_id, ResponseTheme.theme_id == source_id)
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert_fn(ResponseTheme).from_select([*columns, "theme_id"], moved).on_conflict_do_nothing()
    )
    session.execute(
        delete(ResponseTheme).where(
            ResponseTheme.organisation_id == organisation_id, ResponseTheme.theme_id == source_id
        )
    )
    comment_rollups.apply(session, themes=deltas)


def delete_theme(session: Session, organisation_id: int, theme_id: int) -> None:
    """Delete a theme, its assignments and their daily counts (the database cascades
    them); themes merged into it keep their own rows without a pointer."""
    theme = get_theme(session, organisation_id, theme_id)
    _replace_implied(session, organisation_id, theme.key, None)
    session.execute(
        delete(TextTheme).where(
            TextTheme.organisation_id == organisation_id, TextTheme.id == theme.id
        )
    )
    session.expunge(theme)
    bump_version(session, organisation_id)


def _replace_implied(
    session: Session, organisation_id: int, key: str, replacement: str | None
) -> None:
    """Themes that imply ``key`` imply ``replacement`` instead (or nothing)."""
    for other in session.scalars(
        select(TextTheme).where(TextTheme.organisation_id == organisation_id)
    ):
        if key not in other.implies:
            continue
        swapped = [replacement if k == key else k for k in other.implies]
        other.implies = [k for k in dict.fromkeys(swapped) if k is not None and k != other.key]


# -- checks ------------------------------------------------------------------------------------


def _keys(session: Session, organisation_id: int) -> set[str]:
    return set(
        session.scalars(select(TextTheme.key).where(TextTheme.organisation_id == organisation_id))
    )


def _implies(key: str, implies: Sequence[str], known: set[str]) -> list[str]:
    if isinstance(implies, str):
        raise Invalid("implies", "must be a list of theme keys")
    kept: list[str] = []
    for implied in implies:
        if implied == key:
            raise Invalid("implies", "a theme cannot imply itself")
        if implied not in known:
            raise Invalid("implies", f"there is no theme {implied!r}")
        if implied not in kept:
            kept.append(implied)
    return kept


def _phrases(phrases: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Phrases per language code, trimmed, each once (in any case), in the order given;
    languages left without a phrase are dropped."""
    if not isinstance(phrases, Mapping):
        raise Invalid("phrases", "must be an object of language codes to lists of phrases")
    cleaned: dict[str, list[str]] = {}
    for language, found in phrases.items():
        if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
            raise Invalid("phrases", f"{language!r} is not a language code such as 'en' or 'sv'")
        if isinstance(found, str) or not isinstance(found, Sequence):
            raise Invalid(f"phrases.{language}", "must be a list of phrases")
        if len(found) > MAX_PHRASES_PER_LANGUAGE:
            raise Invalid(
                f"phrases.{language}", f"at most {MAX_PHRASES_PER_LANGUAGE} phrases per language"
            )
        seen: set[str] = set()
        kept: list[str] = []
        for phrase in found:
            text = values.text(f"phrases.{language}", phrase, MAX_PHRASE_LENGTH)
            if text is None:
                continue
            text = " ".join(text.split())
            folded = text.casefold()
            if folded not in seen:
                seen.add(folded)
                kept.append(text)
        if kept:
            cleaned[language] = kept
    return cleaned
