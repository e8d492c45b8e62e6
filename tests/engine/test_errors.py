"""How invalid scores are described."""

from __future__ import annotations

from cxpulse.engine import InvalidValues


def test_describe_examples() -> None:
    assert (
        InvalidValues(3, ["11", "abc", "7.5"], [4, 9, 12]).describe()
        == "3 invalid scores (values: 11, 'abc', 7.5) on lines 4, 9, 12"
    )
    assert InvalidValues(1, ["nan"], [2]).describe() == "1 invalid score (value: 'nan') on line 2"
    assert (
        InvalidValues(2, ["11"], [2, 3]).describe() == "2 invalid scores (value: 11) on lines 2, 3"
    )
