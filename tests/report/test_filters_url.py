"""A dashboard view and a drill-down read from a URL query string and written back to one
(``report/filters_url.py``)."""

from __future__ import annotations

import math
from datetime import date, timedelta
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.report import filters_url as urls
from cxpulse.report import trend
from cxpulse.store.filters import ResponseFilters

TODAY = date(2025, 9, 1)


def test_url_round_trip_and_errors() -> None:
    parsed = urls.parse(
        [
            ("from", "2025-01-01"),
            ("to", "2025-03-31"),
            ("grain", "week"),
            ("channel", "email"),
            ("property.team", "b"),
            ("segment", "contact:plan"),
            ("segment_value", "pro"),
            ("by", "property:agent"),
            ("min_score", "4"),
            ("has_comment", "true"),
            ("q", "slow"),
        ]
    )
    assert parsed.errors == {}
    view = parsed.view
    assert view.window(None, TODAY) == urls.Window(date(2025, 1, 1), date(2025, 4, 1))
    again = urls.parse(urls.parse([(k, v) for k, v in view.query_pairs()]).view.query_pairs())
    assert again.view == view
    assert view.contact_attributes == {"plan": "pro"}
    assert parsed.drill == urls.DrillFilters(min_score=4, has_comment=True, search="slow")
    bad = urls.parse(
        [
            ("from", "yesterday"),
            ("months", "0"),
            ("grain", "hour"),
            ("by", "colour"),
            ("min_score", "nan"),
            ("has_comment", "maybe"),
            ("channel", "x\x00"),
        ]
    )
    assert set(bad.errors) == {
        "from",
        "months",
        "grain",
        "by",
        "min_score",
        "has_comment",
        "channel",
    }
    assert bad.view == urls.ViewFilters()


def test_a_theme_drill_down() -> None:
    """``theme`` is a theme's key: read in any case, written back, passed to the store."""
    parsed = urls.parse([("theme", " Delivery-Delay "), ("min_score", "0"), ("max_score", "6")])
    assert parsed.errors == {}
    assert parsed.drill.theme == "delivery-delay"
    assert ("theme", "delivery-delay") in parsed.drill.query_pairs()
    window = urls.Window(date(2025, 1, 1), date(2025, 2, 1))
    assert parsed.view.responses(3, window, parsed.drill).theme == "delivery-delay"
    assert urls.parse([("theme", "no spaces")]).errors == {
        "theme": "is not a theme's key: lower-case letters, digits and hyphens"
    }
    assert urls.parse([("theme", "")]).drill.theme is None


def test_nul_characters_are_refused_everywhere() -> None:
    parsed = urls.parse(
        [("by", "property:a\x00"), ("property.x\x00", "1"), ("q", "a\x00"), ("touchpoint", "\x00")]
    )
    assert set(parsed.errors) == {"by", "property.x\x00", "q", "touchpoint"}


def test_control_characters_are_refused_in_the_words_of_the_store() -> None:
    parsed = urls.parse(
        [
            ("channel", "e\x1bmail"),
            ("property.a\tb", "1"),
            ("contact.plan", "p\x7f"),
            ("by", "contact:x\ny"),
            ("segment", "property:t\x01"),
            ("segment_value", "v"),
        ]
    )
    assert parsed.errors == {
        "channel": "holds the control character U+001B at position 2; remove it",
        "property.a\tb": "the name holds the control character U+0009 at position 2; remove it",
        "contact.plan": "holds the control character U+007F at position 2; remove it",
        "by": "the name holds the control character U+000A at position 2; remove it",
        "segment": "the name holds the control character U+0001 at position 2; remove it",
    }


@pytest.mark.parametrize("name", ['a"b', "a'b", "x[0]", "a.b", "a\\b", "\u202eevil", "😀"])
def test_any_property_name_the_store_takes_can_be_filtered_and_broken_down(name: str) -> None:
    parsed = urls.parse(
        [
            (f"property.{name}", "v"),
            ("segment", f"contact:{name}"),
            ("segment_value", "w"),
            ("by", f"property:{name}"),
        ]
    )
    assert parsed.errors == {}
    assert parsed.view.properties == {name: "v"}
    assert parsed.view.contact_attributes == {name: "w"}
    assert parsed.view.by == f"property:{name}"
    assert urls.parse(parse_qsl(parsed.view.query())).view == parsed.view


def test_periods_are_bounded() -> None:
    assert set(urls.parse([("to", "9999-12-31"), ("from", "0001-01-01")]).errors) == {"to", "from"}
    long = urls.parse([("from", "2000-01-01"), ("to", "2020-01-01")])
    assert long.errors == {"from": "a view covers at most 10 years"}
    assert urls.parse([("from", "2010-01-01"), ("to", "2019-12-31")]).errors == {}


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert urls.add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)
    assert urls.add_months(date(2024, 1, 15), 12) == date(2025, 1, 15)
    assert math.isclose(urls.Window(date(2025, 1, 1), date(2025, 2, 1)).days, 31)


def test_every_parameter_is_read() -> None:
    parsed = urls.parse(
        [
            ("months", "3"),
            ("grain", "day"),
            ("channel", " email "),
            ("touchpoint", "checkout"),
            ("language", "fr"),
            ("source", "import"),
            ("property.team", "b"),
            ("contact.plan", "pro"),
            ("by", "contact:plan"),
            ("min_score", "2.5"),
            ("max_score", "4"),
            ("has_comment", "no"),
            ("q", "late delivery"),
            ("after", "token"),
            ("unknown", "ignored"),
        ]
    )
    assert parsed.errors == {}
    assert parsed.view == urls.ViewFilters(
        months=3,
        grain="day",
        where=ResponseFilters(
            channel="email",
            touchpoint="checkout",
            language="fr",
            source="import",
            properties={"team": "b"},
            contact_attributes={"plan": "pro"},
        ),
        by="contact:plan",
    )
    assert parsed.drill == urls.DrillFilters(
        min_score=2.5, max_score=4, has_comment=False, search="late delivery", after="token"
    )
    # The segment filters read by name, as the templates do.
    view = parsed.view
    assert (view.channel, view.touchpoint, view.language, view.source) == (
        "email",
        "checkout",
        "fr",
        "import",
    )
    assert (view.properties, view.contact_attributes) == ({"team": "b"}, {"plan": "pro"})


def test_defaults_blanks_and_repeats() -> None:
    parsed = urls.parse([("channel", "   "), ("grain", ""), ("by", ""), ("q", "")])
    assert parsed.errors == {}
    assert parsed.view == urls.ViewFilters()
    assert parsed.drill == urls.DrillFilters()
    # Repeated names: the last wins; a blank segment value removes the filter.
    again = urls.parse(
        [("channel", "a"), ("channel", "b"), ("property.team", "x"), ("property.team", " ")]
    )
    assert again.view.channel == "b"
    assert again.view.properties == {}


def test_bad_values_name_their_field() -> None:
    cases = {
        "to": [("from", "2025-02-01"), ("to", "2025-01-01")],
        "months": [("months", "121")],
        "source": [("source", "fax")],
        "max_score": [("min_score", "4"), ("max_score", "2")],
        "min_score": [("min_score", "inf")],
        "channel": [("channel", "x" * 201)],
        "property.": [("property.", "x")],
        "segment": [("segment", "colour"), ("segment_value", "red")],
        "property": [(f"property.p{n}", "v") for n in range(21)],
    }
    for field, params in cases.items():
        errors = urls.parse(params).errors
        assert set(errors) == {field}, (field, errors)


def test_the_form_adds_a_segment_filter() -> None:
    parsed = urls.parse([("segment", "property:agent"), ("segment_value", "Ann")])
    assert parsed.view.properties == {"agent": "Ann"}
    # Without a value the choice of segment alone adds nothing.
    assert urls.parse([("segment", "property:agent")]).view == urls.ViewFilters()


def test_query_strings_leave_out_defaults_and_round_trip() -> None:
    assert urls.ViewFilters().query() == ""
    view = urls.ViewFilters(
        start=date(2025, 1, 1),
        to=date(2025, 3, 31),
        grain="week",
        where=ResponseFilters(channel="chat", properties={"b": "2", "a": "1 & 2"}),
        by="property:a",
    )
    assert view.query(page=2, skip=None) == (
        "from=2025-01-01&to=2025-03-31&grain=week&channel=chat&property.a=1+%26+2"
        "&property.b=2&by=property%3Aa&page=2"
    )
    drill = urls.DrillFilters(min_score=4.0, max_score=4.5, has_comment=True, search="slow")
    parsed = urls.parse(parse_qsl(view.drill_query(drill)))
    assert parsed.errors == {}
    assert parsed.view == view
    assert parsed.drill == drill


def test_windows_of_a_view() -> None:
    latest = date(2025, 6, 20)
    assert urls.ViewFilters().window(latest, TODAY) == urls.Window(
        date(2024, 6, 21), date(2025, 6, 21)
    )
    assert urls.ViewFilters().window(None, TODAY).last_day == TODAY
    assert urls.ViewFilters(months=1).window(latest, TODAY).start == date(2025, 5, 21)
    only_start = urls.ViewFilters(start=date(2025, 6, 1))
    assert only_start.window(latest, TODAY) == urls.Window(date(2025, 6, 1), date(2025, 6, 21))
    only_end = urls.ViewFilters(to=date(2025, 3, 31), months=3)
    assert only_end.window(latest, TODAY) == urls.Window(date(2025, 1, 1), date(2025, 4, 1))
    window = urls.Window(date(2025, 3, 1), date(2025, 3, 11))
    assert window.previous() == urls.Window(date(2025, 2, 19), date(2025, 3, 1))
    assert window.label == "2025-03-01 to 2025-03-10"


@pytest.mark.parametrize(
    "latest", [date(9999, 12, 31), date(2999, 6, 1), TODAY + timedelta(days=2), date.max]
)
def test_a_latest_answer_past_tomorrow_leaves_the_default_view_at_today(latest: date) -> None:
    # Answers stored before the rule on answer times may lie years ahead: the default view
    # ends tomorrow (the latest an answer may now be), never in an empty or impossible year.
    window = urls.ViewFilters().window(latest, TODAY)
    assert window == urls.Window(date(2024, 9, 3), TODAY + timedelta(days=2))
    assert window.previous() == urls.Window(date(2023, 9, 4), date(2024, 9, 3))
    assert urls.ViewFilters().window(TODAY + timedelta(days=1), TODAY) == window


@settings(max_examples=300, deadline=None)
@given(
    latest=st.none() | st.dates(),
    today=st.dates(min_value=date(1970, 1, 1), max_value=date(2200, 1, 1)),
    start=st.none() | st.dates(),
    to=st.none() | st.dates(),
    months=st.none() | st.integers(min_value=1, max_value=urls.MAX_MONTHS),
)
def test_no_view_a_url_can_ask_for_leaves_the_calendar(
    latest: date | None, today: date, start: date | None, to: date | None, months: int | None
) -> None:
    # Dates typed into the URL are read by parse (refused outside 1900..2999); whatever it
    # lets through, with any latest answer, gives a window whose days, the period before
    # it and its trend can all be computed.
    params = [(n, d.isoformat()) for n, d in (("from", start), ("to", to)) if d is not None]
    params += [("months", str(months))] if months is not None else []
    parsed = urls.parse(params)
    window = parsed.view.window(latest, today)
    assert window.start < window.end
    assert window.previous().end == window.start
    urls.add_months(window.start, 12 * urls.MAX_YEARS)
    assert trend.buckets(window, "month")[-1][2] == window.end


def test_responses_behind_a_view_and_a_drill_down() -> None:
    view = urls.ViewFilters(where=ResponseFilters(channel="chat", contact_attributes={"p": "x"}))
    window = urls.Window(date(2025, 3, 1), date(2025, 4, 1))
    drill = urls.DrillFilters(min_score=4, has_comment=True, search="slow", after="t")
    assert view.responses(7, window, drill) == ResponseFilters(
        survey_id=7,
        start=date(2025, 3, 1),
        end=date(2025, 4, 1),
        channel="chat",
        min_score=4,
        has_comment=True,
        search="slow",
        contact_attributes={"p": "x"},
    )
    assert view.responses(7, window).min_score is None


def test_narrowed_and_between() -> None:
    view = urls.ViewFilters(months=6, where=ResponseFilters(properties={"team": "a"}))
    assert view.narrowed("touchpoint", "shop").touchpoint == "shop"
    assert view.narrowed("property:agent", "Ann").properties == {"team": "a", "agent": "Ann"}
    assert view.narrowed("contact:plan", "pro").contact_attributes == {"plan": "pro"}
    with pytest.raises(ValueError, match="no filter narrows"):
        view.narrowed("colour", "red")
    point = view.between(date(2025, 3, 1), date(2025, 3, 31))
    assert (point.start, point.to, point.months) == (date(2025, 3, 1), date(2025, 3, 31), None)
    assert point.where == view.where


def test_breakdown_dimensions() -> None:
    assert urls.check_dimension("channel") is None
    assert urls.check_dimension("property:agent") is None
    assert urls.check_dimension("contact:plan") is None
    assert urls.check_dimension("property:") is not None
    assert urls.check_dimension("colour") is not None


def test_a_picked_filter_reads_as_its_pair_and_the_summary_names_it() -> None:
    from cxpulse.report import filters_url as urls

    parsed = urls.parse(
        [("channel", "chat"), ("pick", "property.team=Billing"), ("pick", ""), ("by", "language")]
    )
    assert parsed.errors == {}
    assert parsed.view.properties == {"team": "Billing"}
    assert parsed.view.query_pairs() == [
        ("channel", "chat"),
        ("property.team", "Billing"),
        ("by", "language"),
    ]
    assert parsed.view.summary() == [
        "last 12 months",
        "by month",
        "channel = chat",
        "team = Billing",
        "breakdown by language",
    ]
    picked_channel = urls.parse([("channel", "chat"), ("pick", "channel=email")])
    assert picked_channel.view.channel == "email"  # what was picked wins
    assert "pick" in urls.parse([("pick", "compare=year")]).errors
    assert "pick" in urls.parse([("pick", "a=1&b=2")]).errors
    dated = urls.parse([("from", "2024-01-01"), ("to", "2024-03-31"), ("contact.plan", "pro")])
    assert dated.view.summary()[0] == "2024-01-01 to 2024-03-31"
    assert dated.view.summary()[2] == "contact plan = pro"
    assert dated.view.without("contact:plan").contact_attributes == {}
