"""The column mapping of the browser's contact import: guesses from headings, choices
checked before any row is read."""

from __future__ import annotations

from cxpulse.collect.contact_mapping import columns, guess, read_choices
from cxpulse.collect.contacts_csv import parse_rows, read_table


def test_headings_are_guessed_and_a_field_is_guessed_once() -> None:
    assert guess("E-mail") == "email"
    assert guess("Customer ID") == "external_id"
    assert guess("Mobile") == "phone"
    assert guess("Språk") == "locale"
    assert guess("Full name") == "name"
    assert guess("Tier") == "attribute:Tier"
    assert guess("") == ""
    assert guess("Email", taken=["email"]) == "attribute:Email"


def test_columns_offer_the_fields_and_the_organisations_attributes() -> None:
    table = read_table("mail,plan\na@example.com,gold\n")
    first, second = columns(table, ["region"])
    assert first.target == "email"
    assert first.samples == ["a@example.com"]
    assert ("attribute:region", "Attribute: region") in second.choices
    assert second.target == "attribute:plan"


def test_choices_are_checked_before_rows() -> None:
    table = read_table("a,b,c\nx@example.com,1,2\n")
    targets, problems = read_choices(table, ["email", "email", None])
    assert [(p.column, p.message) for p in problems] == [
        (2, "choose what this column holds"),
        (1, "another column is already read as this"),
    ]
    targets, problems = read_choices(table, ["name", "", "attribute:plan"])
    assert [p.column for p in problems] == [None]  # no identifying column
    targets, problems = read_choices(table, ["email", "", "attribute:plan"])
    assert problems == []
    [row] = parse_rows(table, targets).rows
    assert (row.email, row.attributes) == ("x@example.com", {"plan": "2"})


def test_mapped_rows_are_checked_by_line() -> None:
    table = read_table("who,tel\nok@example.com,+46701234567\nbad,+1\n,\n")
    parsed = parse_rows(table, ["email", "phone"])
    assert [(p.line, p.column) for p in parsed.problems] == [(3, "email"), (3, "phone")]
    assert parsed.rows[0].phone == "+46701234567"
