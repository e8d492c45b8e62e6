"""Language negotiation and the pages catalogs of every language."""

from __future__ import annotations

import re

import pytest

from cxpulse import i18n

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def test_precedence_invitation_contact_query_header_default() -> None:
    everything = {
        "invitation": "de",
        "contact": "sv-SE",
        "query": "nl",
        "accept_language": "fr",
        "survey_default": "es",
    }
    assert i18n.negotiate(**everything) == "de"
    assert i18n.negotiate(**{**everything, "invitation": None}) == "sv"
    assert i18n.negotiate(**{**everything, "invitation": None, "contact": "ja"}) == "nl"
    assert i18n.negotiate(accept_language="ja, fr;q=0.5, mk;q=0.9", survey_default="es") == "mk"
    assert i18n.negotiate(accept_language="ja", survey_default="pt") == "pt"
    assert i18n.negotiate() == "en"


def test_accept_language_quality_and_junk() -> None:
    assert i18n.parse_accept_language("en;q=0.1, sv, de;q=x, *") == ["sv", "en"]
    assert i18n.parse_accept_language(None) == []


@pytest.mark.parametrize("language", i18n.LANGUAGES[1:])
def test_pages_catalog_is_complete_and_keeps_placeholders(language: str) -> None:
    from babel.messages.pofile import read_po

    path = i18n.LOCALE_DIR / language / "LC_MESSAGES" / "pages.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    messages = [m for m in catalog if m.id]
    assert len(messages) > 50
    for message in messages:
        ids = [str(i) for i in (message.id if isinstance(message.id, tuple) else (message.id,))]
        raw = message.string if isinstance(message.string, tuple) else (message.string,)
        strings = [str(s or "") for s in raw]
        assert all(strings), f"{language}: {ids[0]!r} is not translated"
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == wanted, (language, ids[0], text)
        assert strings[0] != ids[0] or ids[0] in {"Language"}, (language, ids[0])
    assert language in i18n.available("pages")


def test_plural_forms() -> None:
    _, ngettext = i18n.gettext_for("pages", "fr")
    assert ngettext("%(n)d star", "%(n)d stars", 1) % {"n": 1} == "1 étoile"
    _, ngettext = i18n.gettext_for("pages", "mk")
    assert ngettext("%(n)d star", "%(n)d stars", 21) % {"n": 21} == "21 ѕвезда"
    assert ngettext("%(n)d star", "%(n)d stars", 11) % {"n": 11} == "11 ѕвезди"


@pytest.mark.parametrize("language", i18n.LANGUAGES[1:])
def test_the_respondents_new_texts_are_translated(language: str) -> None:
    """Thank-you texts by band and the consent question: the catalogs hold them (a missing
    one would show English on a page in another language)."""
    from cxpulse.collect import questions

    gettext, _ = i18n.gettext_for("pages", language)
    for msgid in (
        *questions.DEFAULT_THANKS.values(),
        questions.CONSENT_QUESTION,
        questions.CONSENT_GIVEN,
        questions.COMMENT_PROMPT,
        "(optional)",
    ):
        assert gettext(msgid) != msgid, (language, msgid)
