from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.collect.mapping import (
    FIELDS,
    MAX_PROPERTIES,
    MappingError,
    canonical_field,
    field_help,
    parse_map,
)


def test_fields_properties_and_aliases() -> None:
    assert parse_map(["score=Rating,comment=Why,date=When,property.agent=Assignee"]) == {
        "score": "Rating",
        "comment": "Why",
        "submitted_at": "When",
        "property.agent": "Assignee",
    }


def test_commas_inside_column_names_are_kept() -> None:
    mapping = parse_map(["score=How likely, on a scale of 0 to 10?,comment=Anything else, at all?"])
    assert mapping == {
        "score": "How likely, on a scale of 0 to 10?",
        "comment": "Anything else, at all?",
    }


def test_repeated_options_add_up_and_empty_drops() -> None:
    assert parse_map(["score=A", "channel=", "id=#"]) == {"score": "A", "channel": "", "id": "#"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("scor=A", "unknown field 'scor'"),
        ("score", "is not FIELD=COLUMN"),
        ("score=A,score=B", "mapped twice"),
        ("property.=A", "the property name '' must not be blank"),
        ("property.a\x01b=A", "holds the control character U\\+0001 at position 2"),
    ],
)
def test_mistakes_are_explained(text: str, words: str) -> None:
    with pytest.raises(MappingError, match=words):
        parse_map([text])


def test_too_many_properties() -> None:
    many = ",".join(f"property.p{i}=c{i}" for i in range(MAX_PROPERTIES + 1))
    with pytest.raises(MappingError, match="at most"):
        parse_map([f"score=s,{many}"])


def test_aliases_and_spaces_resolve_to_the_field() -> None:
    assert canonical_field(" date ") == "submitted_at"
    assert canonical_field("response_id") == "id"
    assert canonical_field("contact_id") == "contact"
    assert canonical_field("property. agent ") == "property.agent"
    with pytest.raises(MappingError, match="is 101 characters long; at most 100 are allowed"):
        canonical_field("property." + "p" * 101)
    # Quotes, dots and brackets are names like any other (the rule of every door).
    assert canonical_field('property.a"b.c[0]') == 'property.a"b.c[0]'


def test_blank_options_are_ignored_and_the_help_lists_every_field() -> None:
    assert parse_map(["", "  ", "score=S"]) == {"score": "S"}
    assert field_help() == ", ".join([*FIELDS, "property.NAME"])


def test_an_alias_and_its_field_count_as_the_same_field() -> None:
    with pytest.raises(MappingError, match="'submitted_at' is mapped twice"):
        parse_map(["submitted_at=A", "date=B"])


_COLUMN = st.text(alphabet="ab ,?.#é", min_size=1, max_size=12).filter(
    lambda column: column.strip() == column
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(FIELDS) | st.from_regex(r"property\.[a-z]{1,8}", fullmatch=True),
        _COLUMN,
        min_size=1,
        max_size=6,
    )
)
def test_a_mapping_written_as_one_option_reads_back(mapping: dict[str, str]) -> None:
    """Commas inside column names never split an entry: only ``,FIELD=`` does."""
    text = ",".join(f"{field}={column}" for field, column in mapping.items())
    assert parse_map([text]) == mapping
