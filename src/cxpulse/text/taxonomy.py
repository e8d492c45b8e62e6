"""The themes that comments are sorted into, each with its phrases per language.

A :class:`Taxonomy` is plain data: a theme has a key (``delivery``), an English name, and the
phrases customers use for it in each language, written as customers write them ("arrived
late", "kom för sent", "chegou atrasado"). Matching them on lemmas is the job of
:mod:`cxpulse.text.theme_matching`; this module only holds, checks and fingerprints them.

The starter taxonomy (``data/starter_taxonomy.json``) is cxpulse's own list of 13
customer-experience themes in the eight languages of :data:`~cxpulse.text.comments.LANGUAGES`.
Organisations edit their copy in the database (themes, phrases per language, merges, renames);
the store reads it back with :meth:`Taxonomy.from_rows`, and :attr:`Taxonomy.version` tells
the worker whether the theme assignments it stored were made with the taxonomy of today.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from cxpulse.text.comments import LANGUAGES

__all__ = ["MATCHING_RULES", "Taxonomy", "Theme", "starter_taxonomy"]

MATCHING_RULES = 1
"""The version of the matching rules of :mod:`~cxpulse.text.theme_matching` (lemmas, word gaps,
accent folding). It is part of :attr:`Taxonomy.version`: raise it when the rules change, so
that stored assignments count as stale and are recomputed."""

_STARTER_FILE = "starter_taxonomy.json"


def _clean_phrases(phrases: Mapping[str, Iterable[str]], key: str) -> Mapping[str, tuple[str, ...]]:
    """Phrases per language with whitespace collapsed, blanks and repeats dropped (first
    spelling kept, order kept), languages without phrases left out."""
    cleaned: dict[str, tuple[str, ...]] = {}
    for language, written in phrases.items():
        if language not in LANGUAGES:
            raise ValueError(f"theme {key!r}: unknown language {language!r}")
        if isinstance(written, str):
            # A bare string would be read letter by letter: refuse it rather than guess.
            raise TypeError(f"theme {key!r}: phrases for {language!r} must be a tuple of phrases")
        seen: dict[str, str] = {}
        for phrase in written:
            tidy = " ".join(phrase.split())
            if tidy and tidy.casefold() not in seen:
                seen[tidy.casefold()] = tidy
        if seen:
            cleaned[language] = tuple(seen.values())
    return MappingProxyType(cleaned)


@dataclass(frozen=True)
class Theme:
    """One theme: its key, its display name and its phrases in each language.

    ``implies`` names other themes that every mention of this one also counts as: the
    starter's ``delivery-delay`` implies ``delivery``, so "the parcel came two weeks late"
    is counted among the delivery comments as well as the delay comments.
    """

    key: str
    name: str
    phrases: Mapping[str, tuple[str, ...]]
    implies: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if not self.key or self.key != self.key.strip():
            raise ValueError(f"theme key {self.key!r} must be non-empty without outer spaces")
        if not self.name.strip():
            raise ValueError(f"theme {self.key!r} has no name")
        if self.key in self.implies:
            raise ValueError(f"theme {self.key!r} cannot imply itself")
        # Frozen: normalise through object.__setattr__ so equal themes compare equal however
        # their phrases were spelt (a list, extra spaces, a repeated phrase).
        object.__setattr__(self, "phrases", _clean_phrases(self.phrases, self.key))
        object.__setattr__(self, "implies", tuple(dict.fromkeys(self.implies)))

    def __hash__(self) -> int:
        # Written out because ``phrases`` is a mapping, which has no hash of its own.
        return hash((self.key, self.name, tuple(self.phrases.items()), self.implies))

    def phrases_in(self, language: str) -> tuple[str, ...]:
        """The theme's phrases in ``language`` (none for a language it has no words for)."""
        return self.phrases.get(language, ())

    def to_dict(self) -> dict[str, Any]:
        """The theme as JSON-ready data, in the shape of ``starter_taxonomy.json``."""
        return {
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "implies": list(self.implies),
            "phrases": {language: list(self.phrases[language]) for language in self.phrases},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Theme:
        return cls(
            key=str(data["key"]),
            name=str(data["name"]),
            phrases={str(lang): tuple(p) for lang, p in dict(data.get("phrases", {})).items()},
            implies=tuple(str(key) for key in data.get("implies", ())),
            description=str(data.get("description", "")),
        )


@dataclass(frozen=True)
class Taxonomy:
    """An ordered set of themes with distinct keys.

    The order is the order themes are shown and matched in; ``implies`` must name themes of
    the same taxonomy (a theme whose implied theme was deleted fails loudly here rather than
    counting mentions nobody can see).
    """

    themes: tuple[Theme, ...]
    _by_key: Mapping[str, Theme] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        themes = tuple(self.themes)
        object.__setattr__(self, "themes", themes)
        by_key: dict[str, Theme] = {}
        for theme in themes:
            if theme.key in by_key:
                raise ValueError(f"theme key {theme.key!r} appears twice")
            by_key[theme.key] = theme
        for theme in themes:
            for implied in theme.implies:
                if implied not in by_key:
                    raise ValueError(f"theme {theme.key!r} implies unknown theme {implied!r}")
        object.__setattr__(self, "_by_key", MappingProxyType(by_key))

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(theme.key for theme in self.themes)

    def theme(self, key: str) -> Theme:
        """The theme with ``key``; ``KeyError`` when there is none."""
        return self._by_key[key]

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __len__(self) -> int:
        return len(self.themes)

    def implied_keys(self, key: str) -> tuple[str, ...]:
        """Every theme a mention of ``key`` also counts as, following chains of ``implies``
        (``a`` implies ``b`` implies ``c`` gives ``(b, c)``), without ``key`` itself."""
        found: list[str] = []
        pending = list(self.theme(key).implies)
        while pending:
            implied = pending.pop(0)
            if implied != key and implied not in found:
                found.append(implied)
                pending.extend(self.theme(implied).implies)
        return tuple(found)

    @property
    def version(self) -> str:
        """A fingerprint of what decides the assignments: each theme's key, its phrases per
        language and what it implies, plus :data:`MATCHING_RULES`.

        Names and descriptions are left out (renaming a theme changes no assignment), and so
        is the order of themes and of phrases. Stable across processes and machines: a
        SHA-256 of canonical JSON, shortened to 16 hex digits.
        """
        canonical = {
            "rules": MATCHING_RULES,
            "themes": sorted(
                [
                    theme.key,
                    sorted(theme.implies),
                    {
                        language: sorted({phrase.casefold() for phrase in phrases})
                        for language, phrases in sorted(theme.phrases.items())
                    },
                ]
                for theme in self.themes
            ),
        }
        encoded = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """The taxonomy as JSON-ready data, in the shape of ``starter_taxonomy.json``."""
        return {"format": 1, "themes": [theme.to_dict() for theme in self.themes]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Taxonomy:
        return cls(tuple(Theme.from_dict(theme) for theme in data["themes"]))

    @classmethod
    def from_rows(
        cls,
        themes: Iterable[tuple[str, str]],
        phrases: Iterable[tuple[str, str, str]],
        implies: Mapping[str, Sequence[str]] | None = None,
    ) -> Taxonomy:
        """A taxonomy from the store's rows.

        ``themes`` are ``(key, name)`` in display order; ``phrases`` are ``(theme key,
        language, phrase)`` in any order; ``implies`` maps a key to the keys it implies. The
        store resolves merges before calling (a merged theme's phrases come under the key it
        was merged into); a phrase of a key missing from ``themes`` is an error.
        """
        ordered = list(themes)
        collected: dict[str, dict[str, list[str]]] = {key: {} for key, _ in ordered}
        for key, language, phrase in phrases:
            if key not in collected:
                raise ValueError(f"phrase {phrase!r} belongs to unknown theme {key!r}")
            collected[key].setdefault(language, []).append(phrase)
        links = implies or {}
        return cls(
            tuple(
                Theme(
                    key=key,
                    name=name,
                    phrases={language: tuple(p) for language, p in collected[key].items()},
                    implies=tuple(links.get(key, ())),
                )
                for key, name in ordered
            )
        )


@cache
def starter_taxonomy() -> Taxonomy:
    """cxpulse's starter taxonomy, read once from ``data/starter_taxonomy.json``."""
    text = (
        resources.files("cxpulse.text").joinpath("data").joinpath(_STARTER_FILE).read_text("utf-8")
    )
    return Taxonomy.from_dict(json.loads(text))
