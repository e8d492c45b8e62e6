from __future__ import annotations

import pytest

from cxpulse.collect.mapping import MAX_PROPERTIES, MappingError, parse_map


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
        ("property.=A", "property names"),
    ],
)
def test_mistakes_are_explained(text: str, words: str) -> None:
    with pytest.raises(MappingError, match=words):
        parse_map([text])


def test_too_many_properties() -> None:
    many = ",".join(f"property.p{i}=c{i}" for i in range(MAX_PROPERTIES + 1))
    with pytest.raises(MappingError, match="at most"):
        parse_map([f"score=s,{many}"])
