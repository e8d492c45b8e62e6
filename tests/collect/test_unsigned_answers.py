"""The placeholders of an unsigned helpdesk link (``collect.unsigned_answers.placeholders``):
kept when filled in, left out when blank or unfilled, refused by the rules of properties."""

from __future__ import annotations

import pytest

from cxpulse.collect.unsigned_answers import placeholders
from cxpulse.store.errors import Invalid


def test_filled_placeholders_are_kept_trimmed() -> None:
    query = {"ticket": " 4711 ", "agent": "Maria Lind", "customer": "ann@example.com", "x": "1"}
    assert placeholders(query) == {
        "ticket": "4711",
        "agent": "Maria Lind",
        "customer": "ann@example.com",
    }


@pytest.mark.parametrize(
    "unfilled",
    [
        "{{ticket.id}}",
        "{{ ticket.assignee.name }}",
        "{agent}",
        "%ticket%",
        "[customer]",
        "$ticket",
        "  ",
    ],
)
def test_blank_and_unfilled_placeholders_are_left_out(unfilled: str) -> None:
    assert placeholders({"ticket": unfilled, "agent": "Maria"}) == {"agent": "Maria"}


def test_a_value_that_cannot_be_stored_is_refused_naming_its_field() -> None:
    with pytest.raises(Invalid) as raised:
        placeholders({"agent": "x" * 1001})
    assert raised.value.field == "properties.agent"
    with pytest.raises(Invalid):
        placeholders({"ticket": "a\x00b"})
