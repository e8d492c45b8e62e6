"""The rules of taxonomy edits shared by the API and the pages, on SQLite and PostgreSQL: keys
made from names, phrases only in the eight languages, a phrase always left, languages
replaced one by one, the starter taxonomy seeded before the first edit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from cxpulse.act import theme_taxonomy
from cxpulse.store import accounts, text_themes
from cxpulse.store._values import slug
from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.text.taxonomy import starter_taxonomy


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Late delivery!", "late-delivery"),
        ("Équipe & café", "equipe-cafe"),
        ("  Gift -- wrapping  ", "gift-wrapping"),
        ("Достава", "theme"),
        ("Leverans: för sent", "leverans-for-sent"),
        ("x" * 80, "x" * 64),
        ("a" * 63 + " b", "a" * 63),
    ],
)
def test_a_key_is_made_from_the_name(name: str, key: str) -> None:
    assert theme_taxonomy.theme_key(name) == key


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_every_made_key_is_a_valid_key(name: str) -> None:
    assert slug("key", theme_taxonomy.theme_key(name))


def test_phrases_only_in_the_analysed_languages() -> None:
    assert theme_taxonomy.check_phrases({"sv": [" leverans ", ""], "pt": []}) == {
        "sv": ["leverans"],
        "pt": [],
    }
    with pytest.raises(Invalid) as refused:
        theme_taxonomy.check_phrases({"it": ["consegna"]})
    assert refused.value.field == "phrases.it"
    with pytest.raises(Invalid):
        theme_taxonomy.check_phrases({"en": "late"})


def test_the_first_edit_seeds_the_starter_themes(session: Session) -> None:
    org = accounts.create_organisation(session, slug="shop", name="Shop").id
    theme = theme_taxonomy.create_theme(
        session, org, name="Gift wrapping", phrases={"en": ["gift wrap"]}
    )
    assert (theme.key, theme.origin) == ("gift-wrapping", "custom")
    keys = {row.key for row in text_themes.list_themes(session, org)}
    assert keys == {"gift-wrapping", *(starter.key for starter in starter_taxonomy().themes)}
    with pytest.raises(Conflict):
        theme_taxonomy.create_theme(session, org, name="Gift  wrapping", phrases={"en": ["x"]})
    with pytest.raises(Invalid) as empty:
        theme_taxonomy.create_theme(session, org, name="Empty", phrases={"en": [" "]})
    assert empty.value.field == "phrases"
    with pytest.raises(Invalid) as nameless:
        theme_taxonomy.create_theme(session, org, name=" ", phrases={"en": ["x"]})
    assert nameless.value.field == "name"


def test_an_update_replaces_the_languages_given_and_keeps_a_phrase(session: Session) -> None:
    org = accounts.create_organisation(session, slug="shop", name="Shop").id
    theme = theme_taxonomy.create_theme(
        session, org, name="Gift", phrases={"en": ["gift wrap"], "sv": ["present"]}
    )
    version = text_themes.taxonomy_version(session, org)
    renamed = theme_taxonomy.update_theme(session, org, theme.id, name="Gifts")
    assert renamed.name == "Gifts"
    assert text_themes.taxonomy_version(session, org) == version  # a rename redoes nothing
    changed = theme_taxonomy.update_theme(session, org, theme.id, phrases={"sv": ["paket"]})
    assert changed.phrases == {"en": ["gift wrap"], "sv": ["paket"]}
    assert text_themes.taxonomy_version(session, org) > version
    with pytest.raises(Invalid):
        theme_taxonomy.update_theme(session, org, theme.id, phrases={"en": [], "sv": []})
    off = theme_taxonomy.update_theme(session, org, theme.id, active=False)
    assert off.is_active is False
    assert [item.theme.id for item in theme_taxonomy.taxonomy(session, org)].count(theme.id) == 0
    listed = theme_taxonomy.taxonomy(session, org, include_inactive=True)
    assert theme.id in [item.theme.id for item in listed]


def test_promote_and_merge(session: Session) -> None:
    org = accounts.create_organisation(session, slug="shop", name="Shop").id
    other = accounts.create_organisation(session, slug="other", name="Other").id
    promoted = theme_taxonomy.promote(
        session, org, language="pt", label="cancelar compra · estorno", phrases=["estorno", " "]
    )
    assert (promoted.key, promoted.name, promoted.origin) == (
        "cancelar-compra-estorno",
        "Cancelar compra · estorno",
        "discovered",
    )
    assert promoted.phrases == {"pt": ["estorno"]}
    with pytest.raises(Invalid) as no_phrase:
        theme_taxonomy.promote(session, org, language="pt", label="x", phrases=[" "])
    assert no_phrase.value.field == "phrases"
    with pytest.raises(Invalid):
        theme_taxonomy.promote(session, org, language="it", label="x", phrases=["x"])
    delivery = text_themes.get_theme_by_key(session, org, "delivery")
    target = theme_taxonomy.merge_theme(session, org, promoted.id, delivery.id)
    assert target.id == delivery.id
    assert "estorno" in target.phrases["pt"]
    summary = theme_taxonomy.summary(session, org, promoted.id)
    assert summary.merged_into_name == delivery.name
    with pytest.raises(Invalid) as itself:
        theme_taxonomy.merge_theme(session, org, delivery.id, delivery.id)
    assert itself.value.field == "into"
    foreign = theme_taxonomy.create_theme(session, other, name="Theirs", phrases={"en": ["x"]})
    with pytest.raises(Invalid):
        theme_taxonomy.merge_theme(session, org, delivery.id, foreign.id)
    with pytest.raises(NotFound):
        theme_taxonomy.merge_theme(session, other, delivery.id, foreign.id)
    theme_taxonomy.delete_theme(session, org, delivery.id)
    with pytest.raises(NotFound):
        theme_taxonomy.summary(session, org, delivery.id)
