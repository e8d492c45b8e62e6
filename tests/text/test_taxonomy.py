"""Taxonomies as data: the starter file, the store's rows, checks, and the version that tells
the worker when stored theme assignments are stale."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources

import pytest

from cxpulse.text.comments import LANGUAGES
from cxpulse.text.taxonomy import MATCHING_RULES, Taxonomy, Theme, starter_taxonomy

STARTER_KEYS = (
    "delivery",
    "delivery-delay",
    "waiting-time",
    "price",
    "product-quality",
    "wrong-or-missing-items",
    "staff-friendliness",
    "support-competence",
    "billing",
    "website-or-app",
    "communication",
    "returns-and-refunds",
    "installation-and-faults",
)


def test_the_starter_has_the_issues_themes_with_english_names() -> None:
    taxonomy = starter_taxonomy()
    assert taxonomy.keys == STARTER_KEYS
    assert taxonomy.theme("delivery-delay").name == "Delivery delay"
    assert all(theme.name and theme.description for theme in taxonomy.themes)


def test_the_starter_has_a_good_list_of_phrases_per_theme_and_language() -> None:
    for theme in starter_taxonomy().themes:
        assert set(theme.phrases) == set(LANGUAGES), theme.key
        for language in LANGUAGES:
            assert len(theme.phrases_in(language)) >= 10, (theme.key, language)


def test_a_delivery_delay_is_a_delivery() -> None:
    taxonomy = starter_taxonomy()
    assert taxonomy.theme("delivery-delay").implies == ("delivery",)
    assert taxonomy.implied_keys("delivery-delay") == ("delivery",)
    assert taxonomy.implied_keys("delivery") == ()


def test_the_starter_is_read_once_and_its_file_is_in_the_package() -> None:
    assert starter_taxonomy() is starter_taxonomy()
    raw = resources.files("cxpulse.text").joinpath("data").joinpath("starter_taxonomy.json")
    data = json.loads(raw.read_text("utf-8"))
    assert Taxonomy.from_dict(data) == starter_taxonomy()


def test_a_taxonomy_survives_its_json_shape() -> None:
    taxonomy = starter_taxonomy()
    again = Taxonomy.from_dict(json.loads(json.dumps(taxonomy.to_dict())))
    assert again == taxonomy
    assert again.version == taxonomy.version


def test_phrases_are_tidied_when_a_theme_is_made() -> None:
    theme = Theme("x", "X", {"en": ("  late   delivery ", "Late delivery", "", "refund")})
    assert theme.phrases_in("en") == ("late delivery", "refund")
    assert theme.phrases_in("sv") == ()
    assert Theme("x", "X", {"en": ()}).phrases == {}


def test_equal_themes_are_equal_and_hash_alike() -> None:
    first = Theme("x", "X", {"en": ("a", "b")})
    second = Theme("x", "X", {"en": ("a", "b", "a")})
    assert first == second
    assert hash(first) == hash(second)
    assert len({Taxonomy((first,)), Taxonomy((second,))}) == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Theme("", "X", {}), "non-empty"),
        (lambda: Theme(" x", "X", {}), "non-empty"),
        (lambda: Theme("x", " ", {}), "no name"),
        (lambda: Theme("x", "X", {}, implies=("x",)), "imply itself"),
        (lambda: Theme("x", "X", {"xx": ("a",)}), "unknown language"),
        (lambda: Taxonomy((Theme("x", "X", {}), Theme("x", "Y", {}))), "twice"),
        (lambda: Taxonomy((Theme("x", "X", {}, implies=("y",)),)), "unknown theme"),
    ],
)
def test_broken_taxonomies_are_refused(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_phrases_must_be_a_list_not_one_string() -> None:
    with pytest.raises(TypeError, match="must be a tuple"):
        Theme("x", "X", {"en": "refund"})  # type: ignore[dict-item]


def test_theme_lookup() -> None:
    taxonomy = starter_taxonomy()
    assert "price" in taxonomy
    assert "weather" not in taxonomy
    assert len(taxonomy) == len(STARTER_KEYS)
    with pytest.raises(KeyError):
        taxonomy.theme("weather")


def test_from_rows_builds_what_the_store_holds() -> None:
    taxonomy = Taxonomy.from_rows(
        themes=[("delivery", "Delivery"), ("late", "Late deliveries"), ("own", "Our own")],
        phrases=[
            ("late", "en", "arrived late"),
            ("delivery", "en", "parcel"),
            ("delivery", "sv", "paket"),
            ("late", "sv", "försenad"),
            ("delivery", "en", "courier"),
        ],
        implies={"late": ["delivery"]},
    )
    assert taxonomy.keys == ("delivery", "late", "own")
    assert taxonomy.theme("delivery").phrases == {"en": ("parcel", "courier"), "sv": ("paket",)}
    assert taxonomy.theme("late").implies == ("delivery",)
    assert taxonomy.theme("own").phrases == {}


def test_from_rows_refuses_a_phrase_of_a_missing_theme() -> None:
    with pytest.raises(ValueError, match="unknown theme"):
        Taxonomy.from_rows(themes=[("a", "A")], phrases=[("b", "en", "x")])


def _taxonomy(*themes: Theme) -> Taxonomy:
    return Taxonomy(themes)


def test_the_version_is_a_stable_fingerprint_of_what_decides_assignments() -> None:
    base = _taxonomy(
        Theme("a", "A", {"en": ("one", "two"), "sv": ("ett",)}),
        Theme("b", "B", {"en": ("three",)}, implies=("a",)),
    )
    assert len(base.version) == 16
    # The same content however it is ordered or spelt: same version.
    reordered = _taxonomy(
        Theme("b", "B", {"en": ("three",)}, implies=("a",)),
        Theme("a", "Renamed", {"sv": ("ett",), "en": ("Two", "one")}, description="new words"),
    )
    assert reordered.version == base.version
    # A phrase, a key or an implication more or less: another version.
    changes = [
        _taxonomy(
            Theme("a", "A", {"en": ("one", "two", "four"), "sv": ("ett",)}),
            Theme("b", "B", {"en": ("three",)}, implies=("a",)),
        ),
        _taxonomy(
            Theme("a", "A", {"en": ("one", "two"), "nl": ("ett",)}),
            Theme("b", "B", {"en": ("three",)}, implies=("a",)),
        ),
        _taxonomy(
            Theme("a", "A", {"en": ("one", "two"), "sv": ("ett",)}),
            Theme("b", "B", {"en": ("three",)}),
        ),
        _taxonomy(
            Theme("a", "A", {"en": ("one", "two"), "sv": ("ett",)}),
            Theme("c", "B", {"en": ("three",)}, implies=("a",)),
        ),
    ]
    versions = {base.version, *(changed.version for changed in changes)}
    assert len(versions) == 1 + len(changes)


def test_the_version_names_the_matching_rules() -> None:
    # Pinned so that a change of rules or of the fingerprint recipe is a deliberate act:
    # raise MATCHING_RULES when the matching changes, and update this value with it.
    assert MATCHING_RULES == 1
    assert _taxonomy(Theme("a", "A", {"en": ("one",)})).version == "dc396a171e945c17"
