"""The demo's comment bank: the same topics in every language, well-formed slots."""

from __future__ import annotations

import re
import string

import pytest

from cxpulse.demo.comment_texts import (
    AGENT_NAMES,
    COMMENTS,
    DAYS,
    LANGUAGES,
    NEW_PORTAL_TEMPLATE,
    TOPICS,
    agent_name,
)
from cxpulse.demo.score_drivers import TEAMS

CYRILLIC = re.compile(r"[\u0400-\u04FF]")
LATIN_WORD = re.compile(r"[A-Za-z]+")
# Brand and campaign names stay in Latin script in Macedonian text too.
LATIN_IN_MACEDONIAN = {"Black", "Friday", "Demo", "Shop"}


def slots(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_every_language_has_the_same_topics_and_moods() -> None:
    assert set(COMMENTS) == set(LANGUAGES) == {"en", "sv", "nl", "mk"}
    shape = {
        (topic, polarity): len(texts)
        for topic, moods in COMMENTS["en"].items()
        for polarity, texts in moods.items()
    }
    assert {topic for topic, _ in shape} == set(TOPICS)
    for language in LANGUAGES:
        assert {
            (topic, polarity): len(texts)
            for topic, moods in COMMENTS[language].items()
            for polarity, texts in moods.items()
        } == shape, language


@pytest.mark.parametrize("language", LANGUAGES)
def test_templates_are_many_distinct_and_well_formed(language: str) -> None:
    templates = [
        (topic, polarity, text)
        for topic, moods in COMMENTS[language].items()
        for polarity, texts in moods.items()
        for text in texts
    ]
    assert len({text for _, _, text in templates}) == len(templates) >= 45
    for topic, polarity, text in templates:
        used = slots(text)
        assert used <= {"days", "agent"}, text
        if "days" in used:
            assert (topic, polarity) in DAYS, text
        assert text == text.strip()
        assert text[-1] in ".!?", text
        formatted = text.format(days=3, agent=agent_name("Marko", language))
        if language == "mk":
            assert CYRILLIC.search(formatted), text
            assert set(LATIN_WORD.findall(formatted)) <= LATIN_IN_MACEDONIAN, text
        else:
            assert not CYRILLIC.search(formatted), text


def test_day_ranges_keep_plurals_right() -> None:
    assert all(2 <= low <= high for low, high in DAYS.values())


def test_the_portal_sentence_is_the_same_in_every_language() -> None:
    topic, polarity, index = NEW_PORTAL_TEMPLATE
    words = {"en": "portal", "sv": "returportalen", "nl": "retourportaal", "mk": "портал"}
    for language, word in words.items():
        assert word in COMMENTS[language][topic][polarity][index].lower()


def test_every_agent_has_a_cyrillic_name() -> None:
    agents = {agent for _, _, names in TEAMS.values() for agent in names}
    assert agents <= set(AGENT_NAMES)
    for agent in agents:
        assert agent_name(agent, "en") == agent
        assert CYRILLIC.fullmatch(agent_name(agent, "mk")[0])
