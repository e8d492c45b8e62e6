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
    if values.text_problem(value) is not None:
        with pytest.raises(Invalid, match=r"control character|not a character"):
            values.text("t", value, limit)
    elif len(stripped) > limit:
        with pytest.raises(Invalid, match="characters long"):
            values.text("t", value, limit)
    else:
        assert values.text("t", value, limit) == (stripped or None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\x00b", "holds the control character U+0000 at position 2; remove it"),
        ("\x01", "holds the control character U+0001 at position 1; remove it"),
        ("ok\x1b[31m", "holds the control character U+001B at position 3; remove it"),
        ("\x7f", "holds the control character U+007F at position 1; remove it"),
        ("a\x85", "holds the control character U+0085 at position 2; remove it"),
        # Python's strip() takes U+001F for a space: refused all the same, not trimmed away.
        ("\x1fname", "holds the control character U+001F at position 1; remove it"),
        ("x\ud800", "holds U+D800 at position 2, which is not a character; remove it"),
    ],
)
def test_text_refuses_control_characters_and_lone_surrogates(value: str, message: str) -> None:
    assert values.text_problem(value) == message
    with pytest.raises(Invalid) as refused:
        values.text("comment", value, 100, index=1)
    assert (refused.value.field, refused.value.message, refused.value.index) == (
        "comment",
        message,
        1,
    )


def test_exactly_the_controls_but_tab_and_line_breaks_are_refused() -> None:
    for code in range(0x110000):
        if 0xD800 <= code < 0xE000:
            continue
        character = chr(code)
        control = code < 0x20 or 0x7F <= code < 0xA0
        refused = control and character not in values.ALLOWED_CONTROLS
        assert (values.control_problem(f"a{character}") is not None) == refused, hex(code)


def test_text_keeps_tabs_line_breaks_and_any_other_character() -> None:
    kept = "Line 1\r\nLine 2\tTabbed « café » \u200f\u202e ناراض 😀 \\ \" ' <b>"
    assert values.text_problem(kept) is None
    assert values.text("comment", kept, 1000) == kept
    assert values.refused_character(kept) is None
    assert values.refused_character("ab\x0b") == ("U+000B", 3)
    assert values.control_problem("x\ud800") is None  # a surrogate is no control character


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
        ({"": "x"}, "attributes", "name '' must not be blank"),
        ({" ": "x"}, "attributes", "name ' ' must not be blank"),
        ({"k" * 101: "x"}, "attributes", "is 101 characters long; at most 100 are allowed"),
        ({"a\tb": "x"}, "attributes", "U\\+0009 at position 2"),
        ({"a\x00": "x"}, "attributes", "U\\+0000 at position 2"),
        ({"n": math.inf}, "attributes.n", "finite number"),
        ({"n": math.nan}, "attributes.n", "finite number"),
        ({"n": [1]}, "attributes.n", "not list"),
        ({"n": "v" * 1001}, "attributes.n", "is 1001 characters long; at most 1000 are allowed"),
        ({"n": "v\x00"}, "attributes.n", "U\\+0000 at position 2"),
    ],
)
def test_attribute_problems_name_the_key(mapping: object, field: str, words: str) -> None:
    with pytest.raises(Invalid, match=words) as refused:
        values.text_mapping("attributes", mapping, index=2)  # type: ignore[arg-type]
    assert (refused.value.field, refused.value.index) == (field, 2)


@pytest.mark.parametrize(
    "name",
    ['a"b', "a'b", "a[0]", "a.b.c", "a\\b", "$.x", "ünïcödé", "\u202eevil", "😀", "x" * 100],
)
def test_any_text_without_control_characters_names_a_property(name: str) -> None:
    assert values.name_problem(name) is None
    assert values.name("properties", name) == name
    assert values.text_mapping("properties", {name: "v"}) == {name: "v"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be blank"),
        ("\u3000", "must not be blank"),
        ("x" * 101, "is 101 characters long; at most 100 are allowed"),
        ("a\nb", "holds the control character U+000A at position 2; remove it"),
        ("a\x01", "holds the control character U+0001 at position 2; remove it"),
        ("\ud800", "holds U+D800 at position 1, which is not a character; remove it"),
        (7, "must be text, not int"),
    ],
)
def test_names_are_refused_by_one_rule(name: object, message: str) -> None:
    assert values.name_problem(name) == message
    with pytest.raises(Invalid) as refused:
        values.name("by", name, index=3)
    assert (refused.value.field, refused.value.message, refused.value.index) == ("by", message, 3)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_a_name_is_refused_exactly_when_blank_long_or_holding_a_control(name: str) -> None:
    bad = (
        not name.strip()
        or len(name) > values.MAX_KEY_LENGTH
        or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or 0xD800 <= ord(c) < 0xE000 for c in name)
    )
    assert (values.name_problem(name) is not None) == bad


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


def test_a_conversion_past_the_calendar_is_a_field_problem() -> None:
    early = datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    with pytest.raises(Invalid, match="outside the years 1 to 9999") as refused:
        values.aware("submitted_at", early, index=2)
    assert refused.value.index == 2


# -- answer times ----------------------------------------------------------------------------

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1970, 1, 1, tzinfo=UTC),
        NOW,
        NOW + timedelta(days=1),
        datetime(2026, 5, 2, 14, tzinfo=timezone(timedelta(hours=2))),  # = NOW + 1 day in UTC
    ],
)
def test_answer_times_from_1970_to_a_day_ahead_are_taken(moment: datetime) -> None:
    assert values.answer_time_problem(moment.astimezone(UTC), NOW) is None
    assert values.answer_time("submitted_at", moment, now=NOW) == moment


@pytest.mark.parametrize(
    ("moment", "message"),
    [
        (datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), "must be on or after 1970-01-01"),
        (datetime(1, 1, 1, tzinfo=UTC), "must be on or after 1970-01-01"),
        (NOW + timedelta(days=1, seconds=1), "must not be more than one day in the future"),
        (datetime(2999, 1, 1, tzinfo=UTC), "must not be more than one day in the future"),
        (
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
            "must not be more than one day in the future",
        ),
    ],
)
def test_answer_times_outside_the_range_are_refused(moment: datetime, message: str) -> None:
    with pytest.raises(Invalid) as refused:
        values.answer_time("submitted_at", moment, now=NOW, index=4)
    assert (refused.value.field, refused.value.message, refused.value.index) == (
        "submitted_at",
        message,
        4,
    )


def test_answer_times_need_a_zone_and_default_to_the_clock() -> None:
    with pytest.raises(Invalid, match="needs a time zone"):
        values.answer_time("submitted_at", datetime(2020, 1, 1))
    assert values.answer_time_problem(datetime.now(UTC)) is None


# -- other dates -----------------------------------------------------------------------------


def test_other_dates_span_1900_to_2999() -> None:
    assert values.day_problem(date(1900, 1, 1)) is None
    assert values.day_problem(date(2999, 12, 31)) is None
    assert values.day_problem(datetime(2999, 12, 31, 23, tzinfo=UTC)) is None
    for day in (date(1899, 12, 31), date(3000, 1, 1), date(9999, 12, 31), date(1, 1, 1)):
        assert values.day_problem(day) == "must be between 1900-01-01 and 2999-12-31"


# -- JSON depth ------------------------------------------------------------------------------


def _nested(levels: int) -> object:
    document: object = {}
    for _ in range(levels - 1):
        document = [document]
    return document


def test_json_depth_counts_arrays_and_objects() -> None:
    assert values.json_depth_problem(5) is None
    assert values.json_depth_problem({"a": [1, {"b": "c"}]}, 3) is None
    assert values.json_depth_problem({"a": [1, {"b": []}]}, 3) == (
        "nests more than 3 levels of arrays and objects"
    )
    assert values.json_depth_problem(_nested(values.MAX_JSON_DEPTH)) is None
    assert values.json_depth_problem(_nested(values.MAX_JSON_DEPTH + 1)) is not None


def test_json_depth_is_measured_without_recursion() -> None:
    # Deeper than Python's recursion limit: a recursive walk would raise RecursionError.
    assert values.json_depth_problem(_nested(100_000)) is not None


# -- UNSET -----------------------------------------------------------------------------------


def test_unset_is_a_marker_apart_from_none() -> None:
    assert values.UNSET is not None
    assert values.UNSET is values.Unset.TOKEN
    assert isinstance(values.UNSET, values.Unset)
