"""Translations of respondent-facing text: gettext catalogs, one per domain and language.

Catalogs are the ``.po`` files under ``cxpulse/locale/<language>/LC_MESSAGES/<domain>.po``,
read with Babel and compiled in memory on first use (so the package ships only ``.po``
files, which reviewers and translators can read). Domains keep independent parts apart:
``pages`` (survey pages and widget), ``emails`` (invitations and reminders), ``reports``.

``negotiate`` picks the language to show: the first of the candidates (invitation, contact,
``?lang=``, each entry of Accept-Language by quality, survey default) that cxpulse speaks.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Iterable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "sv", "nl", "mk", "de", "fr", "es", "pt")
"""Languages of the respondent pages, emails and default question texts."""
LANGUAGE_NAMES = {
    "en": "English",
    "sv": "Svenska",
    "nl": "Nederlands",
    "mk": "Македонски",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "pt": "Português",
}
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"


def normalise(tag: str | None) -> str | None:
    """``sv-SE`` -> ``sv``; None for a tag cxpulse does not speak."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else None


def parse_accept_language(header: str | None) -> list[str]:
    """The language tags of an Accept-Language header, best first (ties keep their order)."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(
    *,
    invitation: str | None = None,
    contact: str | None = None,
    query: str | None = None,
    accept_language: str | None = None,
    survey_default: str | None = None,
) -> str:
    """The language to show, in the order of precedence of the design."""
    candidates: list[str | None] = [invitation, contact, query]
    candidates.extend(parse_accept_language(accept_language))
    candidates.append(survey_default)
    for candidate in candidates:
        language = normalise(candidate)
        if language is not None:
            return language
    return DEFAULT_LANGUAGE


@functools.cache
def translations(domain: str, language: str) -> gettext.NullTranslations:
    """The compiled catalog of ``domain`` in ``language`` (English falls back to the ids)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    if not path.is_file():
        return gettext.NullTranslations()
    import io

    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_for(
    domain: str, language: str
) -> tuple[functools.partial[str], functools.partial[str]]:
    """``(gettext, ngettext)`` bound to the catalog, for templates and code."""
    catalog = translations(domain, language)
    return functools.partial(catalog.gettext), functools.partial(catalog.ngettext)


def available(domain: str) -> Iterable[str]:
    """The languages with a catalog for ``domain`` (English needs none)."""
    yield DEFAULT_LANGUAGE
    for language in LANGUAGES[1:]:
        if (LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po").is_file():
            yield language
