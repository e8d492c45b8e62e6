"""The checks and normalisations every repository shares (``cxpulse.store._values``)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid

# -- slug ------------------------------------------------------------------------------------


@pytest.mark.parametrize("good", ["a", "support-csat", "nps-2026", "x" * 64, "0"])
def test_slugs_that_are_accepted(good: str) -> None:
    assert values.slug("slug", good) == good


@pytest.mark.parametrize(
    "bad", ["", "-a", "a-", "Support", "a_b", "a b", "x" * 65, "å", "a\n", None, 7]
)
def test_slugs_that_are_refused(bad: object) -> None:
    with pytest.raises(Invalid, match="lower-case letters") as refused:
        values.slug("slug", bad)  # type: ignore[arg-type]
    assert refused.value.field == "slug"


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?", fullmatch=True))
def test_every_slug_of_the_pattern_is_kept_as_is(slug: str) -> None:
    assert values.slug("slug", slug) == slug


# -- text ------------------------------------------------------------------------------------


def test_text_is_trimmed_and_blank_means_absent() -> None:
    assert values.text("name", "  Ann  ", 10) == "Ann"
    assert values.text("name", "   ", 10) is None
    assert values.text("name", None, 10) is None
    assert values.text("name", "x" * 10, 10) == "x" * 10


def test_text_problems_name_the_field_and_the_item() -> None:
    with pytest.raises(Invalid) as long:
        values.text("name", "x" * 11, 10, index=3)
    assert (long.value.field, long.value.index) == ("name", 3)
    assert long.value.message == "is 11 characters long; at most 10 are allowed"
    assert str(long.value) == "item 3: name: is 11 characters long; at most 10 are allowed"
    with pytest.raises(Invalid, match="must be text, not int"):
        values.text("name", 5, 10)  # type: ignore[arg-type]
    with pytest.raises(Invalid, match="is required"):
        values.text("name", None, 10, required=True)
    with pytest.raises(Invalid, match="must not be blank"):
        values.required_text("name", " \t ", 10)
    assert values.required_text("name", " a ", 10) == "a"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30), st.integers(min_value=1, max_value=20))
def test_text_keeps_exactly_the_stripped_value_or_refuses(value: str, limit: int) -> None:
    stripped = value.strip()
    if len(stripped) > limit:
        with pytest.raises(Invalid, match="characters long"):
            values.text("t", value, limit)
    else:
        assert values.text("t", value, limit) == (stripped or None)


# -- text_mapping ----------------------------------------------------------------------------


def test_attributes_become_text_alike_on_both_databases() -> None:
    given_ = {"plan": "gold", "seats": 12, "ratio": 2.0, "share": 0.25, "vip": True, "x": None}
    assert values.text_mapping("attributes", given_) == {
        "plan": "gold",
        "seats": "12",
        "ratio": "2",
        "share": "0.25",
        "vip": "true",
    }
    assert values.text_mapping("attributes", {"vip": False}) == {"vip": "false"}
    assert values.text_mapping("attributes", None) == {}


@pytest.mark.parametrize(
    ("mapping", "field", "words"),
    [
        (["not", "a", "mapping"], "attributes", "must be an object"),
        ({"": "x"}, "attributes", "names must be 1 to 100"),
        ({" ": "x"}, "attributes", "names must be 1 to 100"),
        ({"k" * 101: "x"}, "attributes", "names must be 1 to 100"),
        ({"n": math.inf}, "attributes.n", "finite number"),
        ({"n": math.nan}, "attributes.n", "finite number"),
        ({"n": [1]}, "attributes.n", "not list"),
        ({"n": "v" * 1001}, "attributes.n", "longer than 1000"),
    ],
)
def test_attribute_problems_name_the_key(mapping: object, field: str, words: str) -> None:
    with pytest.raises(Invalid, match=words) as refused:
        values.text_mapping("attributes", mapping, index=2)  # type: ignore[arg-type]
    assert (refused.value.field, refused.value.index) == (field, 2)


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**30), 10**30))
def test_numbers_render_as_text_that_reads_back_to_them(number: float) -> None:
    rendered = values.text_mapping("p", {"n": number})["n"]
    assert float(rendered) == float(number)
    if isinstance(number, int) or number.is_integer():
        assert "." not in rendered
        assert "e" not in rendered


# -- instants --------------------------------------------------------------------------------


def test_aware_instants_become_utc_and_naive_ones_are_refused() -> None:
    local = datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    assert values.aware("submitted_at", local) == datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    assert values.aware("submitted_at", local).tzinfo is UTC
    with pytest.raises(Invalid, match="needs a time zone") as naive:
        values.aware("submitted_at", datetime(2026, 3, 1, 12, 30), index=4)
    assert naive.value.index == 4
    with pytest.raises(Invalid, match="must be a date and time, not str"):
        values.aware("submitted_at", "2026-03-01")  # type: ignore[arg-type]


def test_a_date_bound_means_midnight_utc() -> None:
    assert values.instant("since", date(2026, 2, 28)) == datetime(2026, 2, 28, tzinfo=UTC)
    moment = datetime(2026, 2, 28, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert values.instant("since", moment) == datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    with pytest.raises(Invalid, match="needs a time zone"):
        values.instant("since", datetime(2026, 2, 28))
    with pytest.raises(Invalid, match="must be a date or a date and time, not int"):
        values.instant("since", 20260228)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))),
    )
)
def test_aware_keeps_the_instant(moment: datetime) -> None:
    converted = values.aware("at", moment)
    assert converted == moment
    assert converted.utcoffset() == timedelta(0)


# -- UNSET -----------------------------------------------------------------------------------


def test_unset_is_a_marker_apart_from_none() -> None:
    assert values.UNSET is not None
    assert values.UNSET is values.Unset.TOKEN
    assert isinstance(values.UNSET, values.Unset)
